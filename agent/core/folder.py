"""What a watched folder holds, as records: how far it was read, and one mail fetched from it."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class FolderState:
    """How far a folder was read: every UID up to `last_uid` under this UIDVALIDITY."""

    uidvalidity: int
    last_uid: int


@dataclass(frozen=True)
class Fetched:
    folder: str
    uid: int
    uidvalidity: int
    raw: bytes
    internaldate: datetime | None
    size: int
    truncated: bool  # over max_message_bytes: only the header was fetched
