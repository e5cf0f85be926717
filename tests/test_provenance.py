"""The provenance header (core/reading/provenance.py) and what a found copy of the agent's own mail does to a
database that
did not know it (core/deciding/adoption.py, engine/outbox.adopt): literal values and mails, a real SQLite file, no
servers."""

import email
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.adapters.config import load
from agent.adapters.store import Store
from agent.core.deciding.classify import Kind
from agent.core.procedure.policy import Outgoing, Reason, Status
from agent.core.reading import provenance
from agent.core.reading.folder import HEADER_FIELDS, Fetched
from agent.core.reading.provenance import Provenance
from agent.core.sop import Tier
from agent.core.writing import compose
from agent.engine import enqueue, ladder, outbox
from agent.engine.ingest import ingest
from support import OFFLINE_CONFIG, escalation_rows, events, incident_row, notice_rows

T1_ID = "<t1-4711@partner.test>"
OURS = "<176481.2345.67890.escalation@partner.test>"  # compose.new_message_id's shape, the From's domain
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


# -- the header ---------------------------------------------------------------------------------------------------
def test_a_stamp_reads_back_as_it_was_written_also_folded_as_the_outbox_writes_it():
    value = provenance.stamp("t2", T1_ID, "host-a")
    assert value == f"kind=t2; incident={T1_ID}; member=host-a"
    for seen in (value, provenance.folded(value), provenance.folded(value).replace("\n", "\r\n\t")):
        assert provenance.read(seen) == Provenance("t2", T1_ID, "host-a")
    assert provenance.read(value).tier == Tier.T2


def test_notices_answers_and_alarms_name_what_the_outbox_keeps():
    kind, command = provenance.of_notice("watching")
    found = provenance.read(provenance.stamp(kind, T1_ID, "a"))
    assert (found.kind, found.notice, found.tier) == ("notice-watching", "watching", None)
    kind, command = provenance.of_notice("reply <cmd-1@partner.test>", "hold")
    found = provenance.read(provenance.stamp(kind, T1_ID, "a", command))
    assert (found.kind, found.command, found.notice) == (
        "answer-hold",
        "<cmd-1@partner.test>",
        "reply <cmd-1@partner.test>",
    )
    alarm = provenance.read(provenance.stamp("alarm-blind", None, "a"))
    assert (alarm.kind, alarm.incident, alarm.notice, alarm.tier) == ("alarm-blind", None, None, None)


def test_a_member_or_kind_from_a_config_cannot_break_the_header():
    value = provenance.stamp("Notice-Stand Down", T1_ID, "host a;kind=t3\r\nBcc: x@evil.test")
    assert "\r" not in value and "\n" not in value
    found = provenance.read(value)
    assert found.kind == "notice-stand_down" and found.member.startswith("host_a_kind_t3")


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "garbage",
        "incident=<a@b>; member=x",  # no kind
        "kind=; incident=<a@b>",
        "kind=T2!; incident=<a@b>",
        "kind=t2; " + "x" * 2000,  # too long to be ours
        "=?utf-8?q?kind=3Dt2?=",  # an encoded word is no stamp of ours
    ],
)
def test_a_value_that_is_no_stamp_reads_as_none(value):
    assert provenance.read(value) is None


def test_hostile_fields_are_dropped_not_believed():
    found = provenance.read("kind=t3; incident=not-an-id; member=\u00e9vil; kind=t2; command=<a;b@c>; x=<y>")
    assert found == Provenance("t3", None, "", "<a;b@c>")  # the first kind counts; a ; inside <...> is the id's


def test_the_message_id_shape_is_the_agents_own_and_its_domain():
    assert provenance.ours_by_shape(OURS, "agent@partner.test")
    assert provenance.ours_by_shape(OURS.upper().replace("PARTNER", "Partner"), "agent@PARTNER.test")
    assert not provenance.ours_by_shape("<176481.2345.67890.escalation@evil.test>", "agent@partner.test")
    assert not provenance.ours_by_shape("<abc.escalation@partner.test>", "agent@partner.test")
    assert not provenance.ours_by_shape("<1.2.3.escalation@partner.test.evil.test>", "agent@partner.test")


def test_the_shape_is_the_one_compose_makes():  # if new_message_id changes, adoption must learn the new shape
    for _ in range(20):
        assert provenance.ours_by_shape(compose.new_message_id("agent@partner.test"), "agent@partner.test")


def test_mail_fetched_without_its_body_still_carries_its_provenance():
    assert provenance.HEADER in HEADER_FIELDS


# -- adoption, through ingest, against a real SQLite file ----------------------------------------------------------
@pytest.fixture
def env(tmp_path: Path):
    def make(extra: str = "[agent]\nopened_notice = false\n"):
        (tmp_path / "config.ini").write_text(OFFLINE_CONFIG + extra)
        cfg = load(tmp_path / "config.ini")
        return cfg, Store(cfg.agent.database)

    return make


def mail(sender, to, mid, date, headers="", subject="Incentives API: F500"):
    return (
        f"From: {sender}\r\nTo: {to}\r\nCc: alice@partner.test, watch@partner.test\r\nSubject: {subject}\r\n"
        f"Date: {date}\r\nMessage-ID: {mid}\r\n{headers}\r\nbody\r\n"
    ).encode()


def at(minutes: float) -> str:
    return (NOW - timedelta(minutes=minutes)).strftime("%a, %d %b %Y %H:%M:%S +0000")


def feed(store, cfg, data: bytes, uid: int, minutes_ago: float):
    return ingest(store, Fetched("INBOX", uid, 1, data, NOW - timedelta(minutes=minutes_ago), len(data)), cfg, NOW)


def open_t1(store, cfg, minutes_ago=40):
    feed(store, cfg, mail("alice@partner.test", "urgent@vendor.test", T1_ID, at(minutes_ago)), 1, minutes_ago)


def our_t2(mid=OURS, stamp=None, to="t2@vendor.test", minutes_ago=8, sender="agent@partner.test"):
    stamp = stamp if stamp is not None else provenance.folded(provenance.stamp("t2", T1_ID, "host-a"))
    headers = f"In-Reply-To: {T1_ID}\r\nReferences: {T1_ID}\r\nAuto-Submitted: auto-generated\r\n"
    headers += f"{provenance.HEADER}: {stamp}\r\n"
    return mail(sender, to, mid, at(minutes_ago), headers, "[T2 escalation] Incentives API: F500")


def test_a_t2_found_in_the_mailbox_counts_as_sent_at_its_time_and_the_t3_runs_from_it(env):
    cfg, store = env()
    open_t1(store, cfg)
    seen = feed(store, cfg, our_t2(), 2, 8)
    assert seen.classification.kind == Kind.OWN
    [row] = escalation_rows(store, 1)
    assert (row["tier"], row["status"], row["message_id"]) == (2, "sent", OURS)
    assert row["sent_at"] == "2026-11-25T11:52:00.000Z"
    [d] = ladder.decisions(store, cfg, NOW).values()
    assert (d.reason, d.due_at) == (Reason.NOT_YET_DUE, NOW - timedelta(minutes=8) + timedelta(minutes=30))
    [adopted] = [e for e in events(store, 1) if e["kind"] == "adopted"]
    assert "T2 " + OURS in adopted["detail"] and "host-a" in adopted["detail"]
    store.close()


@pytest.mark.parametrize(
    "copy, why",
    [
        (our_t2(minutes_ago=41), "before the incident's T1"),
        (our_t2(mid="<forged-1@partner.test>"), "Message-ID is not one the agent makes"),
        (our_t2(mid="<1.2.3.escalation@evil.test>"), "Message-ID is not one the agent makes"),
        (our_t2(stamp="kind=t2; incident=<other@partner.test>; member=x"), "another incident"),
        (our_t2(stamp="kind=t2; member=x"), "names no incident"),
        (our_t2(to="someone@vendor.test"), "not To that tier's address"),
        (our_t2(stamp="kind=alarm-blind; incident=<t1-4711@partner.test>; member=x"), "names nothing the outbox"),
    ],
)
def test_a_forged_or_mismatched_copy_adopts_nothing_and_says_why(env, copy, why):
    cfg, store = env()
    open_t1(store, cfg)
    arrived = 41 if at(41).encode() in copy else 8
    feed(store, cfg, copy, 2, arrived)
    assert escalation_rows(store, 1) == []
    [refused] = [e for e in events(store, 1) if e["kind"] == "provenance_refused"]
    assert why in refused["detail"], refused
    [d] = ladder.decisions(store, cfg, NOW).values()
    assert d.tier == Tier.T2  # the ladder goes on: the T2 is due
    store.close()


def test_with_sender_authentication_on_a_forged_from_of_ours_is_untrusted_and_adopts_nothing(env):
    cfg, store = env("trusted_authserv_id = mx.partner.test\n[agent]\nopened_notice = false\n")
    t1 = mail("alice@partner.test", "urgent@vendor.test", T1_ID, at(40))
    auth = b"Authentication-Results: mx.partner.test; dmarc=pass header.from=partner.test\r\n"
    feed(store, cfg, auth + t1, 1, 40)
    assert incident_row(store, 1)["state"] == "awaiting_response"
    seen = feed(store, cfg, our_t2(), 2, 8)  # no Authentication-Results: anyone could have written it
    assert seen.classification.kind == Kind.UNTRUSTED
    assert escalation_rows(store, 1) == []
    store.close()


def test_an_unstamped_mail_from_our_address_is_only_a_confirmation_as_before(env):
    cfg, store = env()
    open_t1(store, cfg)
    feed(store, cfg, our_t2(stamp="").replace(f"{provenance.HEADER}: \r\n".encode(), b""), 2, 8)
    assert escalation_rows(store, 1) == []
    assert not [e for e in events(store, 1) if e["kind"] in ("adopted", "provenance_refused")]
    store.close()


def test_a_notice_decided_on_a_rebuild_becomes_the_copy_found_and_is_not_sent_again(env):
    cfg, store = env("")  # opened_notice on: the T1 decides the watching notice
    open_t1(store, cfg, minutes_ago=10)
    [pending] = [r for r in notice_rows(store, 1) if r["kind"] == "watching"]
    assert pending["status"] == "pending"
    stamp = provenance.folded(provenance.stamp("notice-watching", T1_ID, "host-a"))
    copy = mail(
        "agent@partner.test",
        "alice@partner.test",
        OURS,
        at(9),
        f"In-Reply-To: {T1_ID}\r\n{provenance.HEADER}: {stamp}\r\n",
        "[escalation-agent] watching your T1: Incentives API: F500",
    )
    feed(store, cfg, copy, 2, 9)
    [row] = [r for r in notice_rows(store, 1) if r["kind"] == "watching"]
    assert (row["status"], row["message_id"]) == ("sent", OURS)
    assert "is not sent: host-a sent it first" in row["last_error"]
    assert [r.kind for r in store.outbox_with_status(Outgoing.NOTICE, Status.PENDING)] == ["missing_items"]
    store.close()


def test_a_second_copy_of_a_tier_is_recorded_and_changes_nothing(env):
    cfg, store = env()
    open_t1(store, cfg)
    feed(store, cfg, our_t2(), 2, 8)
    feed(store, cfg, our_t2(mid="<176482.1.2.escalation@partner.test>", minutes_ago=7), 3, 7)
    [row] = escalation_rows(store, 1)
    assert row["message_id"] == OURS
    assert [e["kind"] for e in events(store, 1)].count("duplicate_seen") == 1
    store.close()


def test_a_pending_row_of_a_restored_backup_is_confirmed_as_sent_by_its_own_copy(env):
    cfg, store = env()
    open_t1(store, cfg)
    [d] = ladder.decisions(store, cfg, NOW).values()
    row_id = enqueue.escalate(store, cfg, 1, Tier.T2, d, NOW - timedelta(minutes=9))
    mid = store.outbox_row(Outgoing.ESCALATION, row_id).message_id  # pending when the backup was taken
    assert provenance.HEADER.encode() in store.outbox_row(Outgoing.ESCALATION, row_id).raw
    feed(store, cfg, our_t2(mid=mid), 2, 8)
    row = store.outbox_row(Outgoing.ESCALATION, row_id)
    assert (row.status, row.sent_at) == ("sent", "2026-11-25T11:52:00.000Z")
    store.close()


def test_a_hold_read_late_holds_from_the_command_mail_not_from_the_reading(env):
    cfg, store = env()
    open_t1(store, cfg, minutes_ago=20)
    command = mail(
        "bob@partner.test", "watch@partner.test", "<cmd-1@partner.test>", at(15), f"In-Reply-To: {T1_ID}\r\n"
    ).replace(b"\r\nbody\r\n", b"\r\n#hold 30m waiting for the vendor's call\r\n")
    feed(store, cfg, command, 2, 15)  # read now, 15 minutes after it arrived
    assert incident_row(store, 1)["hold_until"] == "2026-11-25T12:15:01.000Z"  # the end of its second
    [answer] = [r for r in notice_rows(store, 1) if r["kind"].startswith("reply ")]
    assert b"kind=answer-hold" in answer["raw"] and b"command=<cmd-1@partner.test>" in answer["raw"]
    store.close()


def test_a_copy_read_before_its_t1_counts_as_sent_once_the_t1_is_read(env):
    cfg, store = env()
    feed(store, cfg, our_t2(), 1, 8)  # INBOX is read first; a server rule filed the T1 elsewhere
    assert (
        store.db.execute("SELECT count(*) FROM incidents").fetchone()[0] == 0
    )  # the copy waits as an orphan, its provenance kept
    assert store.db.execute("SELECT provenance FROM messages").fetchone()[0].startswith("kind=t2;")
    data = mail("alice@partner.test", "urgent@vendor.test", T1_ID, at(40))
    ingest(store, Fetched("Urgent", 1, 1, data, NOW - timedelta(minutes=40), len(data)), cfg, NOW)
    [row] = escalation_rows(store, 1)
    assert (row["tier"], row["status"], row["message_id"]) == (2, "sent", OURS)
    store.close()


def notice_copy(kind: str, mid: str, minutes_ago: float) -> bytes:
    stamp = provenance.folded(provenance.stamp(f"notice-{kind}", T1_ID, "host-a"))
    headers = f"In-Reply-To: {T1_ID}\r\n{provenance.HEADER}: {stamp}\r\n"
    return mail("agent@partner.test", "alice@partner.test", mid, at(minutes_ago), headers, f"[escalation-agent] {kind}")


def test_a_tier_whose_rejection_notice_is_found_failed_as_it_did_and_the_ladder_stops_there(env):
    cfg, store = env()
    open_t1(store, cfg)
    feed(store, cfg, our_t2(), 2, 8)  # the server refused t2@vendor.test but delivered the Cc copy
    feed(store, cfg, notice_copy("rejected_t2", "<176481.2345.67891.escalation@partner.test>", 8), 3, 8)
    [row] = escalation_rows(store, 1)
    assert row["status"] == "failed"
    [d] = ladder.decisions(store, cfg, NOW).values()
    assert d.reason == Reason.FAILED and d.tier is None


def test_every_mail_the_outbox_writes_carries_its_provenance(env):
    cfg, store = env("")
    open_t1(store, cfg)
    [d] = ladder.decisions(store, cfg, NOW).values()
    enqueue.escalate(store, cfg, 1, Tier.T2, d, NOW)
    ladder.tell_exhausted(store, cfg, 1, NOW)
    stamps = {provenance.read(_field(r["raw"])).kind for r in escalation_rows(store, 1) + notice_rows(store, 1)}
    assert stamps == {"t2", "notice-watching", "notice-missing_items", "notice-exhausted"}
    for r in notice_rows(store, 1):
        found = provenance.read(_field(r["raw"]))
        assert (found.incident, found.member, found.notice) == (T1_ID, cfg.agent.member, r["kind"])
    store.close()


def test_an_alarm_names_its_kind_and_no_incident(env):
    cfg, store = env("[agent]\nops_address = ops@partner.test\n")
    row_id = enqueue.alarm(store, cfg, "blind", NOW, "cannot read", "why", "detail", NOW)
    found = provenance.read(_field(store.outbox_row(Outgoing.ALARM, row_id).raw))
    assert (found.kind, found.incident, found.member) == ("alarm-blind", None, socket.gethostname())
    store.close()


def _field(raw: bytes) -> str:
    return str(email.message_from_bytes(raw)[provenance.HEADER])


def test_a_t2_sent_in_the_second_its_escalate_came_does_not_ask_for_the_t3_again(env):
    cfg, store = env()
    open_t1(store, cfg)
    command = mail(
        "bob@partner.test", "watch@partner.test", "<cmd-2@partner.test>", at(10), f"In-Reply-To: {T1_ID}\r\n"
    ).replace(b"\r\nbody\r\n", b"\r\n#escalate the vendor is not answering the phone\r\n")
    feed(store, cfg, command, 2, 10)
    feed(store, cfg, our_t2(minutes_ago=10), 3, 10)  # the same second, as whole-second times have it
    [row] = escalation_rows(store, 1)
    assert row["status"] == "sent"
    [d] = ladder.decisions(store, cfg, NOW).values()
    assert d.tier is None and d.reason == Reason.NOT_YET_DUE  # the T3 waits its window from the T2
    store.close()


def test_a_row_written_without_its_provenance_is_stamped_before_it_leaves(env):
    """A row pending across the upgrade, or written by a writer that forgot: deliver stamps it (a dry run here)."""
    cfg, store = env("")
    open_t1(store, cfg)
    [row] = [r for r in notice_rows(store, 1) if r["kind"] == "watching"]
    bare = email.message_from_bytes(row["raw"], policy=compose.POLICY)
    del bare[provenance.HEADER]
    store.update_outbox(Outgoing.NOTICE, row["id"], raw=bare.as_bytes())
    assert outbox.deliver(store, None, Outgoing.NOTICE, row["id"], True, lambda: NOW, "host-b") == Status.DRY_RUN
    found = provenance.read(_field(store.outbox_row(Outgoing.NOTICE, row["id"]).raw))
    assert found == Provenance("notice-watching", T1_ID, "host-b")
    store.close()


@pytest.mark.parametrize(
    "kind",
    ["joined <CAF3x9=a+b;c@mail.gmail.com>", "untied bob@partner.test", "api_recovered 2026-12-06T11:00:00.000Z"],
)
def test_a_notice_whose_kind_names_its_mail_reads_back_as_that_very_kind(kind):
    """One of each kind per incident: adoption and the fence find the outbox row by the kind the stamp names."""
    what, command = provenance.of_notice(kind)
    found = provenance.read(provenance.folded(provenance.stamp(what, T1_ID, "host-a", command, key=kind)))
    assert found is not None and found.notice == kind and found.incident == T1_ID


def test_notices_named_alike_stay_apart_and_a_forged_key_of_another_kind_is_dropped():
    one = provenance.read(provenance.stamp("notice-joined", T1_ID, "a", key="joined <one@partner.test>"))
    two = provenance.read(provenance.stamp("notice-joined", T1_ID, "a", key="joined <two@partner.test>"))
    assert one.notice != two.notice
    forged = provenance.read(f"kind=notice-watching; incident={T1_ID}; member=a; key=exhausted")
    assert forged.notice == "watching"


def test_the_joined_t1s_notice_names_the_incident_s_first_t1_though_it_goes_in_the_second_thread(env):
    cfg, store = env()
    open_t1(store, cfg)
    store.db.execute(
        "INSERT INTO joined_t1s (incident_id, message_id, sender, recipients, subject, sent_at, reason, joined_at) "
        "VALUES (1, '<second@partner.test>', 'bob@partner.test', ?, 'F500 again', ?, 'same', ?)",
        ['["urgent@vendor.test"]', NOW.isoformat(), NOW.isoformat()],
    )
    enqueue.notify(
        store,
        cfg,
        1,
        "joined <second@partner.test>",
        "joined",
        "body",
        NOW,
        "why",
        ("bob@partner.test",),
        about="<second@partner.test>",
    )
    [row] = [r for r in notice_rows(store, 1) if r["kind"].startswith("joined")]
    found = provenance.read(_field(row["raw"]))
    assert (found.incident, found.notice) == (T1_ID, "joined <second@partner.test>")
    assert b"In-Reply-To: <second@partner.test>" in row["raw"]
    store.close()
