"""Subjects as thread evidence: the last-resort subject key, and the vendor's case ids. Pure.

Case systems (Salesforce Email-to-Case, ServiceNow, Zendesk, AWS-style support tools) answer with tags wrapped
around the subject and often without In-Reply-To/References: `[Case 17239946151] RE: API down [ ref:_00D…:ref ]`.
Mail gateways add `[EXTERNAL]`; clients write their reply prefix in their own language (`AW:`, `SV:`, `回复：`).
The subject key drops all of that, wherever it stands, so that the vendor's answer still finds its T1; the rule
that uses the key (`classify.find_thread`) still asks for a participant in common and a day's window.

A case id is stronger evidence than a subject: once the vendor's case system has filed the incident under one,
any later mail that carries it belongs to that incident (`classify.find_thread`, right after the headers).
"""

import functools
import re
import unicodedata

MAX_CASE_IDS = 20  # per text: bounds the lookup, and a quoted archive of old cases proves nothing

# The default [escalation] case_id_patterns: each has exactly one group, the id. Digits-only ids need four or more,
# so that "case 2" in a sentence is not taken for a case system's number.
CASE_ID_PATTERNS: tuple[str, ...] = (
    r"(ref:[_!][0-9A-Za-z]+[._!]+[0-9A-Za-z]+:ref)",  # Salesforce Email-to-Case Ref ID (`!` since Winter '24)
    r"(thread::[0-9A-Za-z_-]+::)",  # Salesforce Lightning threading token
    r"\[(?i:case)\s*#?\s*(\d{4,})\]",  # [Case 17239946151]: AWS-style support, Salesforce templates
    r"\((?i:case)\s*#?\s*(\d{4,})\)",  # (Case 00012345)
    r"\b(?i:case)\s*(?:#|:)\s*(\d{4,})\b",  # CASE:00012345, Case #00012345
    r"\b(INC\d{7,})\b",  # ServiceNow incident number
    r"\bRef:(MSG\d+)\b",  # ServiceNow reply watermark
    r"\[(?i:ticket)\s*#\s*(\d+)\]",  # [Ticket#123456]: Zendesk/OTRS-style
)

# What case systems and mail gateways wrap around a subject. Removed wherever it stands; NFKC has already turned
# full-width brackets and colons into ASCII ones.
_TAGS = re.compile(
    r"""
    \[\s*ref:[^\[\]]*?:ref\s*\]                  # Salesforce Ref ID, as its templates bracket it
    | \bref:[_!][\w.!]+?:ref\b                   # ... and bare
    | \[\s*thread::[^\[\]]*?::\s*\]              # Salesforce Lightning threading token
    | \bthread::[\w-]+::
    | [\[(]\s*(?:case|ticket|incident|request|req|sr)\s*(?:\#|:|no\.?|nr\.?|-)?\s*\d+\s*[\])]  # [Case N], (Case N)
    | \[[^\[\]]{0,40}\#\s*\d+\s*\#*\s*\]         # [Ticket#N], [#N], [rt.example.test #N], Zoho's [## N ##]
    | \bcase\s*(?:\#|:|no\.|nr\.)\s*\d+\b        # CASE:N, Case #N
    | \b(?:inc|ritm|req|cs|prb|chg|sctask|task)\d{7,}\b   # ServiceNow record numbers: INC0012345
    | \bref:msg\d+\b                             # ServiceNow watermark: Ref:MSG0012345
    | [\[(]\s*(?:ext|external)(?:\s+(?:email|e-mail|sender|message|mail))?\s*[\])]  # [EXTERNAL], (External)
    | \*+\s*external\s*\*+                       # *EXTERNAL*
    | (?<!\w)(?:ext|external)\s*:                # EXT:, EXTERNAL:
    """,
    re.IGNORECASE | re.VERBOSE,
)
# Reply and forward prefixes as clients write them, with counters (`Re[2]:`, `RE(3):`, `Re^2:`) and the old
# bracketed forward (`[Fwd: ...]`). Latin ones only at a word's start: "Store:" is not "re:".
_PREFIX = re.compile(
    r"""
    (?:\[\s*)?(?<!\w)
    (?:re|fwd?|aw|wg|tr|sv|vs|antw|odp|rif|r|réf|res|enc|rv|pd|doorst|ynt|ilt)
    \s*(?:\[\d+\]|\(\d+\)|\^\d+)?\s*:
    | (?:回复|回覆|答复|答覆|转发|轉寄|返信|転送|회신|전달)\s*:
    """,
    re.IGNORECASE | re.VERBOSE,
)
_SEPARATOR = re.compile(r"[-–—|:;,/.]+")  # what is left between a removed tag and the text, "INC0012345 - API down"


def normalise_subject(subject: str) -> str:
    """`[Case 17239946151] RE: AW: API down [ ref:_00D…:ref ]` -> `api down`: the thread key of last resort."""
    return _strip(subject)[0]


def is_reply(subject: str) -> bool:
    """Does the subject carry a reply or forward prefix anywhere? A mail to the urgent line without one is a fresh
    T1, however much its subject looks like an earlier incident's."""
    return _strip(subject)[1]


def has_case_tag(subject: str) -> bool:
    """Does the subject carry a case system's tag (`[Case 12345678]`, `[#123]`, `INC0012345`, a Salesforce Ref)?
    A gateway's `[EXTERNAL]` is no case tag."""
    for m in _TAGS.finditer(unicodedata.normalize("NFKC", subject or "")):
        tag = m.group().lower()
        if any(ch.isdigit() for ch in tag) or "ref:" in tag or "thread::" in tag:
            return True
    return False


def _strip(subject: str) -> tuple[str, bool]:
    text = _TAGS.sub(" ", unicodedata.normalize("NFKC", subject or ""))
    text, prefixes = _PREFIX.subn(" ", text)
    kept: list[str] = []
    for token in text.casefold().split():
        if _SEPARATOR.fullmatch(token) and (not kept or _SEPARATOR.fullmatch(kept[-1])):
            continue  # at the start, or doubled where a tag stood between two separators
        kept.append(token)
    while kept and _SEPARATOR.fullmatch(kept[-1]):
        kept.pop()
    key = " ".join(kept)
    if key.endswith("]") and "[" not in key:  # the close of an old-style "[Fwd: subject]"
        key = key[:-1].rstrip()
    return key, prefixes > 0


@functools.lru_cache(maxsize=16)
def compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """The patterns, compiled once per configuration (config.py has checked each compiles, with one group)."""
    return tuple(re.compile(p) for p in patterns)


def case_ids(text: str, patterns: tuple[str, ...]) -> tuple[str, ...]:
    """The case ids in `text`, in the order they stand (the newest words come first in a reply), each once."""
    found: list[tuple[int, str]] = []
    for pattern in compiled(patterns):
        for m in pattern.finditer(text or ""):
            value = (m.group(1) or "").strip()
            if value:
                found.append((m.start(1), value))
            if len(found) >= 4 * MAX_CASE_IDS:  # a hostile body full of ids: enough to decide by
                break
    ordered = dict.fromkeys(value for _, value in sorted(found))
    return tuple(ordered)[:MAX_CASE_IDS]
