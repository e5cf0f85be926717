"""The IMAP session: read-only, incremental by UID, one class behind a connection factory."""

import imaplib
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime

import imapclient
from imapclient.exceptions import IMAPClientError, LoginError

from agent.adapters.imap_connect import connect, quietly
from agent.adapters.imap_items import (
    CHUNK,
    CLASSIFIED_FIELDS,
    LARGE_PREFIX,
    MESSAGE_ID_FIELD,
    Chunk,
    FolderSync,
    any_of,
    beginning_item,
    fields_item,
    is_bye,
    is_news,
)
from agent.core.errors import AgentError, MailboxError, one_line
from agent.core.reading.folder import LARGE, OLD, Fetched, FolderState, Involved, passed_over_before
from agent.core.reading.message_ids import ORIGINAL_MESSAGE_ID_HEADERS
from agent.core.settings import ImapConfig
from agent.core.times import aware_utc


class Mailbox:
    """The watched mailbox. Opened with EXAMINE and read with BODY.PEEK: people never see a change."""

    def __init__(self, config: ImapConfig, factory: Callable[[ImapConfig], imapclient.IMAPClient] = connect):
        self.config = config
        self.factory = factory
        self.client: imapclient.IMAPClient | None = None
        self._uidnext: dict[str, int] = {}  # per folder, as the last sync saw it
        self._selected: str | None = None  # the folder this connection has EXAMINEd
        self._validity = 0  # and its UIDVALIDITY
        # What the server said when it refused the SEARCH that passes over old mail: from then on none is passed over
        self.narrowing_refused: str | None = None

    @property
    def where(self) -> str:
        return f"IMAP server {self.config.host}:{self.config.port}"

    def close(self) -> None:
        if self.client is not None:
            quietly(self.client.logout)
            self.client = None
            self._selected = None

    def _call(self, what: str, fn, *args):
        """Run one IMAP step; any failure drops the connection and becomes one MailboxError sentence."""
        try:
            if self.client is None:
                self.client = self.factory(self.config)
            return fn(self.client, *args)
        except LoginError:
            self.close()
            raise MailboxError(f"{self.where} refused the login for {self.config.username}") from None
        except AgentError as e:  # the OAuth2 token command failed
            self.close()
            raise MailboxError(str(e)) from None
        except (TimeoutError, OSError, IMAPClientError, imaplib.IMAP4.error, ValueError, ConnectionError) as e:
            self.close()
            detail = getattr(e, "strerror", None) or str(e) or type(e).__name__
            raise MailboxError(f"{self.where}: {what} failed ({one_line(detail)})") from None

    def _examine(self, client, folder: str) -> dict:
        self._selected = None  # a failed EXAMINE leaves no folder selected (RFC 3501 6.3.1)
        info = client.select_folder(folder, readonly=True)
        self._selected, self._validity = folder, int(info[b"UIDVALIDITY"])
        if info.get(b"UIDNEXT") is not None:
            self._uidnext[folder] = int(info[b"UIDNEXT"])
        return info

    def check(self) -> list[str]:
        """Log in and examine every folder; a line per folder for `escalation-agent check`."""

        def examine_all(client):
            lines = [f"{f}: {self._examine(client, f)[b'EXISTS']} messages" for f in self.config.folders]
            # Offered is not proof that it announces new mail (stock Cyrus without idled never does): what the
            # running agent saw of it is in the audit log, and `check` says that below this line.
            return [*lines, f"IDLE {'offered' if client.has_capability('IDLE') else 'not offered'}"]

        return self._call("examining the folders", examine_all)

    @staticmethod
    def _uids_after(client, last: int) -> list[int]:
        # `N:*` always matches the highest UID, even when it is not new: filter.
        return sorted(u for u in client.search(["UID", f"{last + 1}:*"]) if u > last)

    def select(self, folder: str) -> int:
        """EXAMINE `folder` unless this connection has it selected; returns its UIDVALIDITY. For reading on in a
        folder (a backlog) after other folders were read."""

        def look(client):
            if self._selected != folder:
                self._examine(client, folder)
            return self._validity

        return self._call(f"examining {folder}", look)

    def uids_since(self, folder: str, first_uid: int, day: date) -> list[int]:
        """UIDs from `first_uid` on of mail that reached the server on `day` or later (SEARCH SINCE: the
        INTERNALDATE's day, in the server's zone). The folder must be selected, as `pending` leaves it."""
        return self._call(
            f"searching {folder}", lambda client: list(client.search(["UID", f"{first_uid}:*", "SINCE", day]))
        )

    def _new_in_selected(self, client, folder: str, after: int) -> list[int]:
        """UIDs above `after` in the folder this connection has selected. NOOP first: Dovecot answers SEARCH
        (and STATUS) from the session's view, which takes in new mail only when a command syncs it."""
        client.noop()
        uids = self._uids_after(client, after)
        self._uidnext[folder] = max(self._uidnext.get(folder, 0), (uids[-1] if uids else after) + 1)
        return uids

    def pending(self, folder: str, known: FolderState | None) -> FolderSync:
        """The UIDs beyond `known`; when there are any, the folder is left selected for `fetch`.
        Nothing new costs the same on 50,000 mails as on 1,000: NOOP and SEARCH on the folder that is
        already selected, STATUS on another. EXAMINE loads a folder's whole index (20 times slower on
        50,000 mails than on 1,000; docs/benchmarks.md), so it is sent only when there is mail to fetch."""

        def look(client):
            if known is not None and self._selected == folder and self._validity == known.uidvalidity:
                return FolderSync(folder, known, self._new_in_selected(client, folder, known.last_uid), False)
            if known is not None:
                status = client.folder_status(folder, [b"UIDNEXT", b"UIDVALIDITY"])
                if int(status[b"UIDVALIDITY"]) == known.uidvalidity and int(status[b"UIDNEXT"]) <= known.last_uid + 1:
                    self._uidnext[folder] = int(status[b"UIDNEXT"])
                    return FolderSync(folder, known, [], False)
            info = self._examine(client, folder)
            validity = int(info[b"UIDVALIDITY"])
            reset = known is not None and known.uidvalidity != validity
            last = 0 if known is None or reset else known.last_uid
            uidnext = info.get(b"UIDNEXT")
            if uidnext is not None and int(uidnext) <= last + 1 and not reset:
                return FolderSync(folder, FolderState(validity, last), [], False)  # nothing new: no SEARCH
            return FolderSync(folder, FolderState(validity, last), self._uids_after(client, last), reset)

        return self._call(f"reading folder {folder}", look)

    def fetch(
        self, sync: FolderSync, max_bytes: int, whole_after: datetime | None = None, involved: Involved | None = None
    ) -> Iterator[Chunk]:
        """The new mails of a folder, in chunks of CHUNK, oldest first. The folder must be selected. A mail that
        reached the server before `whole_after`, or is over `max_bytes`, comes without its body: only its header
        fields (`Fetched.header_only` says why). With `involved`, the server first passes over the old mail that
        `involved` says need not be read (agent.core.reading.folder.Involved): it is not fetched at all."""
        for i in range(0, len(sync.uids), CHUNK):
            chunk = sync.uids[i : i + CHUNK]
            yield self._call(
                f"fetching from {sync.folder}", self._fetch_narrowed, sync, chunk, max_bytes, whole_after, involved
            )

    def _fetch_narrowed(
        self, client, sync: FolderSync, uids: list[int], max_bytes: int, whole_after, involved: Involved | None
    ) -> Chunk:
        passed = self._narrowed(client, uids, whole_after, involved) if involved and whole_after else set()
        wanted = [u for u in uids if u not in passed]
        mails = self._fetch_chunk(client, sync, wanted, max_bytes, whole_after) if wanted else []
        return Chunk(uids, mails, len(passed))

    def passed_over(self, sync: FolderSync, whole_after: datetime, involved: Involved) -> set[int]:
        """Of `sync.uids` (one chunk), the old mail `involved` says need not be read: what a re-map need not fetch
        even the Message-ID of. The folder must be selected."""
        if not sync.uids:
            return set()
        return self._call(f"searching {sync.folder}", self._narrowed, sync.uids, whole_after, involved)

    def _narrowed(self, client, uids: list[int], whole_after: datetime, involved: Involved) -> set[int]:
        """`_uninvolved`, unless the server refused it once: a server that does not take the SEARCH key (a BAD or NO
        answer; the connection stays) has every old mail read, as with [imap] narrow_old_mail = false."""
        if self.narrowing_refused is not None:
            return set()
        try:
            return _uninvolved(client, uids, whole_after, involved)
        except imaplib.IMAP4.abort:
            raise  # the connection is gone, not the key refused: the read fails as any other would
        except imaplib.IMAP4.error as e:  # imapclient's IMAPClientError: a tagged BAD or NO
            self.narrowing_refused = one_line(e) or type(e).__name__
            return set()

    @staticmethod
    def _fetch_chunk(
        client, sync: FolderSync, uids: list[int], max_bytes: int, whole_after: datetime | None
    ) -> list[Fetched]:
        # The header fields come with the size and date: one command, and for old mail (most of a first start)
        # the only one. A FETCH of BODY[HEADER] instead costs the parser here a mail's every Received and DKIM line.
        meta = client.fetch(uids, ["RFC822.SIZE", "INTERNALDATE", f"BODY.PEEK[{CLASSIFIED_FIELDS}]"])
        arrived = {uid: aware_utc(meta[uid].get(b"INTERNALDATE")) for uid in uids if uid in meta}  # else expunged
        why: dict[int, str | None] = {}
        for uid, at in arrived.items():
            old = whole_after is not None and at is not None and at < whole_after
            large = meta[uid].get(b"RFC822.SIZE", 0) > max_bytes
            why[uid] = OLD if old else LARGE if large else None
        whole = [u for u, reason in why.items() if reason is None]
        bodies = client.fetch(whole, ["BODY.PEEK[]"]) if whole else {}
        large = [u for u, reason in why.items() if reason == LARGE]
        begun = client.fetch(large, [f"BODY.PEEK[]<0.{LARGE_PREFIX}>"]) if large else {}
        out = []
        for uid, reason in why.items():
            data = (
                bodies.get(uid, {}).get(b"BODY[]")
                if reason is None
                else beginning_item(begun.get(uid, {})) or fields_item(meta[uid])
                if reason == LARGE
                else fields_item(meta[uid])
            )
            out.append(
                Fetched(
                    sync.folder,
                    uid,
                    sync.state.uidvalidity,
                    bytes(data or b""),
                    arrived[uid],
                    int(meta[uid].get(b"RFC822.SIZE", len(data or b""))),
                    reason,
                )
            )
        return out

    def message_ids(self, sync: FolderSync) -> Iterator[list[tuple[int, bytes]]]:
        """(UID, its Message-ID header field) of the folder's mails, in chunks of CHUNK: what a renumbered folder is
        re-mapped by, without a body. The folder must be selected."""
        for i in range(0, len(sync.uids), CHUNK):
            chunk = sync.uids[i : i + CHUNK]
            yield self._call(f"fetching Message-IDs from {sync.folder}", self._fetch_ids, chunk)

    @staticmethod
    def _fetch_ids(client, uids: list[int]) -> list[tuple[int, bytes]]:
        data = client.fetch(uids, [f"BODY.PEEK[{MESSAGE_ID_FIELD}]"])
        out = []
        for uid in uids:
            if uid in data:  # else expunged between SEARCH and FETCH
                out.append((uid, fields_item(data[uid])))
        return out

    def supports_idle(self) -> bool:
        return self._call("asking for capabilities", lambda client: client.has_capability("IDLE"))

    def wait_for_news(self, seconds: float, stop) -> bool:
        """IDLE on the first folder for up to `seconds` (RFC 2177); True as soon as the server announces
        new mail, False on timeout or when `stop` is set. A dead connection raises MailboxError."""

        def idle(client):
            folder = self.config.folders[0]
            # A mail that came after the cycle's sync must be looked for: IDLE announces only what comes
            # after it starts (Dovecot 2.3, checked: a mail delivered just before IDLE was never announced).
            synced = self._uidnext.get(folder)
            if self._selected == folder and synced is not None:
                if self._new_in_selected(client, folder, synced - 1):
                    return True
            elif int(self._examine(client, folder).get(b"UIDNEXT", 0)) > (synced or 1 << 62):
                return True
            client.idle()
            news = False
            try:
                end = time.monotonic() + seconds
                while not stop.is_set() and not news:
                    left = end - time.monotonic()
                    if left <= 0:
                        break
                    asked = min(left, 1.0)  # short checks: SIGTERM is noticed within a second
                    started = time.monotonic()
                    answers = client.idle_check(timeout=asked)
                    if any(is_bye(a) for a in answers):
                        raise ConnectionError("the server closed the IDLE session")
                    if not answers and time.monotonic() - started < asked / 2:
                        raise ConnectionError("the IDLE session died")  # a dead socket answers at once
                    news = any(is_news(a) for a in answers)
            finally:
                client.idle_done()
            return news

        return self._call("waiting in IDLE", idle)

    def holds_message_id(self, message_id: str) -> bool:
        """True when any watched folder holds a mail with this Message-ID (our CC copy of a send), also where a relay
        replaced it and kept ours in X-Microsoft-Original-Message-ID or X-Google-Original-Message-ID."""
        criteria: list[str] = ["HEADER", "Message-ID", message_id]
        for name in ORIGINAL_MESSAGE_ID_HEADERS:
            criteria = ["OR", *criteria, "HEADER", name, message_id]

        def search(client):
            for folder in self.config.folders:
                self._examine(client, folder)
                if client.search(criteria):
                    return True
            return False

        return self._call("searching for a Message-ID", search)

    def copies(self, header: str, kind: str, t1_message_id: str, sender: str) -> list[tuple[bytes, datetime | None]]:
        """(the header fields Message-ID and `header`, INTERNALDATE) of every mail in the watched folders from `sender`
        whose provenance `header` names `kind` and this incident: a member's copy of a send, found by the server
        (SEARCH HEADER, a substring match each, so a folded stamp is found too) however large the mailbox."""
        fields = f"HEADER.FIELDS (MESSAGE-ID {header.upper()})"
        criteria = ["HEADER", header, f"kind={kind};", "HEADER", header, f"incident={t1_message_id}", "FROM", sender]

        def search(client):
            out = []
            for folder in self.config.folders:
                self._examine(client, folder)
                uids = client.search(criteria)
                if uids:
                    data = client.fetch(uids, ["INTERNALDATE", f"BODY.PEEK[{fields}]"])
                    out += [(fields_item(d), aware_utc(d.get(b"INTERNALDATE"))) for d in data.values()]
            return out

        return self._call("searching for another member's copy", search)


def _uninvolved(client, uids: list[int], whole_after: datetime, involved: Involved) -> set[int]:
    """Of these UIDs (one chunk, ascending), those of mail from before `passed_over_before(whole_after)` that names
    none of `involved`: one UID SEARCH over the chunk's range."""
    before = passed_over_before(whole_after)
    found = client.search(["UID", f"{uids[0]}:{uids[-1]}", "BEFORE", before, "NOT", any_of(involved)])
    return set(found).intersection(uids)
