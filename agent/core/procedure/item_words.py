"""The words engineers use for the SOP's items: the labels as they write them, what a label in their own words
means, and whether a value is a plausible one for its item. Pure."""

import re

# Labels as people write them (English, and the Japanese and Chinese ones partners there use), compared after
# norm(): case, spaces, punctuation, parentheses ("(with time zone)") and a leading "what is your", "is the",
# "example" fall away, so "PartnerId", "partner id -" and "What is your partner id?" are all "partnerid".
SYNONYMS = {
    "phone": "phone|phone number|phone no|contact phone|contact phone number|contact number|tel|tel no|telephone|"
    "mobile|mobile number|cell|callback number|電話|電話番号|連絡先電話番号|联系电话|电话|手机",
    "email": "email|e-mail|mail|email address|contact email|contact e-mail|contact email address|メール|メールアドレス|"
    "連絡先メールアドレス|邮箱|联系邮箱|电子邮件|电子邮箱",
    "name": "name|contact name|contact|contact person|point of contact|poc|full name|"
    "氏名|名前|担当者|担当者名|お名前|联系人|姓名|联系人姓名",
    "problem": "problem|problem description|brief problem description|description|brief description|issue|summary|"
    "issue description|symptoms|details|what happened|問題|問題の概要|概要|事象|現象|障害内容|问题|问题描述",
    "partner_id": "partner id|partner|partner code|パートナーid|合作伙伴id|合作方id",
    "request_id": "request id|request ids|failing request id|creation request id|req id|request identifier|"
    "x amzn request id|リクエストid|请求id",
    "card": "card|card number|serial|serial number|card serial number|gift card number|card or serial number|"
    "カード番号|シリアル番号|卡号|序列号",
    "error": "error|errors|error response|error message|error code|api error|api error response|response|"
    "api response|error returned|エラー|エラーレスポンス|エラー応答|エラー内容|apiエラー|错误|错误响应|错误信息",
    "marketplace": "marketplace|market|region|country|locale|affected marketplace|"
    "marketplace where you are experiencing the issue|マーケットプレイス|国|地域|市场|站点",
    "timestamp": "timestamp|time stamp|time|timestamp of request|request timestamp|time of request|request time|"
    "time of example request|timestamp of example request|timestamp of example request id|タイムスタンプ|"
    "リクエスト時刻|リクエスト日時|时间戳|请求时间",
    "first_failure": "first failure|first failure time|time of first failure|first error|first error at|since|began|"
    "first error time|time of first error|first failing request|time of first failing request|"
    "approximate time of first failing request|first request that returned an error|started|"
    "approximate time of the first request that returned an error|first occurrence|start time|"
    "started at|issue started|outage start|発生時刻|発生日時|障害発生時刻|最初のエラー|最初のエラー発生時刻|"
    "首次失败时间|首次出错时间|首次错误时间",
    "consistent": "consistent|behavior consistent|behaviour consistent|is it consistent|consistency|reproducible|"
    "consistent or intermittent|intermittent or consistent|再現性|継続性|一貫性|是否持续|是否一致",
    "changes": "changes|recent changes|recent changes on your end|changes on your end|changes on our end|"
    "changes on our side|recent changes on our side|recent deployments|"
    "最近の変更|直近の変更|変更点|最近变更|近期变更|最近的变更",
    "raw_request": "raw request|request raw|raw example request|request raw including headers|"
    "raw request including headers|request including headers|raw request with headers",
}
_FILLER = set("required desired what whats is was are were your the our my please any there example sample a".split())


def norm(label: str) -> str:
    s = re.sub(r"\(\s*raw\s*\)", " raw ", label.lower().replace("'", "").replace("’", ""))
    words = re.findall(r"\w+", re.sub(r"\([^)]*\)|（[^）]*）", " ", s))
    while words and words[0] in _FILLER:
        words.pop(0)
    return "".join(words)


_LABELS = {norm(syn): key for key, syns in SYNONYMS.items() for syn in syns.split("|")}


def exact(label: str) -> str | None:
    """The item a label names in one of the known forms (SYNONYMS)."""
    return _LABELS.get(norm(label))


# One-word labels that are also ordinary words ("Time: please hurry", "Since: forever"): their value must be plausible.
_GENERIC = {"time", "since", "started", "began", "response", "details", "summary", "cell", "mail"}


def generic(label: str) -> bool:
    return norm(label) in _GENERIC


# --- a label in the engineer's own words: its concepts ------------------------------------------------------------
# Whole words (English and German), then substrings for Japanese and Chinese, which write no spaces.
_WORDS = {
    "first": "first|start|starts|started|starting|begin|began|begun|beginning|since|onset|initial|earliest|"
    "commenced|erste|ersten|erster|beginn|begann|seit",
    "time": "time|times|timestamp|timestamps|when|date|datetime|hour|zeit|zeitpunkt|uhrzeit|zeitstempel|wann",
    "fail": "fail|fails|failing|failed|failure|failures|broke|broken|outage|down|fehlgeschlagen|fehlgeschlagenen|"
    "fehlerhafte|fehlerhaften",
    "request": "request|requests|req|call|calls|transaction|transactions|attempt|anfrage|anfragen|beispielanfrage",
    "id": "id|ids|identifier|ref|reference|kennung",
    "phone": "phone|telephone|tel|mobile|cell|cellphone|callback|whatsapp|telefon|telefonnummer|handy|rufnummer|"
    "rückrufnummer",
    "email": "email|mail|mailbox|emailadresse|mailadresse",
    "name": "name|person|who|whos|engineer|poc|reporter|reported|reporting|owner|oncall|ansprechpartner|kontaktperson",
    "desc": "description|describe|summary|overview|symptom|symptoms|happening|happened|impact|beschreibung|"
    "problembeschreibung|fehlerbeschreibung|zusammenfassung",
    "problem": "problem|problems|issue|issues|incident|outage|situation",
    "partner": "partner|partnerid",
    "card": "card|cards|serial|karte|kartennummer|seriennummer",
    "error": "error|errors|response|responses|returned|returns|return|message|code|fault|exception|status|fehler|"
    "fehlermeldung|fehlercode|antwort",
    "market": "marketplace|marketplaces|market|markets|region|regions|country|countries|locale|storefront|"
    "marktplatz|land",
    "consistent": "consistent|consistency|consistently|intermittent|intermittently|intermittency|sporadic|"
    "frequency|often|reproducible|reproduce|reproducibility|repeatable|persistent|constant|always|every|"
    "konsistent|dauerhaft|sporadisch|reproduzierbar|häufigkeit|regelmäßig",
    "changes": "change|changes|changed|deploy|deploys|deployed|deployment|deployments|release|releases|released|"
    "rollout|rollouts|update|updates|upgrade|upgrades|modification|modifications|migration|änderung|änderungen|"
    "geändert",
    "raw": "raw|headers|header|curl|har|dump|wire",
}
_CJK = {
    "first": "最初|初回|開始|始ま|発生|首次|开始|起始|最早",
    "time": "時刻|時間|日時|时间|时刻|何時",
    "fail": "失敗|障害|失败|故障",
    "request": "リクエスト|请求|呼び出し|调用",
    "phone": "電話|电话|手机|携帯",
    "email": "メール|邮箱|邮件",
    "name": "氏名|名前|担当|联系人|姓名",
    "desc": "概要|事象|現象|説明|状況|描述|现象|情况|概述",
    "problem": "問題|问题",
    "partner": "パートナー|合作伙伴|合作方",
    "card": "カード番号|シリアル|卡号|序列号",
    "error": "エラー|応答|レスポンス|错误|响应|返回|报错",
    "market": "マーケット|国|地域|市场|站点|地区",
    "consistent": "発生状況|再現|継続|一貫|頻度|毎回|常に|断続|間欠|持续|一致|频率|每次|间歇|偶发",
    "changes": "変更|変化|リリース|デプロイ|变更|改动|更改|发布|部署",
    "raw": "ヘッダ|原始|请求头",
}
_CONCEPT = {c: frozenset(ws.split("|")) for c, ws in _WORDS.items()}
_CJK_RX = {c: re.compile(ws) for c, ws in _CJK.items()}
# Words a label may hold beside its concepts; more than one other word and it is prose ("The problem started
# after lunch", "Hi Tel Aviv team").
_KNOWN = frozenset(
    """a an the of on in at for to from by with and or is it its was were are be been do does did have has had any
    anything there what whats which how our your my we you us me this that one recent recently last latest
    approximate approx approximately about around roughly exact zone tz timezone side end part affected impacted
    api agcod incentives amazon example sample specific please e g eg brief short full number no nr contact
    behavior behaviour programming infrastructure software config configuration system systems seen observed
    got get received sent made reach our gift if yes so far point tonight today now currently
    der die das des den dem ein eine einer von bei auf unserer unsere unser ihrer ihre seite letzte letzten
    kürzliche kürzlich beispiel ca ungefähr gibt es ist war mit und oder betroffene betroffener betroffenen
    の は 有無 例 サンプル おおよその 的 是否 最近 直近""".split()
)
_HAS_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
_ANY_WORDS = {
    w for ws in [*_WORDS.values(), *SYNONYMS.values()] for syn in ws.split("|") for w in re.findall(r"\w+", syn)
}
_ANY_WORDS |= set(_LABELS)  # "requestid", "partnerid"
_ANY_CJK = re.compile(
    "|".join({w for ws in _CJK.values() for w in ws.split("|")} | set(filter(_HAS_CJK.search, _ANY_WORDS)))
)


def labelish(line: str) -> bool:
    """A cheap first look: the line holds a word some label is made of."""
    if _HAS_CJK.search(line) and _ANY_CJK.search(line):
        return True
    return not _ANY_WORDS.isdisjoint(re.findall(r"[^\W\d_]+", line.lower()))


def meaning(label: str, unknown_words: int = 1) -> str | None:
    """The item a label in the engineer's own words is about ("Marketplace affected", "Started failing at",
    "Is it consistent or intermittent", "初回エラー時刻"), or None. The value must then be plausible()."""
    if re.search(r"[{}\[\]<>\"=@]|[.!?。]\s", label):  # JSON, markup, an address, a sentence before it: prose
        return None
    text = re.sub(r"\([^)]*\)|（[^）]*）", " ", label)
    text = re.sub(r"\w*GiftCard\w*", "operation", text)  # CreateGiftCard is no "card"
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text).lower().replace("'", "").replace("’", "")
    words = re.findall(r"\w+", text)
    if not words or len(words) > 9:
        return None
    concepts: set[str] = set()
    unknown = 0
    for w in words:
        found = {c for c, ws in _CONCEPT.items() if w in ws}
        if _HAS_CJK.search(w):
            found |= {c for c, rx in _CJK_RX.items() if rx.search(w)}
            unknown += len(w) > 16
        concepts |= found
        unknown += not found and w not in _KNOWN  # a number or an id in it: "req id Acmes12 @ 14" is no label
    return _decide(concepts, set(words)) if unknown <= unknown_words else None


def _decide(c: set[str], words: set[str]) -> str | None:
    rules = (  # first rule that holds; the order settles "Time of first error" (not an error, not a timestamp)
        ("raw_request", "raw" in c and ("request" in c or bool(words & {"headers", "header"}))),
        ("first_failure", "first" in c and bool(c & {"time", "fail", "request", "error", "problem"})),
        ("changes", "changes" in c),
        ("consistent", "consistent" in c),
        ("first_failure", "time" in c and "fail" in c),
        ("timestamp", "time" in c and bool(c & {"request", "error"})),
        ("phone", "phone" in c or ("number" in words and bool(words & {"call", "reach", "contact"}))),
        ("email", "email" in c),
        ("card", "card" in c),
        ("request_id", "request" in c and "id" in c),
        ("partner_id", "partner" in c),
        ("problem", "desc" in c),
        ("error", "error" in c),
        ("problem", "problem" in c),
        ("marketplace", "market" in c),
        ("timestamp", "time" in c),
        ("name", "name" in c),
        ("request_id", "request" in c),  # "Example request: Acmes3324500H2"; the value must be an id
        ("name", "contact" in words),  # "Point of contact tonight"
    )
    return next((key for key, holds in rules if holds), None)


# --- plausible values ----------------------------------------------------------------------------------------------
_ZONE = r"(?-i:GMT|UTC|Z|[A-Z]{1,2}[SD]?T|(?:GMT|UTC)?\s?[+-]\d{1,2}(?::?\d{2})?)"
_AMPM = r"\s?[ap]\.?m\b\.?"
_HMS = r":\d{2}(?::\d{2}(?:\.\d+)?)?"
_CLOCK = rf"(?:\d{{1,2}}(?:{_HMS}(?:{_AMPM})?|{_AMPM}|h\d{{2}})|\d{{1,2}}\s?(?:時|点)(?:\d{{1,2}}\s?分)?)"
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DATE = (
    rf"(?:\d{{4}}[-/.年]\d{{1,2}}[-/.月]\d{{1,2}}日?|\d{{1,2}}[-/.]\d{{1,2}}[-/.]\d{{2,4}}|"
    rf"\d{{1,2}}\s+{_MONTH}(?:\s+\d{{4}})?|{_MONTH}\s+\d{{1,2}}(?:,?\s*\d{{4}})?)"
)
TIME = re.compile(
    rf"(?<![\w:])(?:{_DATE}(?:,?\s*|T)(?:at\s+)?)?{_CLOCK}(?![\d:])(?:\s*\(?{_ZONE}\b\)?)?",
    re.IGNORECASE,
)
ERROR = re.compile(
    r"\{\s*\"?error\w*\"?\s*:[^\n]*|[\"'‘“]?\bF\d{3}s?\b[\"'’”]?(?:\s+[\"']?[A-Z][a-z]+(?:[A-Z][a-z]+)*\b)?|"
    r"\b(?:[A-Z][a-z]+)+(?:Error|Exception|Fault)\b|\bHTTP(?:/\d(?:\.\d)?)?\s*[45]\d\d\b(?:\s+[A-Z][a-z]+){0,3}|"
    r"\b(?:status(?:\s+code)?\s*)[45]\d\d\b|\b[45]\d\d\s+(?:Internal Server Error|Service Unavailable|Bad Gateway|"
    r"Gateway Time-?out|Too Many Requests|Forbidden|Unauthori[sz]ed|Bad Request)|\b5\d\d\s+(?:errors?|responses?)\b|"
    r"\berror\s?code\s*[:=]?\s*[\"']?\w+"
)
_STOP = r"(?:no|not|none|unknown|we|the|our|a|an|is|it|yes|same|see|tbd|please|still|yet|here|below|above|and)\b"
_VALUE = {
    "phone": re.compile(r"(?:\d[\s().\-/]*){7,}"),
    "email": re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    "name": re.compile(rf"^(?!(?i:{_STOP}|me\b|myself\b))(?=[^\d@]*[^\W\d_])[^\n\d]{{2,80}}$"),
    "problem": re.compile(r"\w+\W+\w+\W+\w+|[\u3040-\u30ff\u3400-\u9fff]{6}"),
    "partner_id": re.compile(rf"^[\"'“]?(?!(?i:{_STOP}))[A-Za-z0-9][\w.\-/]{{1,40}}[\"'”]?(?:\s*[(（,].*)?$"),
    "request_id": re.compile(r"^[\"'“]?(?=[\w.:/-]*\d)[A-Za-z0-9][\w.:/-]{4,}"),
    "card": re.compile(r"(?:\d[\s-]?){8,}"),
    "error": re.compile(
        ERROR.pattern + r"|(?i:\b(?:error|exception|fault|fail\w*|time[sd]? ?out|throttl\w*|denied|invalid|refused|"
        r"unavailable|internal)\b|エラー|错误|fehler)"
    ),
    "marketplace": re.compile(r"^(?=.*[^\W\d_])(?!" + _STOP + r")\S+(?:\s+\S+){0,4}$"),  # "IT", not "it"
    "timestamp": TIME,
    "first_failure": TIME,
    "consistent": re.compile(
        r"(?i:\b(?:yes|no|yep|nope|consistent\w*|intermittent\w*|every|each|all|always|sporadic\w*|random\w*|some|"
        r"most|half|constant\w*|continuous\w*|never|occasional\w*|sometimes|flaky|none|ja|nein|immer|manchmal)\b|"
        r"\d+\s?%|はい|いいえ|毎回|常に|全て|すべて|一部|断続|間欠|是|否|每次|所有|全部|间歇|偶尔|一直)"
    ),
    "changes": re.compile(
        r"(?i:\b(?:no|none|nothing|nope|not|yes|n't|\w*deploy\w*|releas\w*|chang\w*|updat\w*|upgrad\w*|roll\w*|"
        r"migrat\w*|modif\w*|patch\w*|push\w*|config\w*|version|v?\d+\.\d+|nein|keine|ja)\b|\w+n't\b|"
        r"いいえ|なし|ありません|変更|没有|无|否|是)"
    ),
    "raw_request": re.compile(r"\S"),
}
_UNANSWERED = re.compile(
    r"(?i)\W*(no idea|not sure|don'?t know|unsure|unclear|dunno|checking|investigating|will (send|follow|check)|"
    r"to follow|follows|pending|later|coming soon)\b"
)


def unanswered(value: str) -> bool:
    """ "No idea yet", "(will send shortly)": an answer that is none."""
    return bool(_UNANSWERED.match(value))


def plausible(key: str, value: str) -> bool:
    """Whether `value` can be what the item asks for: a time for a time, an id-like token for an id, a number with
    enough digits for a phone. Labels in the known forms skip this (whatever follows "Partner ID:" is the answer)."""
    rx = _VALUE.get(key)
    if rx is None or not rx.search(value) or unanswered(value):
        return False
    if key == "name":
        return len(value.split()) <= 8 and not re.search(r"[.!?。！？]$|です|ます", value)
    if key == "phone":
        return 7 <= sum(ch.isdigit() for ch in value) <= 20 and not re.search(r"\d{16}", value)
    return True
