"""The SOP's required items: which a T1 carries, which it lacks, where it is misrouted. Pure: no I/O."""

import re
from dataclasses import dataclass
from html.parser import HTMLParser


@dataclass(frozen=True)
class Item:
    key: str
    label: str
    required: bool
    example: str  # the SOP's own example, verbatim
    physical_only: bool = False


ITEMS = (
    Item("phone", "Contact phone number", True, "+81-3-3123-4567"),
    Item("email", "Contact email", True, "yourname@alias.com"),
    Item("name", "Contact name", True, "First Name/Family Name"),
    Item("problem", "Brief problem description", True,
         "Beginning at approximately 11:15 GMT all requests are failing with an F500 error.  We have turned off "
         "Amazon gift cards from our POS systems until this is resolved."),
    Item("partner_id", "Partner ID", True, "Acmes"),
    Item("request_id", "Example request ID", True, "Acmes3324500H2"),
    Item("card", "Example card/serial number", True, "1400000005567580", physical_only=True),
    Item("error", "Example API error response", True, "'F500' GeneralError"),
    Item("marketplace", "Marketplace", True, "US"),
    Item("timestamp", "Timestamp of example request (with time zone)", True, "11:32:06 GMT"),
    Item("first_failure", "Time of first failing request (with time zone)", True, "11:15:06 GMT"),
    Item("consistent", "Is the behavior consistent?", True, "Yes, every request since 11:15 GMT has been failing."),
    Item("changes", "Recent changes (programming and/or infrastructure)", True,
         "No, we have not had any software changes in the last two months."),
    Item("raw_request", "Example request (raw) including headers", False, "Partner attaches example"),
)
ITEM = {i.key: i for i in ITEMS}

# Labels as people write them. They are compared after _norm (case, spaces, punctuation, "(with time
# zone)" and leading "what is your"/"example" fall away), so "PartnerId", "partner id -" and
# "What is your partner id?" all meet "partner id". English first: most partners, Japanese and Chinese too.
_SYNONYMS = {
    "phone": "phone|phone number|phone no|contact phone|contact phone number|contact number|tel|tel no|telephone|"
             "mobile|mobile number|cell|callback number|電話|電話番号|連絡先電話番号|連絡先|联系电话|电话|手机",
    "email": "email|e-mail|mail|email address|contact email|contact e-mail|contact email address|"
             "メール|メールアドレス|連絡先メールアドレス|邮箱|联系邮箱|电子邮件|电子邮箱",
    "name": "name|contact name|contact|contact person|point of contact|poc|full name|"
            "氏名|名前|担当者|担当者名|お名前|联系人|姓名|联系人姓名",
    "problem": "problem|problem description|brief problem description|description|brief description|issue|"
               "issue description|summary|symptoms|details|what happened|"
               "問題|問題の概要|概要|事象|現象|障害内容|问题|问题描述|简要问题描述",
    "partner_id": "partner id|partner|partner code|パートナーid|合作伙伴id|合作方id",
    "request_id": "request id|request ids|failing request id|creation request id|req id|request identifier|"
                  "x amzn request id|リクエストid|请求id|示例请求id",
    "card": "card|card number|serial|serial number|card serial number|gift card number|card or serial number|"
            "カード番号|シリアル番号|卡号|序列号",
    "error": "error|errors|error response|error message|error code|api error|api error response|response|"
             "api response|error returned|エラー|エラーレスポンス|エラー応答|エラー内容|apiエラー|错误|错误响应|错误信息",
    "marketplace": "marketplace|market|region|country|locale|site|affected marketplace|"
                   "marketplace where you are experiencing the issue|マーケットプレイス|国|地域|市场|站点",
    "timestamp": "timestamp|time stamp|time|timestamp of request|timestamp of request id|request timestamp|"
                 "time of request|request time|time of example request|timestamp of example request|"
                 "timestamp of example request id|タイムスタンプ|リクエスト時刻|リクエスト日時|时间戳|请求时间",
    "first_failure": "first failure|first failure time|time of first failure|first error|first error at|"
                     "first error time|time of first error|first failing request|time of first failing request|"
                     "approximate time of first failing request|first request that returned an error|"
                     "approximate time of the first request that returned an error|first occurrence|start time|"
                     "started|started at|issue started|since|began|outage start|"
                     "発生時刻|発生日時|障害発生時刻|最初のエラー|最初のエラー発生時刻|首次失败时间|首次出错时间|首次错误时间",
    "consistent": "consistent|consistent?|behavior consistent|behaviour consistent|is it consistent|consistency|"
                  "consistent or intermittent|intermittent or consistent|reproducible|"
                  "再現性|継続性|一貫性|是否持续|是否一致",
    "changes": "changes|recent changes|any changes|recent changes on your end|changes on your end|"
               "changes on our end|changes on our side|recent deployments|recent changes on our side|"
               "最近の変更|直近の変更|変更点|最近变更|近期变更|最近的变更",
    "raw_request": "raw request|request raw|raw example request|request raw including headers|"
                   "raw request including headers|request including headers|raw request with headers",
}
_FILLER = {"required", "desired", "what", "whats", "is", "was", "are", "were", "your", "the", "our", "my",
           "please", "any", "there", "example", "sample", "an", "a"}
_MULTILINE = {"problem", "error", "consistent", "changes", "raw_request"}  # free text may run on
_MISSING = {"", "n/a", "na", "n.a.", "-", "--", "—", "?", "tbd", "tbc", "tba", "todo", "unknown", "xxx",
            "see below", "see above"}
_CAP = 500


def _norm(label: str) -> str:
    s = re.sub(r"\(\s*raw\s*\)", " raw ", label.lower().replace("'", "").replace("’", ""))
    words = re.findall(r"\w+", re.sub(r"\([^)]*\)|（[^）]*）", " ", s))
    while words and words[0] in _FILLER:
        words.pop(0)
    return "".join(words)


# "PartnerId" / "RequestID" become "partner id" before _norm drops the spaces anyway.
_LABELS = {_norm(syn): key for key, syns in _SYNONYMS.items() for syn in syns.split("|")}
_SEP = re.compile(r"[:：=\t?？]|\s[-–—]{1,2}(?=\s|$)")
_BULLET = re.compile(r"^\s*(?:[-*•·+■□●◆◇▪※◎]+|\d{1,2}[.)]|\*\*|__)?\s*")
_QUOTE = re.compile(r"^\s*>")
_LINK = re.compile(r"<(?:mailto|tel|https?):[^>]*>")  # Outlook's plain text: "a@b.test<mailto:a@b.test>"
_SIGNOFF = re.compile(r"^(--\s*$|(thanks|thank you|regards|best|cheers|kind regards|best regards|sincerely)\b|"
                      r"よろしく|以上|谢谢)", re.IGNORECASE)
# Where an older mail begins: what follows is history (a reply) or the forwarded T1 (a forward).
_SEPARATOR = re.compile(
    r"^\s*(-{2,}\s*(original message|forwarded message|ursprüngliche nachricht|message d'origine)\b.*|"
    r"begin forwarded message:|_{10,}|(on|le|am|el|il)\s.{4,200}(wrote|a écrit|schrieb|escribió|ha scritto)\s*:)\s*$",
    re.IGNORECASE)
_HEADER_FROM = re.compile(r"^\s*\**(from|差出人|发件人)\s*\**\s*[:：]", re.IGNORECASE)
_HEADER_NEXT = re.compile(r"^\s*\**(sent|date|to|subject|送信日時|日時|发送时间|件名)\s*\**\s*[:：]", re.IGNORECASE)


def _is_separator(lines: list[str], i: int) -> bool:
    line = lines[i]
    if _SEPARATOR.match(line) or (line.strip().lower().startswith("on ") and i + 1 < len(lines)
                                  and _SEPARATOR.match(line + " " + lines[i + 1].strip())):
        return True  # Gmail wraps a long "On ... <\na@b> wrote:" over two lines
    return bool(_HEADER_FROM.match(line)) and any(_HEADER_NEXT.match(x) for x in lines[i + 1:i + 4])


def _label(line: str) -> tuple[str, str] | None:
    """(key, rest of line) when the line starts with a known label and a separator."""
    line = re.sub(r"^\s*【([^】]{1,40})】", r"\1: ", line)  # Japanese "【パートナーID】Acmes"
    body = _BULLET.sub("", line, count=1)
    for m in _SEP.finditer(body[:160]):
        key = _LABELS.get(_norm(body[:m.start()]))
        if key:
            return key, body[m.end():]
    return None


def _value(parts: list[str]) -> str:
    v = _LINK.sub("", " ".join(parts))
    v = " ".join(v.split()).strip(" *_:=?？：")
    return "" if v.lower().strip(".") in _MISSING or v.lower() in _MISSING else v[:_CAP].rstrip()


def _scan(lines: list[str]) -> list[tuple[int, str, str]]:
    """(zone, key, value) in order; zone 1 is quoted text or anything below an older mail's separator."""
    found, zone, i = [], 0, 0
    while i < len(lines):
        if _is_separator(lines, i):
            zone, i = 1, i + 1
            continue
        quoted = bool(_QUOTE.match(lines[i]))
        strip = (lambda s: re.sub(r"^(\s*>)+", "", s)) if quoted else (lambda s: s)
        hit = _label(strip(lines[i]))
        i += 1
        if not hit:
            continue
        key, rest = hit
        parts = [rest] if rest.strip() else []
        nxt = i + (1 if not parts and i < len(lines) and not lines[i].strip() else 0)  # "Label:", blank, value
        while nxt < len(lines) and bool(_QUOTE.match(lines[nxt])) == quoted:
            line = strip(lines[nxt])
            if (not line.strip() or _label(line) or _is_separator(lines, nxt) or _SIGNOFF.match(line.strip())
                    or (parts and key not in _MULTILINE)):
                break
            parts.append(line)
            nxt += 1
        i = max(i, nxt) if parts else i
        found.append((1 if quoted else zone, key, _value(parts)))
    return found


class _Text(HTMLParser):
    """HTML -> lines: table rows become "cell<TAB>cell", blockquotes become "> " lines, <style> is dropped."""

    BLOCK = {"br", "p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "pre", "table"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lines, self.cur, self.cells, self.cell = [], [], None, None
        self.skip = self.quote = self.pre = 0

    def _flush(self):
        text = "".join(self.cur).strip()
        self.lines.append(("> " if self.quote else "") + text if text else "")
        self.cur = []

    def _close_cell(self):
        if self.cell is not None and self.cells is not None:
            self.cells.append(" ".join("".join(self.cell).split()))
        self.cell = None

    def _close_row(self):
        self._close_cell()
        if self.cells and any(self.cells):
            self._flush()
            self.cur = ["\t".join(self.cells)]
            self._flush()
        self.cells = None

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script", "head", "title"):
            self.skip += 1
        elif tag == "blockquote":
            self._flush()
            self.quote += 1
        elif tag == "table" and self.cell is not None:  # a layout table around the content: not a data row
            self.cells, self.cell = None, None
        elif tag == "tr":
            self._close_row()
            self.cells = []
        elif tag in ("td", "th"):
            self._close_cell()
            self.cells = [] if self.cells is None else self.cells
            self.cell = []
        elif tag in self.BLOCK:
            self.pre += tag == "pre"
            self.cell.append(" ") if self.cell is not None else self._flush()

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag in ("style", "script", "head", "title"):
            self.skip = max(0, self.skip - 1)
        elif tag == "blockquote":
            self._flush()
            self.quote = max(0, self.quote - 1)
        elif tag in ("td", "th"):
            self._close_cell()
        elif tag == "tr":
            self._close_row()
        elif tag == "table":
            self._close_row()
            self._flush()
            self.lines.append("")  # a table's end ends a running multi-line value
        elif tag in self.BLOCK:
            self.pre -= tag == "pre" and self.pre > 0
            self.cell.append(" ") if self.cell is not None else self._flush()

    def handle_data(self, data):
        if self.skip:
            return
        if self.cell is not None:
            self.cell.append(data)
        elif self.pre:
            for n, piece in enumerate(data.split("\n")):
                if n:
                    self._flush()
                self.cur.append(piece)
        else:
            self.cur.append(re.sub(r"\s+", " ", data))


def html_lines(markup: str) -> list[str]:
    parser = _Text()
    try:
        parser.feed(markup or "")
        parser.close()
    except Exception:  # malformed markup: keep what was read so far
        pass
    parser._close_row()
    parser._flush()
    return parser.lines


def extract(text: str, html: str) -> dict[str, str]:
    """The SOP items found in a mail body: "Label: value" lines and two-column HTML table rows.

    Values above any quote or older-mail separator win; below it they only fill gaps (a forwarded T1
    carries its items there). Within each, the first value scanning top to bottom wins, the HTML
    (whose tables are the structured form) before the plain text.
    """
    hits = _scan(html_lines(html)) + _scan((text or "").splitlines()) if html else _scan((text or "").splitlines())
    out: dict[str, str] = {}
    for zone in (0, 1):
        for z, key, value in hits:
            if z == zone and value and key not in out:
                out[key] = value
    return out


_PHYSICAL = re.compile(
    r"physical\s+(gift\s*)?cards?\s+activation|card\s+activation|activat\w*\s+(\w+\s+){0,3}physical\s+(gift\s*)?cards?|"
    r"physical\s+(gift\s*)?cards?\s+(\w+\s+){0,3}activat|\bactivategiftcard\b|物理カード.{0,20}(有効化|アクティベ)|"
    r"实体卡.{0,10}激活", re.IGNORECASE)
_NEGATED = re.compile(r"\b(not|no|never|isn'?t|aren'?t|n't|unrelated to|nothing to do with|rather than)\b[^.!?\n]{0,30}$",
                      re.IGNORECASE)
_SOP_CARD_LABEL = re.compile(r"\(?\s*for physical card activation only\s*\)?\.?", re.IGNORECASE)


def is_physical(text: str) -> bool:
    """True when the mail is about activating physical cards (the card/serial item is then required)."""
    body = _SOP_CARD_LABEL.sub(" ", "\n".join(_own_lines(text, forward=True)))  # a copied SOP label is no claim
    return any(not _NEGATED.search(body[:m.start()]) for m in _PHYSICAL.finditer(body))


def missing(items: dict[str, str], physical: bool = False) -> list[Item]:
    return [i for i in ITEMS if i.required and (physical or not i.physical_only) and not items.get(i.key)]


OPERATIONS_TEAMS = {
    **dict.fromkeys(("US", "CA", "MX"), "corp-gc-salesops@amazon.com"),
    "AU": "amazonaucorpgc@amazon.com",
    "JP": "jp-gc-salesops@amazon.com",
    "CN": "cn-gc-salesops@amazon.com",
    **dict.fromkeys(("UK", "TR"), "corporate-gifts@amazon.co.uk"),
    **dict.fromkeys(("UAE", "KSA"), "mena-gc-ops@amazon.com"),
    "DE": "gutscheine-grosskunden@amazon.de",
    "FR": "cheques-cadeaux-entreprises@amazon.fr",
    "ES": "cheques-regalo-empresas@amazon.es",
    "IT": "buoni-regalo-imprese@amazon.it",
    "NL": "amazon-incentives-nl@amazon.nl",
    "SG": "corporate-gc-sg@amazon.com",
}
non_urgent_address = "incentives-api@amazon.com"  # planned outages and other non-urgent questions

# Names and Amazon domains are safe anywhere; two-letter codes only in the marketplace item itself or
# next to "marketplace"/"store" in prose ("IT team", "CA certificate", "let US know" are not markets).
_MARKETS = {
    "US": ("us|usa|united states|united states of america|amazon.com", "usa|united states"),
    "CA": ("ca|canada|amazon.ca", "canada"),
    "MX": ("mx|mexico|méxico|amazon.com.mx", "mexico|méxico"),
    "AU": ("au|australia|amazon.com.au", "australia"),
    "JP": ("jp|japan|amazon.co.jp|日本", "japan|日本"),
    "CN": ("cn|china|amazon.cn|中国", "china|中国"),
    "UK": ("uk|gb|united kingdom|great britain|britain|england|amazon.co.uk", "united kingdom|great britain"),
    "TR": ("tr|turkey|türkiye|turkiye|amazon.com.tr", "türkiye|turkiye"),
    "UAE": ("uae|ae|united arab emirates|emirates|dubai|amazon.ae", "uae|united arab emirates"),
    "KSA": ("ksa|sa|saudi arabia|saudi|kingdom of saudi arabia|amazon.sa", "ksa|saudi arabia"),
    "DE": ("de|germany|deutschland|amazon.de", "germany|deutschland"),
    "FR": ("fr|france|amazon.fr", "france"),
    "ES": ("es|spain|españa|espana|amazon.es", "spain|españa"),
    "IT": ("it|italy|italia|amazon.it", "italy|italia"),
    "NL": ("nl|netherlands|the netherlands|holland|amazon.nl", "netherlands|holland"),
    "SG": ("sg|singapore|amazon.sg", "singapore"),
}
_CODES = "|".join(c for c in sorted({s for v, _ in _MARKETS.values() for s in v.split("|") if len(s) <= 3}, key=len,
                                    reverse=True))
_MARKET_WORD = r"(?:marketplace|market|store|site|region)"


def _mentions(s: str, loose: bool) -> set[str]:
    found = set()
    for key, (item_names, prose_names) in _MARKETS.items():
        names = [n for n in (item_names if loose else prose_names).split("|") if loose or len(n) > 3 or n in ("uae", "ksa", "usa")]
        names += [d for d in item_names.split("|") if d.startswith("amazon.") and (loose or d != "amazon.com")]
        for n in names:
            flags = re.IGNORECASE if loose or len(n) > 3 else 0
            pat = n.upper() if not flags else re.escape(n)
            if re.search(rf"(?<![\w@.-]){pat}(?![\w-]|\.\w)", s, flags):
                found.add(key)
    if not loose:  # "JP marketplace", "marketplace: JP", "[JP]"
        for m in re.finditer(rf"\b({_CODES.upper()})\s+{_MARKET_WORD}\b|\b{_MARKET_WORD}\s*[:=]?\s*({_CODES.upper()})\b|"
                             rf"\[({_CODES.upper()})\]", s, re.IGNORECASE):
            code = next(g for g in m.groups() if g).lower()
            found |= {k for k, (v, _) in _MARKETS.items() if code in v.split("|")}
    return found


def marketplace(items: dict[str, str], text: str, subject: str) -> str | None:
    """The SOP operations-team key for the mail's marketplace, or None when unknown or ambiguous."""
    value = items.get("marketplace", "")
    whole = re.sub(r"\b(marketplace|market|amazon|store)\b", "", value, flags=re.IGNORECASE).strip(" .:-()")
    for candidates in (_mentions(whole, True) if len(whole) <= 30 else set(), _mentions(value, False),
                       _mentions(subject or "", False), _mentions("\n".join(_own_lines(text, forward=False)), False),
                       _mentions("\n".join(_own_lines(text, forward=True)), False)):
        if len(candidates) == 1:
            return candidates.pop()
    return None


def _own_lines(text: str, forward: bool) -> list[str]:
    """The mail's own lines: no ">" quotes; above the first older-mail separator unless `forward`
    (a forward's lower part is the matter at hand, a reply's is history)."""
    lines, out = (text or "").splitlines(), []
    for i, line in enumerate(lines):
        if not forward and _is_separator(lines, i):
            break
        if not _QUOTE.match(line):
            out.append(line)
    return out


# "Insufficient Funds" is only ever the error. "contract" counts only as an error's text: a CamelCase
# error name ("NoActiveContract"), a contract in a failed state ("contract has expired", "no active
# contract", "invalid contract") or within a few words after an error word ("F400 error: contract ...",
# "response says contract ...") -- so "our contract phone number" or "our contract engineer saw F500s"
# are not misroutes. Negated mentions ("not an insufficient funds error") do not count either.
_MISROUTES = (
    ("Insufficient Funds", re.compile(r"insufficient[\s_-]*funds?", re.IGNORECASE)),
    ("contract", re.compile(
        r"\b[A-Z]\w*Contract\w*|\bContract[A-Z]\w*|"
        r"(?i:\b(no|invalid|expired|inactive|missing|unknown|suspended|terminated)\s+(active\s+)?contracts?\b|"
        r"\bcontracts?\s+(has\s+|have\s+|is\s+|was\s+)?(expired|ended|terminated|suspended|invalid|inactive|missing|"
        r"not\s+(found|active|valid)|does\s+not\s+exist|error|related\s+error)|"
        r"\b(errors?|response|message|code|returned|returns|reason|says|F\d{3})\b\W{0,4}(\w+\W{1,4}){0,4}\w*contract)")),
)


def misroute(text: str, subject: str) -> str | None:
    """"Insufficient Funds" or "contract" when that is the mail's problem: not for the urgent line."""
    forward = bool(re.match(r"^\s*(fwd?|wg|tr)\s*:", subject or "", re.IGNORECASE))
    body = (subject or "") + "\n" + "\n".join(_own_lines(text, forward))
    hits = [(m.start(), name) for name, rx in _MISROUTES for m in rx.finditer(body)
            if not _NEGATED.search(body[max(0, m.start() - 60):m.start()])]
    return min(hits)[1] if hits else None
