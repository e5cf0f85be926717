"""What the IMAP session asks and is answered, as plain values: the fetch items, the SEARCH keys, a folder's
chunk, and the pieces of FETCH and IDLE responses. Imports no socket (agent.adapters.imap holds the session)."""

from dataclasses import dataclass
from functools import reduce

from agent.core.reading.folder import HEADER_FIELDS, Fetched, FolderState, Involved

MESSAGE_ID_FIELD = "HEADER.FIELDS (MESSAGE-ID)"
CLASSIFIED_FIELDS = f"HEADER.FIELDS ({' '.join(f.upper() for f in HEADER_FIELDS)})"
# Of a recent mail over max_message_bytes, its beginning: the whole header block and, in every client's layout, its
# text before its attachments. A T1 so fetched still has its items read, and an escalation attaches its header and
# text, naming what was left out (agent.core.writing.attach).
LARGE_PREFIX = 2 * 1024 * 1024
CHUNK = 500  # UIDs per FETCH: Dovecot refuses very long commands (20,000 failed, 5,000 worked)


@dataclass(frozen=True)
class FolderSync:
    """What a folder holds beyond what we stored: `reset` when its UIDVALIDITY changed."""

    folder: str
    state: FolderState
    uids: list[int]
    reset: bool


@dataclass(frozen=True)
class Chunk:
    """One FETCH's worth of a folder: the UIDs asked for, the mails fetched of them (an expunged one is missing),
    and how many old ones the server passed over (`Involved`)."""

    uids: list[int]
    mails: list[Fetched]
    passed_over: int = 0


def any_of(involved: Involved) -> list:
    """One SEARCH key true of a mail that `involved` says must be read (agent.core.reading.folder.Involved):
    `OR OR ... FROM a TO a ... HEADER X-Escalation-Agent-Provenance ""`."""
    keys = [[field, who] for who in involved.addresses for field in ("FROM", "TO", "CC")]
    keys.append(["HEADER", involved.header, ""])
    return reduce(lambda either, key: ["OR", either, key], keys[1:], keys[0])


def fields_item(data: dict) -> bytes:
    """The `BODY[HEADER.FIELDS (...)]` item of one FETCH answer: the server echoes the names, in its own case."""
    return bytes(next((v for k, v in data.items() if k.startswith(b"BODY[HEADER.FIELDS")), b"") or b"")


def beginning_item(data: dict) -> bytes:
    """The `BODY[]<0>` item of a partial FETCH answer."""
    return bytes(next((v for k, v in data.items() if k.startswith(b"BODY[]")), b"") or b"")


def is_bye(answer) -> bool:
    return isinstance(answer, tuple) and answer[:1] == (b"BYE",) or answer == (b"BYE",)


def is_news(answer) -> bool:
    """An untagged `* N EXISTS` (or RECENT): something arrived in the folder."""
    return isinstance(answer, tuple) and len(answer) >= 2 and answer[1] in (b"EXISTS", b"RECENT")
