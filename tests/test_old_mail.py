"""Old mail the server passes over (issue 20, item 6): on a first start over years of mail, only the old mail that
names the urgent line, a tier address or this agent, or carries the provenance stamp, is fetched and recorded; the
rest is never fetched, and the audit says how much. Against a real Dovecot; in-process agents."""

import email
import logging
import re
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime

import pytest
from imapclient.exceptions import IMAPClientError

from agent.adapters.config import load
from agent.adapters.imap import Mailbox
from agent.adapters.imap_connect import connect
from agent.adapters.store import Store
from agent.engine import reading
from agent.engine.service import Agent
from support import query, reply, t1, write_config

OLD = datetime.now(UTC) - timedelta(days=300)


def mail(headers: list[tuple[str, str]], body: str, when: datetime) -> bytes:
    head = "".join(f"{name}: {value}\r\n" for name, value in [*headers, ("Date", format_datetime(when))])
    return (head + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body).encode()


def chatter(when: datetime) -> bytes:
    """Our people among themselves, CC'd to the shared mailbox, as Outlook writes it."""
    return mail(
        [
            ("From", "Bob Builder <bob@partner.test>"),
            ("To", "Alice Engineer <alice@partner.test>"),
            ("Cc", "watch@partner.test"),
            ("Subject", "Lunch after the release?"),
            ("Message-ID", "<DB9PR04MB8421A1B2C3@DB9PR04MB8421.eurprd04.prod.outlook.test>"),
            ("Thread-Index", "AdlXq3m9c7Yk2Q4jT0uE1mZt5H6vNw=="),
            ("X-MS-Has-Attach", ""),
        ],
        "Shall we? 12:30 at the usual place.\r\n",
        when,
    )


def newsletter(when: datetime) -> bytes:
    return mail(
        [
            ("From", '"Cloud Weekly" <newsletter@news.else.test>'),
            ("To", "watch@partner.test"),
            ("Subject", "This week: 10 tips for resilient APIs"),
            ("Message-ID", "<20250210093012.4f2a9c@mailer.else.test>"),
            ("List-Unsubscribe", "<mailto:unsubscribe@news.else.test>"),
            ("Precedence", "bulk"),
        ],
        "Read online.\r\n",
        when,
    )


def alert(when: datetime) -> bytes:
    return mail(
        [
            ("From", "Grafana <alerts@monitoring.partner.test>"),
            ("To", "watch@partner.test"),
            ("Subject", "[FIRING:1] Incentives API latency p99 > 2s"),
            ("Message-ID", "<alert.1739180000.77@monitoring.partner.test>"),
            ("Auto-Submitted", "auto-generated"),
        ],
        "Alert: latency above threshold.\r\n",
        when,
    )


def relayed_copy(when: datetime) -> bytes:
    """A copy of an earlier agent's T2 as a list relay rewrote its From (DMARC mitigation): only its provenance stamp
    still says what it is."""
    return mail(
        [
            ("From", "Escalations via Ops List <ops-list@lists.partner.test>"),
            ("To", "watch@partner.test"),
            ("Subject", "[ops] ESCALATION T2: Incentives API down"),
            ("Message-ID", "<relayed-t2-1@lists.partner.test>"),
            ("X-Escalation-Agent-Provenance", "kind=t2; incident=<old-t1@partner.test>; member=host-a"),
        ],
        "Escalating.\r\n",
        when,
    )


def vendor_cc(when: datetime) -> bytes:
    """Our mail that copies the vendor's account manager: the vendor, but not its urgent line."""
    return mail(
        [
            ("From", "Alice Engineer <alice@partner.test>"),
            ("To", "watch@partner.test"),
            ("Cc", "Account Manager <am@vendor.test>"),
            ("Subject", "Quarterly review notes"),
            ("Message-ID", "<review-notes-1@partner.test>"),
        ],
        "Notes attached.\r\n",
        when,
    )


def case_update(when: datetime) -> bytes:
    """The vendor's case system (ServiceNow's way): a case number in the subject, no In-Reply-To or References."""
    return mail(
        [
            ("From", "Vendor Support <support@vendor.test>"),
            ("To", "watch@partner.test"),
            ("Subject", "INC0012345 has been resolved"),
            ("Message-ID", "<Ref:MSG0001234@vendor.test>"),
            ("Auto-Submitted", "auto-generated"),
        ],
        "Incident INC0012345 has been resolved. Ref:MSG0001234\r\n",
        when,
    )


def ticket_reply(old_t1, when: datetime) -> bytes:
    """The vendor's helpdesk answering the old T1 to all, the urgent line too, by References alone (Zendesk's way)."""
    return mail(
        [
            ("From", "Vendor Support <support@vendor.test>"),
            ("To", "alice@partner.test"),
            ("Cc", "watch@partner.test, urgent@vendor.test"),
            ("Subject", f"[Ticket #48213] {old_t1['Subject']}"),
            ("Message-ID", "<8QZ2XW_4c1f7@vendor.test>"),
            ("References", old_t1["Message-ID"]),
        ],
        "##- Please type your reply above this line -##\r\nWe are looking into it.\r\n",
        when,
    )


def fill(dovecot) -> tuple[list[str], list[str]]:
    """Old mail, interleaved: (the Message-IDs that name the ladder or the agent, those that do not). The last mail
    is passed over, so the folder's state must move past mail that was not fetched."""
    old_t1 = t1(when=OLD)
    answer = reply(old_t1)
    answer.replace_header("Date", format_datetime(OLD + timedelta(minutes=20)))
    update = reply(old_t1, sender="bob@partner.test", body="Any news?", recipients=("alice@partner.test",))
    involved, passed = [], []
    for n, (raw, kept) in enumerate(
        [
            (chatter(OLD), False),
            (old_t1.as_bytes(), True),
            (newsletter(OLD), False),
            (answer.as_bytes(), False),  # to Alice and the shared mailbox: the stale T1's thread needs no more
            (update.as_bytes(), False),  # internal, in the old thread: no later mail needs it
            (relayed_copy(OLD), True),
            (ticket_reply(old_t1, OLD), True),
            (case_update(OLD), False),
            (vendor_cc(OLD), False),
            (alert(OLD), False),
        ]
    ):
        when = OLD + timedelta(minutes=n)
        dovecot.append("watch", raw, internaldate=when)
        (involved if kept else passed).append(raw)
    return [message_id(r) for r in involved], [message_id(r) for r in passed]


def message_id(raw: bytes) -> str:
    return email.message_from_bytes(raw)["Message-ID"]


@pytest.mark.parametrize("split", [False, True], ids=["one read", "recent part then backlog"])
def test_a_first_start_fetches_only_the_old_mail_that_names_the_ladder_or_the_agent(
    servers, tmp_path, monkeypatch, split
):
    if split:  # the path of 50,000 mails: a backlog, read a chunk at a time, chunks mixing both kinds
        monkeypatch.setattr(reading, "SPLIT_OVER", 4)
        monkeypatch.setattr(reading, "CHUNK", 3)
    dovecot, relay = servers
    kept, _ = fill(dovecot)
    config = load(write_config(tmp_path, dovecot, relay))
    agent = Agent(config, Store(config.agent.database))
    db = config.agent.database
    try:
        while agent.cycle().backlog_left:
            pass
        assert agent.sync(datetime.now(UTC)) == 0  # read to the end: nothing is fetched again
    finally:
        agent.close()
        agent.store.close()
    assert sorted(r[0] for r in query(db, "SELECT message_id FROM messages")) == sorted(kept)
    assert query(db, "SELECT state FROM incidents") == [("stale",)]  # the old T1, recorded as before
    assert query(db, "SELECT last_uid, reading FROM mailbox_state") == [(10, None)]
    [(detail, reason)] = query(db, "SELECT detail, reason FROM events WHERE kind = 'old_mail_passed_over'")
    found = re.fullmatch(r"INBOX: 7 mails from before (\d{4}-\d{2}-\d{2}) not fetched", detail)
    assert found is not None and date.fromisoformat(found[1]) > OLD.date(), detail
    assert reason.startswith("they name neither the urgent line, a tier address nor this agent, nor carry its")


def test_a_renumbered_folder_passes_over_the_same_old_mail_again(servers, tmp_path):
    """A re-map fetches what it has not recorded: the old mail passed over is passed over again, not fetched."""
    dovecot, relay = servers
    kept, _ = fill(dovecot)
    config = load(write_config(tmp_path, dovecot, relay))
    agent = Agent(config, Store(config.agent.database))
    db = config.agent.database
    try:
        agent.sync(datetime.now(UTC))
        dovecot.set_uid_validity("watch", 4242)
        agent.close()
        assert agent.sync(datetime.now(UTC)) == 0
    finally:
        agent.close()
        agent.store.close()
    assert query(db, "SELECT count(*), min(uidvalidity) FROM messages") == [(len(kept), 4242)]
    counts = [d for (d,) in query(db, "SELECT detail FROM events WHERE kind = 'old_mail_passed_over' ORDER BY id")]
    assert len(counts) == 2 and all(d.startswith("INBOX: 7 mails from before ") for d in counts)
    [(remapped,)] = query(db, "SELECT detail FROM events WHERE kind = 'mailbox_reset'")
    assert remapped.endswith(f"{len(kept)} known, 0 new")


def test_with_narrow_old_mail_off_every_old_mail_is_read_as_before(servers, tmp_path):
    """For a server whose SEARCH cannot be trusted: [imap] narrow_old_mail = false reads every old mail's header
    fields, and records each."""
    dovecot, relay = servers
    kept, passed = fill(dovecot)
    config = load(write_config(tmp_path, dovecot, relay, imap_narrow_old_mail="false"))
    agent = Agent(config, Store(config.agent.database))
    try:
        assert agent.sync(datetime.now(UTC)) == len(kept) + len(passed)
    finally:
        agent.close()
        agent.store.close()
    db = config.agent.database
    assert sorted(r[0] for r in query(db, "SELECT message_id FROM messages")) == sorted(kept + passed)
    assert query(db, "SELECT count(*) FROM events WHERE kind = 'old_mail_passed_over'") == [(0,)]


def test_a_revived_old_thread_finds_its_stale_t1_through_a_reply_that_was_passed_over(servers, tmp_path):
    """Today an engineer answers, to all (the urgent line too), the vendor's old reply that was never fetched: its
    References still name the old T1, which was recorded, so it follows up the stale incident and opens none."""
    dovecot, relay = servers
    old_t1 = t1(when=OLD)
    answer = reply(old_t1)
    answer.replace_header("Date", format_datetime(OLD + timedelta(minutes=20)))
    dovecot.append("watch", old_t1.as_bytes(), internaldate=OLD)
    dovecot.append("watch", answer.as_bytes(), internaldate=OLD + timedelta(minutes=20))
    config = load(write_config(tmp_path, dovecot, relay))
    agent = Agent(config, Store(config.agent.database))
    db = config.agent.database
    try:
        assert agent.sync(datetime.now(UTC)) == 1  # the T1; its answer to Alice and the shared mailbox passed over
        revived = reply(answer, sender="bob@partner.test", body="It is failing again.")
        revived.replace_header("To", "urgent@vendor.test")
        dovecot.append("watch", revived.as_bytes())
        assert agent.sync(datetime.now(UTC)) == 1
    finally:
        agent.close()
        agent.store.close()
    assert query(db, "SELECT state FROM incidents") == [("stale",)]
    assert query(db, "SELECT kind FROM messages WHERE message_id = ?", revived["Message-ID"]) == [("follow_up",)]


def passed_over_counts(db) -> list[str]:
    return [d.split(" mails")[0] for (d,) in query(db, "SELECT detail FROM events WHERE kind = 'old_mail_passed_over'")]


@pytest.mark.parametrize("then", ["restart", "renumbering"])
def test_a_backlog_cut_short_counts_each_old_mail_passed_over_once(servers, tmp_path, monkeypatch, then):
    """The count is kept in the transaction that moves the folder past the mail: a restart midway loses none of it,
    and a renumbering midway (the re-map counts the folder again) counts none twice."""
    monkeypatch.setattr(reading, "SPLIT_OVER", 4)
    monkeypatch.setattr(reading, "CHUNK", 3)
    dovecot, relay = servers
    fill(dovecot)
    config = load(write_config(tmp_path, dovecot, relay))
    first = Agent(config, Store(config.agent.database))
    try:
        assert first.cycle(backlog_budget=0.0001).backlog_left > 0  # one backlog chunk read, and it passed some over
    finally:
        first.close()
        first.store.close()
    assert query(config.agent.database, "SELECT passed_over FROM mailbox_state")[0][0] > 0
    if then == "renumbering":
        dovecot.set_uid_validity("watch", 4343)
    second = Agent(config, Store(config.agent.database))
    try:
        while second.cycle().backlog_left:
            pass
    finally:
        second.close()
        second.store.close()
    assert passed_over_counts(config.agent.database) == ["INBOX: 7"]


class RefusingSearch:
    """A server that answers BAD to a SEARCH with NOT in it, as one that does not take the key would; the rest is
    the real Dovecot's."""

    def __init__(self, client):
        self._client = client

    def search(self, criteria, *args, **kwargs):
        if "NOT" in criteria:
            raise IMAPClientError('UID SEARCH command error: BAD [b"Error in IMAP command UID SEARCH"]')
        return self._client.search(criteria, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._client, name)


def test_a_server_that_refuses_the_search_has_every_old_mail_read_and_the_agent_says_so(servers, tmp_path, caplog):
    dovecot, relay = servers
    kept, passed = fill(dovecot)
    config = load(write_config(tmp_path, dovecot, relay))
    agent = Agent(config, Store(config.agent.database), Mailbox(config.imap, lambda cfg: RefusingSearch(connect(cfg))))
    try:
        with caplog.at_level(logging.WARNING, logger="agent.service"):
            assert agent.sync(datetime.now(UTC)) == len(kept) + len(passed)  # read as before: not blind
    finally:
        agent.close()
        agent.store.close()
    [warning] = [r.getMessage() for r in caplog.records if "refused the SEARCH" in r.getMessage()]
    assert "narrow_old_mail = false" in warning
    assert passed_over_counts(config.agent.database) == []


def test_new_mail_of_a_folder_already_read_is_read_whole_however_old_its_date(servers, tmp_path):
    """Only a first sync, a backlog and a re-map are narrowed: a mail copied in later with an old date is read, as
    before, and each cycle's new mail costs no SEARCH."""
    dovecot, relay = servers
    config = load(write_config(tmp_path, dovecot, relay))
    agent = Agent(config, Store(config.agent.database))
    try:
        assert agent.sync(datetime.now(UTC)) == 0
        dovecot.append("watch", newsletter(OLD), internaldate=OLD)  # restored from an archive
        assert agent.sync(datetime.now(UTC)) == 1
    finally:
        agent.close()
        agent.store.close()
    assert passed_over_counts(config.agent.database) == []
