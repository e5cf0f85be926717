"""Ingest and escalation bookkeeping against a real SQLite file, with literal mails (no servers)."""

import email
from datetime import UTC, datetime, timedelta
from email.policy import default as POLICY
from pathlib import Path

import pytest

from agent.adapters.config import load
from agent.adapters.sqlite import sqlite3
from agent.adapters.store import Store
from agent.core.deciding.classify import Kind
from agent.core.deciding.t1 import t1_sent_at
from agent.core.procedure.policy import Outgoing, Reason, State, Status
from agent.core.reading.folder import Fetched
from agent.core.reading.mail import parse
from agent.core.sop import Tier
from agent.engine import enqueue, ladder
from agent.engine.ingest import ingest
from support import OFFLINE_CONFIG, escalation_rows, events, incident_row, notice_rows

NOW = datetime(2026, 11, 25, 11, 20, tzinfo=UTC)
CONFIG = OFFLINE_CONFIG + "[agent]\nopened_notice = false\n"


@pytest.fixture
def env(tmp_path: Path):
    (tmp_path / "config.ini").write_text(CONFIG)
    cfg = load(tmp_path / "config.ini")
    store = Store(cfg.agent.database)
    yield cfg, store
    store.close()


def raw(sender, to, mid, subject="API down", date="Wed, 25 Nov 2026 11:15:00 +0000", extra=""):
    return (
        f"From: {sender}\r\nTo: {to}\r\nCc: watch@partner.test\r\nSubject: {subject}\r\nDate: {date}\r\n"
        f"Message-ID: {mid}\r\n{extra}\r\nbody of {mid}\r\n"
    ).encode()


def fetched(data, uid=1, folder="INBOX", internaldate=NOW - timedelta(minutes=5)):
    return Fetched(folder, uid, 1, data, internaldate, len(data))


def test_a_t1_opens_an_incident_and_a_vendor_reply_closes_it(env):
    cfg, store = env
    seen = ingest(store, fetched(raw("alice@partner.test", "urgent@vendor.test", "<t1@p>")), cfg, NOW)
    incident_id = seen.classification.incident_id
    assert incident_row(store, incident_id)["state"] == "awaiting_response"
    ingest(
        store,
        fetched(
            raw("sup@vendor.test", "alice@partner.test", "<r@v>", "RE: API down", extra="In-Reply-To: <t1@p>\r\n"),
            uid=2,
        ),
        cfg,
        NOW,
    )
    row = incident_row(store, incident_id)
    assert (row["state"], row["response_message_id"]) == ("responded", "<r@v>")
    assert [e["kind"] for e in events(store, incident_id)] == ["incident_opened", "notice_decided", "responded"]
    assert notice_rows(store, incident_id)[0]["kind"] == "missing_items"  # that T1 lacked the SOP's items


def test_the_same_message_id_in_two_folders_is_one_mail(env):
    cfg, store = env
    data = raw("alice@partner.test", "urgent@vendor.test", "<t1@p>")
    assert ingest(store, fetched(data), cfg, NOW) is not None
    assert ingest(store, fetched(data, folder="Archive"), cfg, NOW) is None
    assert store.db["incidents"].count == 1 and store.db["messages"].count == 1


def test_a_t1_older_than_max_incident_age_is_recorded_not_escalated(env):
    cfg, store = env
    old = raw("alice@partner.test", "urgent@vendor.test", "<old@p>", date="Mon, 02 Nov 2026 09:00:00 +0000")
    seen = ingest(store, fetched(old, internaldate=datetime(2026, 11, 2, 9, 1, tzinfo=UTC)), cfg, NOW)
    assert incident_row(store, seen.classification.incident_id)["state"] == "stale"
    assert ladder.decisions(store, cfg, NOW + timedelta(hours=5)) == {}


def test_a_reply_seen_before_its_t1_is_adopted_when_the_t1_arrives(env):
    cfg, store = env
    ingest(
        store,
        fetched(
            raw("sup@vendor.test", "alice@partner.test", "<r@v>", "RE: API down", extra="References: <t1@p>\r\n"),
            folder="Vendor",
        ),
        cfg,
        NOW,
    )
    seen = ingest(store, fetched(raw("alice@partner.test", "urgent@vendor.test", "<t1@p>")), cfg, NOW)
    assert incident_row(store, seen.classification.incident_id)["state"] == "responded"


def test_a_database_from_before_the_reference_index_still_adopts_its_orphans(tmp_path, env):
    cfg, _ = env
    path = tmp_path / "old.db"
    old = Store(path)  # as written before migration 0004: drop what it added, then add it back
    ingest(
        old,
        fetched(
            raw("sup@vendor.test", "alice@partner.test", "<r@v>", "RE: API down", extra="In-Reply-To: <t1@p>\r\n"),
            folder="Vendor",
        ),
        cfg,
        NOW,
    )
    old.db.execute("DROP TABLE message_refs")
    old.db.execute("DELETE FROM _sqlite_migrations WHERE name = '0004_message_refs'")
    old.close()
    store = Store(path)
    assert [r.message_id for r in store.orphans_referring_to("<t1@p>")] == ["<r@v>"]
    seen = ingest(store, fetched(raw("alice@partner.test", "urgent@vendor.test", "<t1@p>")), cfg, NOW)
    assert incident_row(store, seen.classification.incident_id)["state"] == "responded"
    assert store.orphans_referring_to("<t1@p>") == []  # adopted: no longer outside every incident
    store.close()


def test_only_a_t1s_body_is_read(env):
    cfg, store = env
    body = "Partner ID: Acmes\r\nMarketplace: US\r\n"
    noise = raw("news@else.test", "watch@partner.test", "<n@e>", extra="") + body.encode()
    ingest(store, fetched(noise), cfg, NOW)
    t1 = raw("alice@partner.test", "urgent@vendor.test", "<t1@p>") + body.encode()
    seen = ingest(store, fetched(t1, uid=2), cfg, NOW)
    assert "Partner ID: Acmes" in seen.mail.text
    row = incident_row(store, seen.classification.incident_id)
    assert ('"partner_id": "Acmes"' in row["items"], row["marketplace"]) == (True, "US")


def test_the_t1_send_time_is_its_date_unless_implausible():
    internal = datetime(2026, 11, 25, 11, 16, tzinfo=UTC)
    good = parse(raw("a@partner.test", "u@v.test", "<a@p>"))
    assert t1_sent_at(good, internal, NOW) == (datetime(2026, 11, 25, 11, 15, tzinfo=UTC), "date")
    future = parse(raw("a@partner.test", "u@v.test", "<a@p>", date="Wed, 25 Nov 2026 14:00:00 +0000"))
    assert t1_sent_at(future, internal, NOW) == (internal, "internaldate")
    undated = parse(raw("a@partner.test", "u@v.test", "<a@p>", date="garbage"))
    assert t1_sent_at(undated, internal, NOW) == (internal, "internaldate")


def test_the_database_refuses_a_second_escalation_of_one_tier(env):
    cfg, store = env
    seen = ingest(store, fetched(raw("alice@partner.test", "urgent@vendor.test", "<t1@p>")), cfg, NOW)
    incident_id = seen.classification.incident_id
    d = ladder.decisions(store, cfg, NOW + timedelta(minutes=30))[incident_id]
    assert (d.reason, d.tier) == (Reason.T2_DUE, Tier.T2)
    first = enqueue.escalate(store, cfg, incident_id, Tier.T2, d, NOW + timedelta(minutes=30))
    assert enqueue.escalate(store, cfg, incident_id, Tier.T2, d, NOW + timedelta(minutes=31)) == first
    with pytest.raises(sqlite3.IntegrityError):
        store.add_outbox(
            Outgoing.ESCALATION,
            dict(
                incident_id=incident_id,
                tier=2,
                message_id="<other@p>",
                status="pending",
                decided_at="2026-11-25T11:50:00Z",
            ),
        )


def test_the_audit_log_cannot_be_changed(env):
    cfg, store = env
    store.event(NOW, "test", "an event")
    for sql in ("UPDATE events SET detail = 'changed'", "DELETE FROM events"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            store.db.execute(sql)


def test_a_manual_t2_by_an_engineer_counts_as_sent(env):
    cfg, store = env
    seen = ingest(store, fetched(raw("alice@partner.test", "urgent@vendor.test", "<t1@p>")), cfg, NOW)
    incident_id = seen.classification.incident_id
    ingest(
        store,
        fetched(
            raw(
                "bob@partner.test",
                "t2@vendor.test",
                "<m2@p>",
                "FW: API down",
                date="Wed, 25 Nov 2026 11:40:00 +0000",
                extra="In-Reply-To: <t1@p>\r\n",
            ),
            uid=2,
        ),
        cfg,
        NOW,
    )
    [row] = escalation_rows(store, incident_id)
    assert (row["tier"], row["status"], row["sent_at"]) == (2, str(Status.MANUAL), "2026-11-25T11:40:00.000Z")
    d = ladder.decisions(store, cfg, NOW + timedelta(minutes=50))[incident_id]
    assert d.due_at == datetime(2026, 11, 25, 12, 10, tzinfo=UTC)


def test_resolve_by_hand_cancels_what_is_pending(env):
    cfg, store = env
    seen = ingest(store, fetched(raw("alice@partner.test", "urgent@vendor.test", "<t1@p>")), cfg, NOW)
    incident_id = seen.classification.incident_id
    d = ladder.decisions(store, cfg, NOW + timedelta(minutes=30))[incident_id]
    enqueue.escalate(store, cfg, incident_id, Tier.T2, d, NOW + timedelta(minutes=30))
    ladder.resolve(store, cfg, incident_id, "fixed on our side", NOW + timedelta(minutes=31))
    assert incident_row(store, incident_id)["state"] == State.RESOLVED
    assert escalation_rows(store, incident_id)[0]["status"] == Status.CANCELLED


def test_with_a_trusted_authserv_id_a_spoofed_reply_neither_opens_nor_stops(tmp_path):
    (tmp_path / "config.ini").write_text(
        CONFIG.replace(
            "internal_domains = partner.test", "internal_domains = partner.test\ntrusted_authserv_id = mx.partner.test"
        )
    )
    cfg = load(tmp_path / "config.ini")
    store = Store(cfg.agent.database)
    ar = "Authentication-Results: mx.partner.test; dmarc=pass header.from=partner.test\r\n"
    spoofed_t1 = raw("alice@partner.test", "urgent@vendor.test", "<fake@p>")
    assert ingest(store, fetched(spoofed_t1), cfg, NOW).classification.kind == "untrusted"
    real = ingest(
        store, fetched(ar.encode() + raw("alice@partner.test", "urgent@vendor.test", "<t1@p>"), uid=2), cfg, NOW
    )
    assert real.classification.kind == "t1"
    fake_reply = b"Authentication-Results: mx.partner.test; dmarc=fail header.from=vendor.test\r\n" + raw(
        "sup@vendor.test", "alice@partner.test", "<r@v>", "RE: API down", extra="In-Reply-To: <t1@p>\r\n"
    )
    seen = ingest(store, fetched(fake_reply, uid=3), cfg, NOW)
    assert (seen.classification.kind, incident_row(store, real.classification.incident_id)["state"]) == (
        "untrusted",
        "awaiting_response",
    )
    assert store.db["incidents"].count == 1
    store.close()


def test_a_database_from_before_counts_a_tier_cancelled_for_a_hand_sent_one_as_sent(env):
    """Before migration 0005 a T2 sent by hand while ours was pending left ours `cancelled`, and the ladder
    stopped; now such a tier is the hand-sent one, so nothing sends that T2 again."""
    cfg, store = env
    seen = ingest(store, fetched(raw("alice@partner.test", "urgent@vendor.test", "<t1@p>")), cfg, NOW)
    incident_id = seen.classification.incident_id
    store.add_outbox(
        Outgoing.ESCALATION,
        dict(
            incident_id=incident_id,
            tier=2,
            message_id="<ours@p>",
            status="cancelled",
            decided_at="2026-11-25T11:45:00.000Z",
            last_error="sent by hand first",
        ),
    )
    hand = raw(
        "bob@partner.test",
        "t2@vendor.test",
        "<hand@p>",
        date="Wed, 25 Nov 2026 11:46:00 +0000",
        extra="In-Reply-To: <t1@p>\r\n",
    )
    store.db.execute(
        "INSERT INTO messages (message_id, folder, uid, uidvalidity, sender, recipients, subject, "
        "date, in_reply_to, refs, kind, reason, incident_id, seen_at, size) VALUES ('<hand@p>', 'INBOX', 9, 1, "
        "'bob@partner.test', '[]', 'API down', '2026-11-25T11:46:00.000Z', '<t1@p>', '', 'manual_escalation', "
        "'x', ?, '2026-11-25T11:46:30.000Z', ?)",
        [incident_id, len(hand)],
    )
    store.db.execute("DELETE FROM _sqlite_migrations WHERE name = '0005_hand_sent_tiers'")
    from agent.adapters.schema import migrations

    migrations.apply(store.db)
    [row] = escalation_rows(store, incident_id)
    assert (row["status"], row["message_id"], row["sent_at"]) == ("manual", "<hand@p>", "2026-11-25T11:46:00.000Z")
    d = ladder.decisions(store, cfg, NOW + timedelta(hours=1))[incident_id]
    assert d.tier == Tier.T3  # the ladder goes on from the hand-sent T2; no T2 of ours


def forward_raw(mid, to, cc, inner_headers, body="Rolling back now."):
    """An engineer's forward of a vendor answer: the answer attached (inner_headers given) or quoted inline."""
    head = (
        f"From: alice@partner.test\r\nTo: {to}\r\nCc: {cc}\r\nSubject: FW: RE: API down\r\n"
        f"Date: Wed, 25 Nov 2026 11:40:00 +0000\r\nMessage-ID: {mid}\r\nIn-Reply-To: <t1@p>\r\n"
    )
    if inner_headers is None:
        return (
            head + "\r\nFYI\r\n\r\n---------- Forwarded message ---------\r\nFrom: Kenji <kenji@vendor.test>\r\n"
            "Date: Wed, 25 Nov 2026 at 11:39\r\nSubject: RE: API down\r\nTo: alice@partner.test\r\n\r\n"
            f"{body}\r\n"
        ).encode()
    inner = inner_headers + f"\r\n{body}\r\n"
    return (
        head + 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="F"\r\n\r\n--F\r\n'
        "Content-Type: text/plain\r\n\r\nSee attached.\r\n--F\r\nContent-Type: message/rfc822\r\n\r\n"
        f"{inner}--F--\r\n"
    ).encode()


def test_a_forwarded_answer_counts_only_when_it_belongs_to_this_thread_and_was_meant_for_the_agent(env):
    cfg, store = env
    seen = ingest(store, fetched(raw("alice@partner.test", "urgent@vendor.test", "<t1@p>")), cfg, NOW)
    incident_id = seen.classification.incident_id
    old = (
        "From: kenji@vendor.test\r\nSubject: RE: API down\r\nDate: Wed, 18 Nov 2026 09:00:00 +0000\r\n"
        "Message-ID: <old-answer@vendor.test>\r\nIn-Reply-To: <last-weeks-t1@p>\r\n"
    )
    kinds = []
    for uid, data in enumerate(
        [
            forward_raw("<f1@p>", "watch@partner.test", "bob@partner.test", old),  # last week's answer, same subject
            forward_raw("<f2@p>", "team@partner.test", "watch@partner.test", None),  # inline, the agent only in Cc
        ],
        start=2,
    ):
        kinds.append(ingest(store, fetched(data, uid=uid), cfg, NOW).classification.kind)
    assert kinds == [Kind.FOLLOW_UP, Kind.FOLLOW_UP]
    assert incident_row(store, incident_id)["state"] == "awaiting_response"
    meant = forward_raw("<f3@p>", "watch@partner.test", "bob@partner.test", None)  # inline, To the agent
    c = ingest(store, fetched(meant, uid=5), cfg, NOW).classification
    assert (c.kind, c.reason) == (Kind.RESPONSE, "response forwarded by alice@partner.test (from kenji@vendor.test)")
    assert incident_row(store, incident_id)["state"] == "responded"


RECEIPT = (
    "This is an automated message. We have received your request and a case has been created: Case 12345678.\r\n"
    "Please do not reply to this email."
)


def test_a_forwarded_receipt_is_no_answer_attached_or_inline(env):
    cfg, store = env
    seen = ingest(store, fetched(raw("alice@partner.test", "urgent@vendor.test", "<t1@p>")), cfg, NOW)
    incident_id = seen.classification.incident_id
    inner = (
        "From: Vendor Support <no-reply@vendor.test>\r\nSubject: [Case 12345678] RE: API down\r\n"
        "Date: Wed, 25 Nov 2026 11:15:02 +0000\r\nMessage-ID: <ack@vendor.test>\r\nIn-Reply-To: <t1@p>\r\n"
    )
    attached = forward_raw("<f1@p>", "watch@partner.test", "bob@partner.test", inner, body=RECEIPT)
    inline = forward_raw("<f2@p>", "watch@partner.test", "bob@partner.test", None, body=RECEIPT)
    kinds = [ingest(store, fetched(d, uid=u), cfg, NOW).classification.kind for u, d in ((2, attached), (3, inline))]
    assert kinds == [Kind.FOLLOW_UP, Kind.FOLLOW_UP]
    assert incident_row(store, incident_id)["state"] == "awaiting_response"


def test_a_receipt_in_the_thread_is_recorded_and_the_ladder_runs_on(env):
    cfg, store = env
    seen = ingest(store, fetched(raw("alice@partner.test", "urgent@vendor.test", "<t1@p>")), cfg, NOW)
    incident_id = seen.classification.incident_id
    receipt = raw(
        "no-reply@vendor.test",
        "alice@partner.test",
        "<ack@vendor.test>",
        subject="[Case 12345678] RE: API down",
        date="Wed, 25 Nov 2026 11:15:02 +0000",
        extra="In-Reply-To: <t1@p>\r\n",
    ).replace(b"body of <ack@vendor.test>", RECEIPT.encode())
    c = ingest(store, fetched(receipt, uid=2), cfg, NOW).classification
    assert c.kind == Kind.RECEIPT and c.reason.startswith("the vendor's system acknowledged (receipt wording")
    row = incident_row(store, incident_id)
    assert (row["state"], row["acknowledged_at"], row["acknowledged_by"]) == (
        "awaiting_response",
        "2026-11-25T11:15:02.000Z",
        "<ack@vendor.test>",
    )
    assert store.case_ids(incident_id) == ["12345678"]
    d = ladder.decisions(store, cfg, NOW + timedelta(hours=1))[incident_id]
    assert d.tier == Tier.T2
    escalation_id = enqueue.escalate(store, cfg, incident_id, Tier.T2, d, NOW + timedelta(hours=1))
    msg = email.message_from_bytes(store.outbox_row(Outgoing.ESCALATION, escalation_id).raw, policy=POLICY)
    body = " ".join(msg.get_body(("plain",)).get_content().split())
    assert "The vendor's system acknowledged the T1 at 11:15:02 GMT on Wed 25 Nov 2026; no person has answered." in body
