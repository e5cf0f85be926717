"""The SOP's items in a T1: which it carries, which it lacks, whether it is about physical cards. Pure."""

import re
from dataclasses import dataclass

from agent.core.procedure import item_sentences, item_words
from agent.core.reading.html_text import html_lines as html_lines


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

_MULTILINE = {"problem", "error", "consistent", "changes", "raw_request"}  # free text may run on
_MISSING = {"", "n/a", "na", "n.a", "-", "--", "—", "?", "tbd", "tbc", "tba", "todo", "unknown", "xxx", "see below"}
_SEP = re.compile(r"[:：=\t?？]|\s[-–—]{1,2}(?=\s|$)")
_BULLET = re.compile(r"^\s*(?:[-*•·・+■□●◆◇▪※◎]+|\d{1,2}[.)]|\*\*|__)?\s*")
_BULLETED = re.compile(r"\s*[-*•·・+■□●◆◇▪※◎]")
_QUOTE = re.compile(r"^(\s*>)+")
_LINK = re.compile(r"<(?:mailto|tel|https?):[^>]*>")  # Outlook's plain text: "a@b.test<mailto:a@b.test>"
_SIGNOFF = re.compile(
    r"^(--\s*$|(thanks|thank you|regards|best|cheers|kind regards|sincerely)\b|よろしく|以上|谢谢)", re.IGNORECASE
)
# A sign-off line: the signature below it supplies no items in the engineer's own words.
_SIGNATURE = re.compile(
    r"^(--\s*|(?i:thanks|thank you|many thanks|thx|regards|best|best regards|kind regards|warm regards|cheers|"
    r"sincerely|br|mit freundlichen grüßen|viele grüße|grüße|gruß)(\s+(?i:a lot|again|in advance|so much))?"
    r"\s*[,!.]?(\s*[A-Z][\w'’-]+(\s[A-Z][\w'’-]+)?)?|(?i:sent from my|get outlook for)\s.*|"
    r"よろしく.*|以上.?|谢谢.?|此致.*)$"
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


def _label(line: str) -> tuple[str, str, bool, bool] | None:
    """(key, rest of line, whether it is a table row, whether the value must be plausible) when the line starts
    with a label and a separator, or is a short label on its own ("Marketplace affected", its value below). A label
    in a known form (item_words.SYNONYMS) takes any value; one in the engineer's own words only a plausible one."""
    line = re.sub(r"^\s*【([^】]{1,40})】", r"\1: ", _QUOTE.sub("", line))  # Japanese "【パートナーID】Acmes"
    body = _BULLET.sub("", line, count=1)
    if not body[:1].isalpha():  # not '{"errorCode": ...' on its own line
        return None
    seps = list(_SEP.finditer(body[:160]))
    for m in seps:
        if key := item_words.exact(body[: m.start()]):
            return key, body[m.end() :], "\t" in body[m.start() :], item_words.generic(body[: m.start()])
    for m in seps:
        if key := item_words.meaning(body[: m.start()]):
            return key, body[m.end() :], "\t" in body[m.start() :], True
    bare = body.strip()  # a label alone on its line, not "Amazon ご担当者様" nor a sentence
    if len(bare) <= 60 and not seps and not re.search(r"[.,;!。、様]$|,|\d", bare) and item_words.labelish(bare):
        key = item_words.exact(bare) or item_words.meaning(bare, unknown_words=0)
        return (key, "", False, True) if key else None
    return None


def _value(parts: list[str]) -> str:
    v = " ".join(_LINK.sub("", " ".join(parts)).split()).strip(" *_:=?？：")
    return "" if v.lower().rstrip(".") in _MISSING or item_words.unanswered(v) else v[:500].rstrip()


def _scan(lines: list[str]) -> list[tuple[int, str, str]]:
    """(zone, key, value) in order; zone 2 is quoted text and anything below an older mail's separator. Labels in
    the engineer's own words count above the signature only."""
    found, zone, i, signed = [], 0, 0, False
    while i < len(lines):
        if _is_separator(lines, i):
            zone, i, signed = 2, i + 1, False  # an older mail's own signature is further down
            continue
        signed = signed or bool(_SIGNATURE.match(lines[i].strip()))
        quoted, hit, i = bool(_QUOTE.match(lines[i])), _label(lines[i]), i + 1
        if not hit or (hit[3] and signed):
            continue
        key, rest, row, checked = hit
        bulleted = bool(_BULLETED.match(_QUOTE.sub("", lines[i - 1])))
        parts = [rest] if rest.strip() or row else []
        j = i + (not parts and i < len(lines) and not lines[i].strip())  # "Label:", one blank line, the value
        runs_on = key in _MULTILINE and not row  # a table row is whole
        while j < len(lines) and bool(_QUOTE.match(lines[j])) == quoted and not (parts and not runs_on):
            line = _QUOTE.sub("", lines[j]).strip()
            if not line or _label(line) or _is_separator(lines, j) or _SIGNOFF.match(line):
                break
            if bulleted and parts and _BULLETED.match(line):  # "・最近の変更：なし", then "・連絡先：..."
                break
            parts.append(line)
            j += 1
        value = _value(parts)
        if checked and value and not item_words.plausible(key, value):
            continue  # "Update: still failing" is no list of changes; the lines after are read again
        i = j if parts else i
        found.append((2 if quoted else zone, key, value))
    return found


_PROSE_CHARS = 20_000


def _answered(hit: tuple[str, str, bool, bool] | None) -> bool:
    """A label line, not prose: in a known form, or in own words with a plausible value (or its value below)."""
    return hit is not None and (not hit[3] or not hit[1].strip() or item_words.plausible(hit[0], _value([hit[1]])))


def _paragraphs(lines: list[str]) -> list[tuple[str, bool]]:
    """The mail's own text for sentences: above any older mail and the signature, no quotes; running lines join
    into one paragraph (prose True), a label line or table row is a paragraph of its own (prose False)."""
    own: list[str] = []
    size = 0
    for line in lines:  # beyond _PROSE_CHARS: pasted logs, not the engineer's words
        if size >= _PROSE_CHARS:
            break
        own.append(line[:_PROSE_CHARS])
        size += len(line) + 1
    out: list[tuple[str, bool]] = []
    run: list[str] = []
    for i, line in enumerate([*own, ""]):
        text = line.strip()
        end = i < len(own) and (_is_separator(own, i) or bool(_SIGNATURE.match(text)))
        hit = _label(line) if text and not _QUOTE.match(line) else None
        label = bool(text) and not _QUOTE.match(line) and ("\t" in line or _answered(hit))
        if run and (end or label or not text or _QUOTE.match(line)):
            out.append((" ".join(run).replace(" \n", "\n"), True))
            run = []
        if end:
            break
        if label:
            out.append((text, False))
        elif text and not _QUOTE.match(line):
            run.append(text if not run or len(run[-1]) >= 60 else "\n" + text)  # a short line was not wrapped
    return out


def extract(text: str, html: str) -> dict[str, str]:
    """The SOP items in a mail body, by item key: from labelled lines ("Label: value", a label with its value on the
    next line, label/value table rows), in the SOP's words or the engineer's own, then from the mail's own sentences
    ("The first error was at 11:10 GMT", "Our partner id is Acme").

    Labelled values above any quote or older mail's separator win, then sentences of the mail's own text (never a
    quote, an older mail or the signature); labelled values below only fill gaps (a forwarded T1 carries its items
    there). Within each part the first value top to bottom wins, the HTML (tables: the structured form) first.
    """
    html_part = html_lines(html) if html else []
    text_part = (text or "").splitlines()
    hits = _scan(html_part) + _scan(text_part)
    for part in (html_part, text_part):
        hits += [(1, key, _value([value])) for key, value in item_sentences.find(_paragraphs(part)).items()]
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
