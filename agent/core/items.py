"""The SOP's items in a T1: which it carries, which it lacks, whether it is about physical cards. Pure."""

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


ITEMS = (  # the SOP's table, in its order
    Item("phone", "Contact phone number", True, "+81-3-3123-4567"),
    Item("email", "Contact email", True, "yourname@alias.com"),
    Item("name", "Contact name", True, "First Name/Family Name"),
    Item(
        "problem",
        "Brief problem description",
        True,
        "Beginning at approximately 11:15 GMT all requests are failing "
        "with an F500 error.  We have turned off Amazon gift cards from our POS systems until this is resolved.",
    ),
    Item("partner_id", "Partner ID", True, "Acmes"),
    Item("request_id", "Example request ID", True, "Acmes3324500H2"),
    Item("card", "Example card/serial number", True, "1400000005567580", physical_only=True),
    Item("error", "Example API error response", True, "'F500' GeneralError"),
    Item("marketplace", "Marketplace", True, "US"),
    Item("timestamp", "Timestamp of example request (with time zone)", True, "11:32:06 GMT"),
    Item("first_failure", "Time of first failing request (with time zone)", True, "11:15:06 GMT"),
    Item("consistent", "Is the behavior consistent?", True, "Yes, every request since 11:15 GMT has been failing."),
    Item(
        "changes",
        "Recent changes (programming and/or infrastructure)",
        True,
        "No, we have not had any software changes in the last two months.",
    ),
    Item("raw_request", "Example request (raw) including headers", False, "Partner attaches example"),
)
ITEM = {i.key: i for i in ITEMS}

# Labels as people write them (English, and the Japanese and Chinese ones partners there use), compared after
# _norm: case, spaces, punctuation, parentheses ("(with time zone)") and a leading "what is your", "is the",
# "example" fall away, so "PartnerId", "partner id -" and "What is your partner id?" are all "partnerid".
_SYNONYMS = {
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
_MULTILINE = {"problem", "error", "consistent", "changes", "raw_request"}  # free text may run on
_MISSING = {"", "n/a", "na", "n.a", "-", "--", "—", "?", "tbd", "tbc", "tba", "todo", "unknown", "xxx", "see below"}


def _norm(label: str) -> str:
    s = re.sub(r"\(\s*raw\s*\)", " raw ", label.lower().replace("'", "").replace("’", ""))
    words = re.findall(r"\w+", re.sub(r"\([^)]*\)|（[^）]*）", " ", s))
    while words and words[0] in _FILLER:
        words.pop(0)
    return "".join(words)


_LABELS = {_norm(syn): key for key, syns in _SYNONYMS.items() for syn in syns.split("|")}
_SEP = re.compile(r"[:：=\t?？]|\s[-–—]{1,2}(?=\s|$)")
_BULLET = re.compile(r"^\s*(?:[-*•·+■□●◆◇▪※◎]+|\d{1,2}[.)]|\*\*|__)?\s*")
_QUOTE = re.compile(r"^(\s*>)+")
_LINK = re.compile(r"<(?:mailto|tel|https?):[^>]*>")  # Outlook's plain text: "a@b.test<mailto:a@b.test>"
_SIGNOFF = re.compile(
    r"^(--\s*$|(thanks|thank you|regards|best|cheers|kind regards|sincerely)\b|よろしく|以上|谢谢)", re.IGNORECASE
)
# Where an older mail begins: below is history (a reply) or the forwarded T1 (a forward).
_SEPARATOR = re.compile(
    r"^\s*(-{2,}\s*(original message|forwarded message|ursprüngliche nachricht|message d'origine)\b.*|"
    r"begin forwarded message:|_{10,}|(on|le|am|el|il)\s.{4,200}(wrote|a écrit|schrieb|escribió|ha scritto)\s*:)\s*$",
    re.IGNORECASE,
)
_HEADER_FROM = re.compile(r"^\s*\**(from|差出人|发件人)\s*\**\s*[:：]", re.IGNORECASE)
_HEADER_NEXT = re.compile(r"^\s*\**(sent|date|to|subject|送信日時|日時|发送时间|件名)\s*\**\s*[:：]", re.IGNORECASE)


def _is_separator(lines: list[str], i: int) -> bool:
    # Gmail wraps a long "On ... <\na@b> wrote:" over two lines; Outlook's "From:" is followed by "Sent:".
    two = " ".join(lines[i : i + 2])
    return bool(
        _SEPARATOR.match(lines[i])
        or ("@" in two and _SEPARATOR.match(two))
        or (_HEADER_FROM.match(lines[i]) and any(_HEADER_NEXT.match(x) for x in lines[i + 1 : i + 4]))
    )


def _label(line: str) -> tuple[str, str, bool] | None:
    """(key, rest of line, whether it is a table row) when the line starts with a known label and a separator."""
    line = re.sub(r"^\s*【([^】]{1,40})】", r"\1: ", _QUOTE.sub("", line))  # Japanese "【パートナーID】Acmes"
    body = _BULLET.sub("", line, count=1)
    for m in _SEP.finditer(body[:160] if body[:1].isalpha() else ""):  # not '{"errorCode": ...' on its own line
        if key := _LABELS.get(_norm(body[: m.start()])):
            return key, body[m.end() :], "\t" in body[m.start() :]
    return None


def _value(parts: list[str]) -> str:
    v = " ".join(_LINK.sub("", " ".join(parts)).split()).strip(" *_:=?？：")
    return "" if v.lower().rstrip(".") in _MISSING else v[:500].rstrip()


def _scan(lines: list[str]) -> list[tuple[int, str, str]]:
    """(zone, key, value) in order; zone 1 is quoted text and anything below an older mail's separator."""
    found, zone, i = [], 0, 0
    while i < len(lines):
        if _is_separator(lines, i):
            zone, i = 1, i + 1
            continue
        quoted, hit, i = bool(_QUOTE.match(lines[i])), _label(lines[i]), i + 1
        if not hit:
            continue
        key, rest, row = hit
        parts = [rest] if rest.strip() or row else []
        j = i + (not parts and i < len(lines) and not lines[i].strip())  # "Label:", one blank line, the value
        runs_on = key in _MULTILINE and not row  # a table row is whole
        while j < len(lines) and bool(_QUOTE.match(lines[j])) == quoted and not (parts and not runs_on):
            line = _QUOTE.sub("", lines[j]).strip()
            if not line or _label(line) or _is_separator(lines, j) or _SIGNOFF.match(line):
                break
            parts.append(line)
            j += 1
        i = j if parts else i
        found.append((1 if quoted else zone, key, _value(parts)))
    return found


class _Text(HTMLParser):
    """HTML -> lines as the reader sees them: a table row is one "cell<TAB>cell" line (a one-cell row is layout,
    its lines stay lines), a blockquote gives "> " lines, <style> and <head> are dropped."""

    BLOCK = set("p div li ul ol h1 h2 h3 h4 h5 h6 hr pre blockquote table tr td th".split())
    SKIP = set("style script head title".split())

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.cur = ""
        self.tables: list[list[list[str]]] = []  # per open table, its open row's cells (each a list of lines)
        self.skip = self.quote = 0

    def target(self) -> list[str]:
        return next((t[-1] for t in reversed(self.tables) if t), self.lines)

    def boundary(self, tag: str = "") -> None:
        # A blank line only where the reader sees one: <br> on an empty line, <p>&nbsp;</p> (Outlook's).
        text, blank, self.cur = " ".join(self.cur.split()), tag == "br" or (tag == "/" and "\xa0" in self.cur), ""
        if text or blank:
            self.target().append(("> " if self.quote and text else "") + text)

    def close_row(self) -> None:
        cells = [[_QUOTE.sub("", x).strip() for x in c] for c in (self.tables or [[]])[-1]]
        filled = [c for c in cells if any(c)]
        if self.tables:
            self.tables[-1] = []
        # One filled cell of paragraphs is layout; "Marketplace | (empty)" is still a label and its (missing) value.
        layout = len(filled) == 1 and (len(cells) == 1 or sum(map(bool, filled[0])) > 1)
        rows = filled[0] if layout else ["\t".join(" ".join(" ".join(c).split()) for c in cells)] * bool(filled)
        self.target().extend(("> " if self.quote and x else "") + x for x in rows)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCK or tag == "br":
            self.boundary(tag)
        if tag in ("table", "tr"):
            self.close_row()  # a table inside a cell makes the outer one layout
        self.tables += [[]] if tag == "table" else []
        if tag in ("td", "th") and self.tables:
            self.tables[-1].append([])
        self.skip += tag in self.SKIP
        self.quote += tag == "blockquote"

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BLOCK:
            self.boundary("/")
        if tag in ("tr", "table"):
            self.close_row()
        if tag == "table" and self.tables:
            self.tables.pop()
            self.target().append("")  # a table's end also ends a running multi-line value
        self.skip -= tag in self.SKIP and self.skip > 0
        self.quote -= tag == "blockquote" and self.quote > 0

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.cur += data


def html_lines(markup: str) -> list[str]:
    parser = _Text()
    try:
        parser.feed(markup or "")
        parser.close()
    except Exception:  # malformed markup: keep what was read
        pass
    while parser.tables:
        parser.handle_endtag("table")
    parser.boundary()
    return parser.lines


def extract(text: str, html: str) -> dict[str, str]:
    """The SOP items in a mail body, from "Label: value" lines and label/value table rows, by item key.

    Values above any quote or older mail's separator win; those below only fill gaps (a forwarded T1 carries its
    items there). Within each part the first value top to bottom wins, the HTML (tables: the structured form) first.
    """
    hits = (_scan(html_lines(html)) if html else []) + _scan((text or "").splitlines())
    out: dict[str, str] = {}
    for _, key, value in sorted(hits, key=lambda h: h[0]):  # stable: top to bottom within a zone
        if value:
            out.setdefault(key, value)
    return out


def missing(items: dict[str, str], physical: bool = False) -> list[Item]:
    return [i for i in ITEMS if i.required and (physical or not i.physical_only) and not items.get(i.key)]


def own_lines(text: str, forward: bool) -> str:
    """The mail's own text: no ">" quotes, nothing below an older mail's separator unless `forward` (a forward's
    lower part is the matter at hand, a reply's is history)."""
    lines = (text or "").splitlines()
    end = len(lines) if forward else next((i for i in range(len(lines)) if _is_separator(lines, i)), len(lines))
    return "\n".join(x for x in lines[:end] if not _QUOTE.match(x))


# A negation right before a mention ("not an Insufficient Funds error", "we don't activate physical cards") voids
# it; one further away ("not sure why we get InsufficientFunds") does not.
_NEGATED = re.compile(
    r"\b(not|no|never|don'?t|doesn'?t|isn'?t|aren'?t|wasn'?t|no longer|unrelated to|nothing to do "
    r"with|rather than|instead of)\s+(an?\s+|the\s+|any\s+|about\s+|related\s+to\s+|due\s+to\s+)*"
    r"[\"'“]?$",
    re.IGNORECASE,
)
_PHYSICAL = re.compile(
    r"physical\s+(gift\s*)?cards?\s+activation|card\s+activation|activat\w*\s+(\w+\s+){0,3}physical"
    r"\s+(gift\s*)?cards?|physical\s+(gift\s*)?cards?\s+(\w+\s+){0,3}activat|\bactivategiftcard\b|"
    r"物理カード.{0,20}(有効化|アクティベ)|实体卡.{0,10}激活",
    re.IGNORECASE,
)


def negated(text: str, at: int) -> bool:
    """True when a negation ends right before position `at` (within 60 characters)."""
    return bool(_NEGATED.search(text[max(0, at - 60) : at]))


def is_physical(text: str) -> bool:
    """True when the mail is about activating physical cards: the card/serial item is then required."""
    body = re.sub(r"for physical card activation only", " ", own_lines(text, True), flags=re.I)  # a copied SOP label
    return any(not negated(body, m.start()) for m in _PHYSICAL.finditer(body))
