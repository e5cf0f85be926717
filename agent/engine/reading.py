"""Reading the watched folders: what is new, every cycle, and a backlog of old mail, a slice at a time.

A first start over years of mail, or a folder the server renumbered, is mostly old mail: mail that reached the
server before `whole_after`, which can neither open an escalation nor answer or steer a live incident (all of that
is written after a live T1). So the recent part of such a folder is read first, in full; the old rest becomes a
backlog, read for at most a slice of time after each cycle has decided and sent. Incidents already known keep
their deadlines while it is read, and the cycle's check-then-act re-read takes in what is new above the backlog.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from agent.adapters.imap import Mailbox
from agent.adapters.imap_items import CHUNK, FolderSync
from agent.adapters.sqlite import sqlite3
from agent.adapters.store import Store
from agent.core.errors import why
from agent.core.reading.folder import Fetched, FolderState, Involved, passed_over_before, split_known, whole_after
from agent.core.reading.mail import bytes_message_id, header_message_id, parse
from agent.core.settings import Config
from agent.core.sop import Tier
from agent.engine.ingest import ingest
from agent.engine.progress import Progress

log = logging.getLogger("agent.service")

SLICE = 0.5  # seconds of backlog a cycle reads: how late a deadline can be acted on while a backlog is read
SPLIT_OVER = 2 * CHUNK  # a sync of more mails than this reads the recent ones first, and the rest as a backlog


def slice_budget(budget: float | None, next_deadline: datetime | None, now: datetime) -> float | None:
    """How long a cycle may read its backlog: `budget` seconds (None: all of it), cut short by the next deadline,
    so a deadline waits for one chunk at most."""
    if budget is None or next_deadline is None:
        return budget
    return min(budget, max(0.0, (next_deadline - now).total_seconds()))


@dataclass
class Backlog:
    """A folder's old mail still to be read. `state` is where the reading of new mail goes on from: the folder's
    UIDVALIDITY, and every UID above the backlog up to `state.last_uid` read."""

    folder: str
    state: FolderState
    uids: list[int]  # still to be read, oldest first
    progress: Progress
    renumbered_from: FolderState | None = None  # a re-map: the stored state (old UIDVALIDITY) until the end
    counts: dict[str, int] = field(default_factory=lambda: {"known": 0, "new": 0, "passed": 0})  # a re-map's


class Reader:
    def __init__(self, config: Config, store: Store, mailbox: Mailbox, tick: Callable[[], None], after_chunk):
        self.config, self.store, self.mailbox, self.tick = config, store, mailbox, tick
        self.after_chunk = after_chunk  # inside each chunk's transaction (drills are marked there)
        self.backlogs: dict[str, Backlog] = {}
        rules = config.escalation
        ladders = [rules.tier_address(t) for t in Tier]
        if rules.drill is not None:
            ladders += [rules.drill.tier_address(t) for t in Tier]
        involved = Involved.of(ladders, config.smtp.from_address)
        self.involved = involved if config.imap.narrow_old_mail else None
        self._begun: set[str] = set()  # folders read since this process started
        self._refusal_told = False

    def backlog_left(self) -> int:
        return sum(len(b.uids) for b in self.backlogs.values())

    def progress(self) -> dict[str, str]:
        """Each folder with a backlog: `first sync INBOX 34,000 / 50,000`."""
        return {f: _progress(b) for f, b in self.backlogs.items()}

    # -- what is new --------------------------------------------------------------------------------
    def new(self, now: datetime) -> int:
        """Read what is new in every folder, in full; a long first sync or a re-map leaves its old part as a
        backlog. Returns how many mails were new."""
        return sum(self._new_in(folder, now) for folder in self.config.imap.folders)

    def _new_in(self, folder: str, now: datetime) -> int:
        if folder not in self._begun:  # a backlog of a process that stopped midway is no longer being read
            self._begun.add(folder)
            self.store.set_reading(folder, None)
        stored = self.store.folder_state(folder)
        backlog = self.backlogs.get(folder)
        pending = self.mailbox.pending(folder, backlog.state if backlog else stored)
        if pending.reset and backlog is not None:  # renumbered again while its backlog was read: start over
            del self.backlogs[folder]
            backlog = None
            pending = self.mailbox.pending(folder, stored)
        if pending.reset and stored is not None:  # always so: a reset is a change from the stored UIDVALIDITY
            return self._renumbered(pending, stored, now)
        what = f"first sync {folder}" if stored is None else f"sync {folder}"
        if backlog is None and len(pending.uids) > SPLIT_OVER:
            recent, old = self._split(pending, now)
            if old:
                state = FolderState(pending.state.uidvalidity, pending.uids[-1])
                backlog = Backlog(folder, state, old, Progress(what, len(old), self.tick))
                with self.store.transaction():  # true already: every UID below the backlog's first is read
                    self.store.set_folder_state(folder, FolderState(state.uidvalidity, old[0] - 1), now)
                    self.store.set_reading(folder, _progress(backlog))
                log.info("%s: %s recent mails first, then %s older ones", what, len(recent), len(old))
                new = self._read(FolderSync(folder, pending.state, recent, False), now, persist=False, narrow=True)
                self.backlogs[folder] = backlog  # once its recent part is read: a failure midway starts over
                return new
        if backlog is not None:
            new = self._read(pending, now, persist=False)
            backlog.state = FolderState(backlog.state.uidvalidity, max(pending.uids, default=backlog.state.last_uid))
            return new
        progress = Progress(what, len(pending.uids), self.tick)
        new = self._read(pending, now, persist=True, progress=progress, narrow=stored is None)
        if stored != pending.state and not pending.uids:
            self.store.set_folder_state(folder, pending.state, now)
        if stored is None:
            with self.store.transaction():
                self.record_passed_over(folder, now)
        return new

    def _split(self, pending: FolderSync, now: datetime) -> tuple[list[int], list[int]]:
        """(recent, old) of the pending UIDs: the recent part from the first that reached the server on or after
        the day before `whole_after` (SEARCH SINCE counts whole days, in the server's zone). A mail copied in later
        with an old date sits among the recent ones: it is still fetched without its body."""
        since = passed_over_before(self._whole_after(now))
        found = self.mailbox.uids_since(pending.folder, pending.uids[0], since)
        first = min(found, default=pending.uids[-1] + 1)
        return [u for u in pending.uids if u >= first], [u for u in pending.uids if u < first]

    def _read(
        self, sync: FolderSync, now: datetime, *, persist: bool, progress: Progress | None = None, narrow: bool = False
    ) -> int:
        """Fetch and ingest these UIDs. With `persist`, each chunk's transaction also stores how far the folder
        was read (one fsync a chunk; each mail a savepoint inside it, so a mail that fails is quarantined alone).
        With `narrow` (a first sync, a backlog), the server passes over the old mail `Involved` says need not be
        read, counted in the same transaction. `progress` says how far a long read is, every few seconds."""
        new = done = 0
        cutoff, max_bytes = self._whole_after(now), self.config.agent.max_message_bytes
        for chunk in self.mailbox.fetch(sync, max_bytes, cutoff, self.involved if narrow else None):
            with self.store.transaction():
                for fetched in chunk.mails:
                    new += self.ingest_one(fetched, now)
                self.after_chunk()
                if persist:  # every UID asked for is read now: fetched, passed over, or expunged
                    last = chunk.uids[-1] if chunk.uids else sync.state.last_uid
                    self.store.set_folder_state(sync.folder, FolderState(sync.state.uidvalidity, last), now)
                if chunk.passed_over:
                    self.store.add_passed_over(sync.folder, chunk.passed_over)
            self._tell_refusal()
            self.tick()
            done += len(chunk.uids)
            if progress is not None:
                progress.advance(done)
        return new

    def _tell_refusal(self) -> None:
        """Once: the server refused the SEARCH that passes over old mail, so every old mail is read (as before)."""
        if self.mailbox.narrowing_refused and not self._refusal_told:
            self._refusal_told = True
            log.warning(
                "the IMAP server refused the SEARCH that passes over old mail (%s): every old mail's header fields "
                "are read instead; [imap] narrow_old_mail = false stops asking",
                self.mailbox.narrowing_refused,
            )

    def record_passed_over(self, folder: str, now: datetime, remapped: int = 0) -> None:
        """The audit's line for the old mail of `folder` the server passed over since the last one, if any; inside
        the transaction that ends the folder's read. `remapped`: a re-map's own count."""
        count = self.store.take_passed_over(folder) + remapped
        if count:
            before = passed_over_before(self._whole_after(now))
            self.store.event(
                now,
                "old_mail_passed_over",
                f"{folder}: {count:,} mails from before {before:%Y-%m-%d} not fetched",
                None,
                "they name neither the urgent line, a tier address nor this agent, nor carry its provenance stamp: "
                "such old mail can no longer open, answer or steer an incident (docs/benchmarks.md)",
            )
            log.info("old mail passed over folder=%s count=%s before=%s", folder, count, before)

    # -- the backlog ----------------------------------------------------------------------------------
    def read_backlog(self, now: datetime, budget: float | None) -> int:
        """Read backlog chunks for about `budget` seconds (None: all of it). Returns how many mails were new."""
        end = None if budget is None else time.monotonic() + budget
        new = 0
        for folder in list(self.backlogs):
            if end is not None and time.monotonic() >= end:
                break
            backlog = self.backlogs[folder]
            if self.mailbox.select(folder) != backlog.state.uidvalidity:
                del self.backlogs[folder]  # renumbered meanwhile: the next read of what is new starts over
                continue
            before = len(backlog.uids)
            while backlog.uids and (end is None or time.monotonic() < end):
                chunk = backlog.uids[:CHUNK]
                if backlog.renumbered_from is not None:
                    new += self._remap(backlog, chunk, now)
                else:  # an expunged chunk must not move the folder state past the rest: it ends below the chunk
                    sync = FolderSync(folder, FolderState(backlog.state.uidvalidity, chunk[0] - 1), chunk, False)
                    new += self._read(sync, now, persist=True, narrow=True)
                backlog.uids = backlog.uids[len(chunk) :]  # only once read: a chunk that failed is read again
                backlog.progress.advance(backlog.progress.total - len(backlog.uids))
            if not backlog.uids:
                self._finish(backlog, now)
            elif len(backlog.uids) < before:  # once a slice, not a chunk: each such write is an fsync of its own
                self.store.set_reading(folder, _progress(backlog))  # for `status`, another process
        return new

    def _finish(self, backlog: Backlog, now: datetime) -> None:
        with self.store.transaction():
            if backlog.renumbered_from is not None:  # the one event, with the state that ends the re-map
                old, new = backlog.renumbered_from.uidvalidity, backlog.state.uidvalidity
                self.store.event(
                    now,
                    "mailbox_reset",
                    f"{backlog.folder}: UIDVALIDITY {old} -> {new}; re-mapped by Message-ID: "
                    f"{backlog.counts['known']} known, {backlog.counts['new']} new",
                    None,
                    "the server renumbered the folder; only mail never seen was fetched in full",
                )
                log.info("re-mapped folder=%s known=%s new=%s", backlog.folder, *backlog.counts.values())
            self.store.set_folder_state(backlog.folder, backlog.state, now)
            self.store.set_reading(backlog.folder, None)
            self.record_passed_over(backlog.folder, now, backlog.counts["passed"])
        self.backlogs.pop(backlog.folder, None)

    # -- a renumbered folder --------------------------------------------------------------------------
    def _renumbered(self, pending: FolderSync, stored: FolderState, now: datetime) -> int:
        """The server renumbered the folder (a new UIDVALIDITY: every stored UID of it is void). Its mails are
        matched to the stored ones by Message-ID, fetched alone; only mail never seen is fetched in full and
        ingested, so nothing is re-opened, re-sent or re-told. The recent part is re-mapped now, the rest as a
        backlog. The stored state keeps the old UIDVALIDITY until the end: a crash midway repeats the re-map, and
        each step is safe to repeat (a row re-mapped again, a mail ingested once by its Message-ID)."""
        folder = pending.folder
        log.warning(
            "UIDVALIDITY changed folder=%s %s -> %s; re-mapping %s mails by Message-ID",
            folder,
            stored.uidvalidity,
            pending.state.uidvalidity,
            len(pending.uids),
        )
        recent, old = self._split(pending, now) if len(pending.uids) > SPLIT_OVER else (pending.uids, [])
        with self.store.transaction():  # what a read under the old numbering passed over, the re-map counts again
            self.store.take_passed_over(folder)
        state = FolderState(pending.state.uidvalidity, max(pending.uids, default=0))
        backlog = Backlog(folder, state, old, Progress(f"re-map {folder}", len(old), self.tick), stored)
        new = sum(self._remap(backlog, recent[i : i + CHUNK], now) for i in range(0, len(recent), CHUNK))
        if old:
            self.backlogs[folder] = backlog
        else:
            self._finish(backlog, now)
        return new

    def _remap(self, backlog: Backlog, uids: list[int], now: datetime) -> int:
        """Re-map one chunk of a renumbered folder: known mails' rows take their new UIDs, the rest is ingested.
        A mail without a Message-ID is fetched whole, for its id made by an older version too (of its bytes). Old mail
        the server passes over is not even asked for its Message-ID: a row an earlier version recorded of such mail
        keeps its former UID and UIDVALIDITY, which say it is of the old numbering."""
        folder, validity, cutoff = backlog.folder, backlog.state.uidvalidity, self._whole_after(now)
        chunk = FolderSync(folder, backlog.state, uids, True)
        passed = self.mailbox.passed_over(chunk, cutoff, self.involved) if self.involved else set()
        self._tell_refusal()
        known = fresh = new = 0
        for ids in self.mailbox.message_ids(replace(chunk, uids=[u for u in uids if u not in passed])):
            pairs = [(uid, header_message_id(value)) for uid, value in ids]
            with self.store.transaction():
                plan = split_known(pairs, self.store.known_message_ids([i for _, i in pairs if i is not None]))
                self.store.remap_messages(folder, validity, list(plan.known))
            known += len(plan.known)
            with_id = [u for u in plan.unknown if u not in plan.without_id]
            for part, old_before in ((with_id, cutoff), (sorted(plan.without_id), None)):
                unknown = FolderSync(folder, backlog.state, part, True)
                for batch in self.mailbox.fetch(unknown, self.config.agent.max_message_bytes, old_before):
                    with self.store.transaction():
                        for fetched in batch.mails:
                            seen = self._seen_without_id(fetched) if fetched.uid in plan.without_id else None
                            if seen is not None:
                                self.store.remap_messages(folder, validity, [(fetched.uid, seen)])
                                known += 1
                                continue
                            fresh += 1
                            new += self.ingest_one(fetched, now)
                        self.after_chunk()
            self.tick()
        backlog.counts["known"] += known  # once the chunk is through: a chunk read again is not counted twice
        backlog.counts["new"] += fresh
        backlog.counts["passed"] += len(passed)
        return new

    def _seen_without_id(self, fetched: Fetched) -> str | None:
        """The id under which a mail without a Message-ID was recorded, if it was."""
        for candidate in (parse(fetched.raw, headers_only=True).message_id, bytes_message_id(fetched.raw)):
            if self.store.has_message(candidate):
                return candidate
        return None

    # -- one mail -------------------------------------------------------------------------------------
    def ingest_one(self, fetched: Fetched, now: datetime) -> int:
        try:
            return 1 if ingest(self.store, fetched, self.config, now) else 0
        except sqlite3.Error:
            raise  # the database, not the mail: the cycle fails and the mail is read again next time
        except Exception as e:  # one bad mail must never stop the cycle
            reason = why(e)
            self.store.event(
                now, "quarantined", f"{fetched.folder} UID {fetched.uid} could not be processed", None, reason
            )
            log.error("mail quarantined folder=%s uid=%s: %s", fetched.folder, fetched.uid, reason)
            return 0

    def _whole_after(self, now: datetime) -> datetime:
        return whole_after(now, self.config.agent.max_incident_age, self.store.oldest_awaiting_t1())


def _progress(backlog: Backlog) -> str:
    return f"{backlog.progress.what} {backlog.progress.total - len(backlog.uids):,} / {backlog.progress.total:,}"
