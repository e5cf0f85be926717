"""The SOP's items said in sentences, as engineers write them when they write no form: "The first error was at
11:10 GMT", "We have made no changes on our side", "Our partner id is Acme", "It fails every time". Each rule wants
the item's value itself (a time, an id-like token, an error code), not just a word about it. Pure."""

import re

from agent.core.procedure.item_words import ERROR, TIME

# A sentence ends at . ! ? before something that is no lowercase word or digit ("approx. 11:15", "e.g. request").
_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[^a-z0-9\s])|(?<=[。！？])|\n")
_GREETING = re.compile(
    r"^(?i:(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|hallo|guten tag)\b[^,\n:]{0,40}[,:!]\s*)"
)

# --- times: the first failure or the example request, by the nearest cue before the time (or one just after) ---
_CUES = (
    (
        "first_failure",
        re.compile(
            r"(?i)\b(?:first|start(?:ed|ing|s)?|beg[ai]n(?:ning|s)?|begun|since|as of|onset|kicked off|went down|"
            r"broke|noticed|seit|erste[nrs]?)\b|発生|首次|开始|自从"
        ),
    ),
    (
        "timestamp",
        re.compile(
            r"(?i)\b(?:example|sample|failed|failing|last|latest|specific|this|that|one|test)\s+(?:\w+\s+)?"
            r"(?:request|call|transaction)s?\b|\breq(?:uest)?s?\s+(?:id\s+)?[\w-]*\d[\w-]*|\btimestamp\b|リクエスト|请求"
        ),
    ),
    (
        "",  # no item: "worked fine until 11:14", "we will check again at 12:00"
        re.compile(
            r"(?i)\b(?:until|till|worked|working|fine|succeeded|successful|resolved|recovered|normal|now|currently|"
            r"will|'ll|expect\w*|eta|next|again|meeting|back|update)\b"
        ),
    ),
)
_FIRST_AFTER = re.compile(  # "At 11:15 GMT our calls started failing", "09:40 JST から失敗", "11:05 起"
    r"(?i)^\W*(?:(?:(?!before|after|until|till)\w+\s+){0,3}(?:started|began)\b|onwards?\b|(?:頃|ごろ)?(?:から|以降|以来|より)|"
    r"(?:左右)?(?:开始|起))"
)


def _times(sentence: str) -> list[tuple[str, str]]:
    found = []
    for m in TIME.finditer(sentence):
        before = sentence[max(0, m.start() - 60) : m.start()]
        cues = [(c.end(), key) for key, rx in _CUES for c in rx.finditer(before)]
        key = max(cues)[1] if cues else "first_failure" if _FIRST_AFTER.match(sentence[m.end() : m.end() + 40]) else ""
        if key:
            found.append((key, m.group(0).strip()))
    return found


# --- the other items: (key, pattern); the value is the first group that matched, else the sentence --------------
_TOKEN = (
    r"[\"'“]?(?!(?i:is|was|the|a|an|not|unknown|n/a|na|please|and|for|in|on|below|above|here|there|we|our|none|"
    r"missing|still|yet|ist|lautet|tbd|tbc|tba|todo|xxx)\b)([A-Za-z0-9][A-Za-z0-9_.-]{1,40})"
)
_RID = r"[\"'“(]?((?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9][A-Za-z0-9_-]{5,80})"
# "Partner ID: X", "partner id is X", "request id for the failing call was X"
_IS = r"(?:\s+(?:\w+\s+){0,4}?(?i:is|was|ist|lautet|=|:)|\s*[=:#(-])?\s*"
_NAME = (
    r"((?!(?:Urgent|Critical|Not|Still|The|About|Regarding|Currently|Unable|Seeing|Getting|Writing|Reaching|"
    r"Reporting|Sorry|Afraid|Happy|Available|Amazon|Priority|Severity|Sev|Also|Again|Just|Here|Now|Having|"
    r"Looking|Trying|It|This|We|Our|Your|Please|Hi|Hello|Dear|On|In|At|From)\b)[A-Z][\w'’-]*[a-zà-ÿ](?:\s+(?:van|de|von|der|da|di|le|la|"
    r"[A-Z][\w'’-]*[a-zà-ÿ])){0,3})(?<!['’]s)(?![\w'’]|\s*\d)"
)  # O'Brien, Müller-Lüdenscheidt; "This is Acme's" no one
_COUNTRIES = (
    "United States|USA|Canada|Mexico|Australia|Japan|China|United Kingdom|Great Britain|Britain|England|Türkiye|"
    "Turkey|United Arab Emirates|UAE|Saudi Arabia|Germany|France|Spain|Italy|Netherlands|Singapore|India|Brazil|"
    "Poland|Sweden|Belgium|Ireland"
)
_ADJECTIVES = {
    "American": "United States",
    "Canadian": "Canada",
    "Mexican": "Mexico",
    "Australian": "Australia",
    "Japanese": "Japan",
    "Chinese": "China",
    "British": "United Kingdom",
    "Turkish": "Türkiye",
    "Emirati": "United Arab Emirates",
    "Saudi": "Saudi Arabia",
    "German": "Germany",
    "French": "France",
    "Spanish": "Spain",
    "Italian": "Italy",
    "Dutch": "Netherlands",
    "Singaporean": "Singapore",
}
_CODES = "US|CA|MX|AU|JP|CN|UK|GB|TR|UAE|AE|KSA|SA|DE|FR|ES|IT|NL|SG|IN|BR|PL|SE"
_NOUN = r"(?i:marketplaces?|markets?|stores?|storefronts?|sites?|shops?|region)\b"
_FAILS = re.compile(
    r"(?i)\b(?:fail\w*|error\w*|F\d{3}s?|5\d\d|reject\w*|time[sd]?\s?out|timeouts?|succeed\w*|success\w*|work\w*|"
    r"broken|down|go(?:es)? through|returns?)\b"
)
_RULES = (
    (
        "phone",
        r"(?i:\b(?:call|ring|reach|phone|mobile|cell|tel|whatsapp|callback|on-call|telefon|handy)\b|"
        r"電話|电话|手机|携帯|連絡先|联系)[^\d+\n]{0,30}(\+?\(?\d[\d ().\-]{5,18}\d)|"
        r"(?<![\w+])(\+\d{1,3}[ .-]?\(?\d[\d ().\-]{6,16}\d)",  # a number with its country code needs no word
    ),
    (
        "email",
        r"(?i:\b(?:e-?mail|mail|reach|contact|reply|write|ping|cc|me|us)\b|メール|邮箱|邮件|連絡先|联系)[^\n@]{0,40}?\b"
        r"([\w.+-]+@[\w-]+(?:\.[\w-]+)+)|"
        rf"(?:\d|^{_NAME.replace('(', '(?:', 1)})[\s,/|]+([\w.+-]+@[\w-]+(?:\.[\w-]+)+)",
    ),
    (
        "name",
        rf"(?i:\b(?:my name is|my name's|this is|i am|i'm|mein name ist|hier ist|ich bin)\s+){_NAME}|^{_NAME}\s+here\b|"
        rf"^{_NAME}\s*[,/|–-]\s*(?:\+?\d|[\w.+-]+@)|"
        r"(?:株式会社|会社|チーム|部|課|担当|社)[^。\n]{0,20}?の\s*([一-龯]{1,4}(?:\s?[一-龯]{1,4})?)(?:と申します|です)|"
        r"([一-龯ぁ-んァ-ヶ]{1,6})と申します|我(?:是|叫)\s*([一-龥]{2,4})",
    ),
    (
        "partner_id",
        rf"(?i:partner)[\s-]*(?i:id|code|identifier|key)\b[\"']?{_IS}{_TOKEN}|"
        r"(?i:\b(?:we are|we're|we’re|as|for|account)\s+partner)\s+[\"'“]?([A-Z0-9][\w.-]{1,40})|"
        rf"(?:パートナー|合作伙伴|合作方)\s*ID\s*(?:は|是|为|：|:)?\s*{_TOKEN}",
    ),
    (
        "request_id",
        rf"(?i:req(?:uest)?)[\s_-]*(?i:id|identifier|ref(?:erence)?|#|no\.?)?[\"']?{_IS}{_RID}|"
        rf"(?:リクエスト|请求)\s*ID\s*(?:は|是|为|：|:)?\s*{_RID}",
    ),
    ("card", r"(?i:\b(?:card|serial|karte)\b|カード|シリアル|卡号|序列号)[^\d\n]{0,30}?((?:\d[ -]?){12,19}\d)"),
    ("error", ERROR.pattern),
    (
        "marketplace",
        r"\b(amazon\.(?:co\.jp|co\.uk|com\.au|com\.mx|com\.tr|com\.br|ca|de|fr|es|it|nl|sg|ae|sa|cn|in|pl|se))\b|"
        rf"\b(amazon\.com)\s+{_NOUN}|\b((?:{_CODES})\s+{_NOUN})|{_NOUN}\s*(?:is|=|:|-|in|for)?\s*(?:the\s+)?"
        rf"({_CODES})\b|\b({_COUNTRIES})\s+{_NOUN}|(?i:\b(?:customers?|shoppers?|users?|orders?|requests?|calls?|"
        r"traffic|sales|business|fail\w*|errors?|down)\s+(?:\w+\s+){0,2}?(?:in|for|on|across|from)\s+(?:the\s+)?)"
        rf"({_COUNTRIES}|US|UK|UAE)\b|\b({'|'.join(_ADJECTIVES)})\s+(?:\w+\s+)?(?:{_NOUN}|customers|shoppers|retail)|"
        r"((?:日本|中国|米国|アメリカ|英国|イギリス|ドイツ|フランス|美国|德国|法国)(?:の)?(?:マーケットプレイス|市場|"
        r"ストア|サイト|站点|市场|站))",
    ),
    (
        "consistent",
        r"(?i)\b(?:intermittent(?:ly)?|sporadic(?:ally)?|flaky|flapping|consistently|reproducible|"
        r"(?:is|are|it's|it is|seems|looks|fully|100\s?%)\s+consistent|dauerhaft|sporadisch)\b|"
        r"毎回|常に|断続的|間欠的|每次都|间歇|偶发|偶尔|一直",
    ),
    (
        "consistent?",  # with a word of failing or succeeding in the same sentence
        r"(?i)\b(?:every\s+(?:single\s+|other\s+)?(?:time|request|call|attempt|transaction|order|activation|card|one)|"
        r"each\s+(?:request|call|attempt|time)|all\s+(?:of\s+)?(?:our|the)\s+(?:requests|calls|attempts)|"
        r"(?:some|most|half|a few|many|about\s+\d+\s?%|\d+\s?%)\s+(?:of\s+)?(?:the\s+|our\s+)?(?:requests|calls|"
        r"attempts|transactions|orders|activations)|\d+\s+(?:in|out of)\s+\d+|(?:no|not a single|not one|none of the)"
        r"\s+(?:requests?|calls?|attempts?)|always|immer)\b",
    ),
    (
        "changes",
        r"(?i)\b(?:no|not|nothing|never|haven'?t|hasn'?t|didn'?t|none|zero|keine|nichts)\b[^.!?\n]{0,40}?\b"
        r"(?:chang\w*|deploy\w*|releas\w*|modif\w*|updat\w*|upgrad\w*|rollouts?|roll(?:ed)?\s+out|push(?:ed)?|"
        r"migrat\w*|touch(?:ed)?|änderung\w*|geändert)",
    ),
    (
        "changes!",
        r"(?i)\b(?:no|zero)\s+(?:recent\s+|config\s+|code\s+|software\s+|infra\w*\s+)*(?:changes|deploy\w*|releases)\b|"
        r"変更(?:は|を)?(?:ありません|なし|行っていません|していません)|"
        r"(?:没有|无|未)(?:做|进行)?(?:任何)?(?:变更|改动|更改|发布|部署)",
    ),
    (
        "changes",
        r"(?i)\bwe(?:'ve| have| had| just| recently| did)?\s+(?:\w+\s+){0,2}?(?:deployed|released|changed|updated|"
        r"upgraded|rolled (?:out|back)|migrated|modified|pushed|shipped|rotated)\b"
        r"(?!\s+(?:the |our |this |a )?(?:ticket|case|thread|incident|status|you|them|everyone|team|logs?|minds?|"
        r"plans?|meeting)\b)|"
        r"\b(?:our|the)\s+(?:last|latest|most recent|recent)\s+(?:deploy(?:ment)?|release|change)s?\b|"
        r"\b(?:deploy(?:ment)?|release|change)s?\s+(?:on|at|from)\s+our\s+(?:side|end)|"
        r"変更(?:を)?(?:しました|行いました)|(?:我们|我方)\S{0,6}(?:发布|部署|变更|更新)了",
    ),
    (
        "raw_request",
        r"(?i)\b(?:attach\w*|enclos\w*)\b[^.!?\n]{0,60}?\b(?:raw|full|complete|example|sample)?\s*(?:request|curl|"
        r"har|headers|dump)\b",
    ),
)
_COMPILED = [(key, re.compile(rx)) for key, rx in _RULES]
_OWN_SIDE = re.compile(r"(?i)\b(?:we|our|us|i|my|wir|unser\w*)\b|我们|我方|当社|弊社|こちら")

# --- the problem: a sentence that names the API (or what it serves) and its failing ------------------------------
_SUBJECT = re.compile(
    r"(?i)\b(?:apis?|agcod|incentives|endpoints?|\w*giftcards?\w*|gift\s?cards?|activations?|redemptions?|F\d{3}s?|"
    r"HTTP\s?5\d\d|gutschein\w*|anfragen)\b|ギフトカード|カード|アクティベーション|リクエスト|礼品卡|请求|接口"
)
_FAILURE = re.compile(
    r"(?i)\b(?:fail\w*|errors?(?!\s+rates?)|erroring|down|outage|unavailable|time[sd]?\s?out|timing out|timeouts?|"
    r"unreachable|broken|not working|cannot|can't|unable|rejected|refus\w*|impair\w*|degraded|F\d{3}s?|5\d\d|fehl|"
    r"fehler\w*|ausgefallen)\b|失敗|エラー|障害|できません|失败|错误|故障|无法"
)


def _problem(sentence: str) -> bool:
    long = len(sentence.split()) >= 5 or len(re.findall(r"[\u3040-\u30ff\u3400-\u9fff]", sentence)) >= 10
    return long and bool(_SUBJECT.search(sentence) and (_FAILURE.search(sentence) or ERROR.search(sentence)))


_CHECKS = {"consistent?": _FAILS, "changes": _OWN_SIDE}  # "every request as urgent", "the error did not change"
_WHOLE = {"consistent", "changes", "raw_request"}  # the sentence is the value


def _in_sentence(s: str) -> list[tuple[str, str]]:
    found = _times(s)
    for rule, rx in _COMPILED:
        m = rx.search(s)
        check = _CHECKS.get(rule)
        if not m or (check is not None and not check.search(s)):
            continue
        key = rule.rstrip("?!")
        value = s if key in _WHOLE else next((g for g in m.groups() if g), m.group(0))
        found.append((key, _ADJECTIVES.get(value, value).strip().rstrip(".,;")))
    return found


def find(paragraphs: list[tuple[str, bool]]) -> dict[str, str]:
    """The items said in sentences, by key: the first value top to bottom wins. `paragraphs` are the mail's own
    (text, prose): a label line or table row is one paragraph with prose False; only prose can be the problem."""
    out: dict[str, str] = {}
    for text, prose in paragraphs:
        sentences = [s.strip()[:1000] for s in _SPLIT.split(_GREETING.sub("", text)) if s.strip()]
        for i, s in enumerate(sentences):
            for key, value in _in_sentence(s):
                if key == "error" and value.startswith("{") and not out.get(key, "").startswith("{"):
                    out.pop(key, None)  # the whole error response beats a code in passing
                out.setdefault(key, value[:500])
            if prose and "problem" not in out and _problem(s):
                out["problem"] = " ".join(sentences[i:])[:500].rstrip()
    return out
