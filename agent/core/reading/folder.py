"""What a watched folder holds, as records: how far it was read, and one mail fetched from it."""

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from agent.core import sop
from agent.core.reading import automatic, provenance
from agent.core.reading.message_ids import ORIGINAL_MESSAGE_ID_HEADERS

# The header fields a mail is classified and threaded by (agent.core.reading.mail, .automatic, .trust): all that is
# fetched of a mail that can no longer open an escalation. tests/test_folder.py reads the field corpus both ways.
HEADER_FIELDS = tuple(
    dict.fromkeys(
        (
            "Message-ID",
            "From",
            "To",
            "Cc",
            "Date",
            "Subject",
            "In-Reply-To",
            "References",
            "Thread-Index",
            *ORIGINAL_MESSAGE_ID_HEADERS,
            "Authentication-Results",
            *automatic.FIELDS,
            provenance.HEADER,  # what the agent's own mail was: read from mail fetched without its body too
        )
    )
)
# Why a mail was fetched without its body (`Fetched.header_only`): it can no longer matter, or its beginning only.
OLD = "older than max_incident_age"
LARGE = "over max_message_bytes"
# INTERNALDATE is the server's clock and `now` ours: an hour of disagreement still fetches a mail whole.
CLOCK_SKEW = timedelta(hours=1)


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
    header_only: str | None = None  # why only header fields were fetched (old, or too large); None: the whole mail


def whole_after(now: datetime, max_incident_age: timedelta, oldest_awaiting: datetime | None = None) -> datetime:
    """Mail that reached the server before this is fetched without its body, and read after what is newer.

    Such mail can neither open an escalation nor answer or steer an incident still awaiting a response. A T1
    counts from its Date, or its INTERNALDATE when the Date is implausible, and a Date is believed up to
    DATE_AHEAD_TOLERANCE after it: a T1 this old is older than max_incident_age however it is read, so it is
    recorded `stale`. What answers or steers an incident is written after its T1: the cutoff goes back to the
    oldest T1 still awaiting a response (`oldest_awaiting`), as after a long outage of the agent itself."""
    cutoffs = [now - max_incident_age] + ([oldest_awaiting] if oldest_awaiting is not None else [])
    return min(cutoffs) - sop.DATE_AHEAD_TOLERANCE - CLOCK_SKEW


@dataclass(frozen=True)
class Involved:
    """Which old mail is read at all (docs/benchmarks.md, "Old mail the server passes over").

    Mail older than `whole_after` can only be recorded: a T1 as `stale`, the rest in a stale incident's thread or in
    none; none of it can open, answer or steer a live incident. What a later mail's reading may still ask of it is
    a stale T1 (a revived old thread finds it by its Message-ID, which every reply's References carries, and does not
    open a new incident) and what the agent itself sent (its provenance). So old mail is fetched only when it names
    the escalation ladder, an address of the urgent line, a tier or this agent, or carries the provenance stamp. The
    rest, our people among themselves, newsletters, alerts and the vendor's other mail, is passed over by the server:
    SEARCH FROM/TO/CC are substring matches, so it may keep more, never less."""

    addresses: tuple[str, ...]  # the urgent line's, the tier addresses, the drill ladder's, this agent's own From
    header: str = provenance.HEADER

    @classmethod
    def of(cls, ladders: Iterable[str], own: str) -> "Involved":
        return cls(tuple(dict.fromkeys(a for a in (*ladders, own) if a)))


def passed_over_before(whole_after_: datetime) -> date:
    """Old mail is passed over only before this day (SEARCH BEFORE counts whole days, in the server's zone): the day
    before `whole_after`'s, as the recent part of a long sync is split off (agent.engine.reading)."""
    return (whole_after_ - timedelta(days=1)).date()


@dataclass(frozen=True)
class Remap:
    """One chunk of a renumbered folder matched to the stored mails by Message-ID."""

    known: tuple[tuple[int, str], ...]  # (its new UID, its Message-ID): recorded before, only its row re-mapped
    unknown: tuple[int, ...]  # never seen, or without a Message-ID: fetched in full
    without_id: frozenset[int]  # of `unknown`, those without a Message-ID: their id is made from their header fields


def split_known(ids: Iterable[tuple[int, str | None]], seen: Collection[str]) -> Remap:
    """(UID, Message-ID or None) of a renumbered folder, and the Message-IDs of those already recorded."""
    known: list[tuple[int, str]] = []
    unknown: list[int] = []
    without: set[int] = set()
    for uid, message_id in ids:
        if message_id is not None and message_id in seen:
            known.append((uid, message_id))
        else:
            unknown.append(uid)
            if message_id is None:
                without.add(uid)
    return Remap(tuple(known), tuple(unknown), frozenset(without))


def progress_line(what: str, done: int, total: int, seconds: float) -> str:
    """`first sync INBOX: 34,000 / 50,000 mails, 350 a second, about 46 s left`: for the log and systemd's STATUS."""
    rate = done / seconds if seconds > 0 else 0.0
    line = f"{what}: {done:,} / {total:,} mails, {rate:,.0f} a second"
    if rate > 0 and done < total:
        left = (total - done) / rate
        line += f", about {left:,.0f} s left" if left < 120 else f", about {left / 60:,.0f} min left"
    return line
