"""The state database's schema, as sqlite-utils migrations. Append new migrations; never edit old ones."""

from sqlite_utils import Migrations

from agent.core.reading.subjects import normalise_subject

migrations = Migrations("escalation-agent")


@migrations(name="0001_initial")
def initial(db):
    db.executescript(
        """
        CREATE TABLE mailbox_state (
            folder TEXT PRIMARY KEY,
            uidvalidity INTEGER NOT NULL,
            last_uid INTEGER NOT NULL,
            synced_at TEXT NOT NULL
        );
        CREATE TABLE incidents (
            id INTEGER PRIMARY KEY,
            state TEXT NOT NULL CHECK (state IN
                ('awaiting_response', 'responded', 'resolved', 'misrouted', 'stale')),
            subject TEXT NOT NULL,
            subject_key TEXT NOT NULL,
            t1_message_id TEXT NOT NULL UNIQUE,
            t1_sender TEXT NOT NULL,
            t1_recipients TEXT NOT NULL,   -- JSON list
            participants TEXT NOT NULL,    -- JSON list: for the subject-match rule
            t1_sent_at TEXT NOT NULL,
            t1_sent_at_source TEXT NOT NULL,   -- 'date' (the Date header) or 'internaldate'
            t1_references TEXT NOT NULL,
            t1_text TEXT NOT NULL,
            t1_raw BLOB NOT NULL,          -- attached to escalations as message/rfc822
            opened_at TEXT NOT NULL,
            state_changed_at TEXT NOT NULL,
            response_message_id TEXT,
            last_decision TEXT,
            note TEXT
        );
        CREATE INDEX incidents_state ON incidents(state);
        CREATE INDEX incidents_subject_key ON incidents(subject_key);
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            message_id TEXT NOT NULL UNIQUE,
            folder TEXT NOT NULL,
            uid INTEGER NOT NULL,
            uidvalidity INTEGER NOT NULL,
            sender TEXT NOT NULL,
            recipients TEXT NOT NULL,      -- JSON list
            subject TEXT NOT NULL,
            date TEXT,
            internaldate TEXT,
            in_reply_to TEXT NOT NULL,
            refs TEXT NOT NULL,
            thread_index TEXT,
            automatic TEXT,
            size INTEGER NOT NULL,
            kind TEXT NOT NULL,
            reason TEXT NOT NULL,
            incident_id INTEGER REFERENCES incidents(id),
            seen_at TEXT NOT NULL
        );
        CREATE INDEX messages_incident ON messages(incident_id);
        CREATE INDEX messages_thread_index ON messages(thread_index) WHERE thread_index IS NOT NULL;
        CREATE TABLE escalations (
            id INTEGER PRIMARY KEY,
            incident_id INTEGER NOT NULL REFERENCES incidents(id),
            tier INTEGER NOT NULL CHECK (tier IN (2, 3)),
            message_id TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL CHECK (status IN
                ('pending', 'sending', 'sent', 'manual', 'dry_run', 'failed', 'cancelled')),
            decided_at TEXT NOT NULL,
            due_at TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_attempt_at TEXT,
            last_error TEXT,
            sent_at TEXT,
            confirmed_at TEXT,
            recipients TEXT,               -- JSON list: the envelope recipients
            raw BLOB,                      -- the mail as composed (and, in a dry run, kept)
            UNIQUE (incident_id, tier)     -- at most one of each tier per incident, ever
        );
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            incident_id INTEGER REFERENCES incidents(id),
            kind TEXT NOT NULL,
            detail TEXT NOT NULL,
            reason TEXT
        );
        CREATE INDEX events_incident ON events(incident_id);
        CREATE TRIGGER events_no_update BEFORE UPDATE ON events
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER events_no_delete BEFORE DELETE ON events
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        """
    )


@migrations(name="0002_audit_chain_and_notices")
def audit_chain_and_notices(db):
    # Each event carries the hash of the one before it: an edit or a deletion made behind SQLite's
    # back (the triggers stop it through SQL) breaks the chain, and `audit verify` finds where.
    db.executescript(
        """
        ALTER TABLE events ADD COLUMN prev_hash TEXT;
        ALTER TABLE events ADD COLUMN hash TEXT;
        CREATE TABLE notices (
            id INTEGER PRIMARY KEY,
            incident_id INTEGER NOT NULL REFERENCES incidents(id),
            kind TEXT NOT NULL,            -- what the notice is about; one of each per incident
            message_id TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL CHECK (status IN
                ('pending', 'sending', 'sent', 'dry_run', 'failed', 'cancelled')),
            decided_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_attempt_at TEXT,
            last_error TEXT,
            sent_at TEXT,
            confirmed_at TEXT,
            recipients TEXT NOT NULL,      -- JSON list: the envelope recipients
            raw BLOB NOT NULL,
            UNIQUE (incident_id, kind)
        );
        """
    )


@migrations(name="0003_sop_items")
def sop_items(db):
    db.executescript(
        """
        ALTER TABLE incidents ADD COLUMN items TEXT NOT NULL DEFAULT '{}';   -- JSON: SOP item key -> value
        ALTER TABLE incidents ADD COLUMN missing_items TEXT NOT NULL DEFAULT '[]';  -- JSON: item keys
        ALTER TABLE incidents ADD COLUMN marketplace TEXT;
        ALTER TABLE incidents ADD COLUMN misroute TEXT;          -- "contract" / "Insufficient Funds"
        ALTER TABLE incidents ADD COLUMN delivery_failure TEXT;  -- the T1 bounced: why
        """
    )


@migrations(name="0004_message_refs")
def message_refs(db):
    # The Message-IDs a mail outside every incident points at (In-Reply-To, References), so that when its T1
    # arrives later (another folder, a lower UID) it is found by index; a LIKE scan of every message per T1
    # made a first sync over years of mail quadratic.
    # execute, not executescript: that would commit the migration's transaction before the backfill.
    db.execute(
        "CREATE TABLE message_refs (message_id TEXT NOT NULL REFERENCES messages(message_id), "
        "ref TEXT NOT NULL, PRIMARY KEY (ref, message_id)) WITHOUT ROWID"
    )
    rows = db.execute("SELECT message_id, in_reply_to, refs FROM messages WHERE incident_id IS NULL").fetchall()
    db.conn.executemany(
        "INSERT OR IGNORE INTO message_refs (message_id, ref) VALUES (?, ?)",
        [(mid, ref) for mid, irt, refs in rows for ref in set(f"{irt} {refs}".split())],
    )


@migrations(name="0005_hand_sent_tiers")
def hand_sent_tiers(db):
    # A tier sent by hand while ours was pending used to cancel ours and leave the tier `cancelled`, which
    # stopped the ladder. It now counts as sent: such rows become the hand-sent mail (the first manual
    # escalation of the incident seen after ours was decided), or, if none is on record, count as sent when
    # ours was decided. Never `pending` again: the vendor's management had that tier's mail already.
    rows = db.execute(
        "SELECT id, incident_id, decided_at FROM escalations WHERE status = 'cancelled' "
        "AND last_error = 'sent by hand first'"
    ).fetchall()
    for row_id, incident_id, decided_at in rows:
        hand = db.execute(
            "SELECT message_id, coalesce(date, internaldate, seen_at) FROM messages WHERE incident_id = ? "
            "AND kind = 'manual_escalation' AND seen_at >= ? AND message_id NOT IN (SELECT message_id FROM "
            "escalations) ORDER BY id LIMIT 1",
            [incident_id, decided_at],
        ).fetchone()
        fields = {"status": "manual", "sent_at": hand[1] if hand else decided_at, "last_error": "sent by hand first"}
        if hand:
            fields["message_id"] = hand[0]
        assigns = ", ".join(f"{k} = :{k}" for k in fields)
        db.execute(f"UPDATE escalations SET {assigns} WHERE id = :id", {**fields, "id": row_id})


@migrations(name="0006_subject_keys")
def subject_keys(db):
    # The subject key now also drops the tags case systems and mail gateways add ([Case N], [ ref:…:ref ],
    # INC0012345, [EXTERNAL]) and reply prefixes in more languages, wherever they stand: recompute it for every
    # incident, or a case system's answer to an incident opened before the upgrade would not find it.
    # The live rule on purpose: the key must be what `find_thread` computes for new mail.
    rows = db.execute("SELECT id, subject FROM incidents").fetchall()
    db.conn.executemany(
        "UPDATE incidents SET subject_key = ? WHERE id = ?", [(normalise_subject(s), i) for i, s in rows]
    )


@migrations(name="0007_case_ids_and_original_message_ids")
def case_ids_and_original_message_ids(db):
    # case_ids: the vendor's case ids, learned from its mail in an incident's thread; a mail carrying one later
    # belongs to that incident whatever its headers. One case id belongs to one incident (its primary key); an
    # incident may have several (a Salesforce thread id and a case number).
    # messages.original_message_id: the Message-ID a relay (Outlook.com, Gmail) replaced, so that a reply to either
    # id finds the incident. execute, not executescript: that would commit the migration's transaction.
    db.execute(
        "CREATE TABLE case_ids (case_id TEXT PRIMARY KEY, incident_id INTEGER NOT NULL REFERENCES incidents(id), "
        "message_id TEXT NOT NULL, learned_at TEXT NOT NULL)"
    )
    db.execute("CREATE INDEX case_ids_incident ON case_ids(incident_id)")
    db.execute("ALTER TABLE messages ADD COLUMN original_message_id TEXT")
    db.execute(
        "CREATE INDEX messages_original_message_id ON messages(original_message_id) "
        "WHERE original_message_id IS NOT NULL"
    )


@migrations(name="0008_steering")
def steering(db):
    # What engineers asked for by command (#hold, #escalate, #resume, or the CLI twins): the clock honours it.
    db.executescript(
        """
        ALTER TABLE incidents ADD COLUMN hold_until TEXT;   -- the next escalation waits until then
        ALTER TABLE incidents ADD COLUMN escalate_at TEXT;  -- the next tier was asked for at once, then
        ALTER TABLE incidents ADD COLUMN resumed_at TEXT;   -- opened again then: the next window runs from it
        """
    )


@migrations(name="0009_alarms")
def alarms(db):
    # Mails about the agent itself to [agent] ops_address: "blind" when the mailbox has been unreadable for
    # blind_alert_after, "sight" when it can be read again. At most one of each kind per outage, ever: the outage is
    # named by its start (the last good read, ISO 8601 UTC), and the unique key holds it whatever the code does.
    # execute, not executescript: that would commit the migration's transaction before it is recorded.
    db.execute(
        """
        CREATE TABLE alarms (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('blind', 'sight')),
            outage TEXT NOT NULL,          -- when the outage began: the last good read of every folder
            reason TEXT,                   -- why the mailbox could not be read, in one line
            message_id TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL CHECK (status IN
                ('pending', 'sending', 'sent', 'dry_run', 'failed', 'cancelled')),
            decided_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_attempt_at TEXT,
            last_error TEXT,
            sent_at TEXT,
            confirmed_at TEXT,
            recipients TEXT NOT NULL,      -- JSON list: the envelope recipients
            raw BLOB NOT NULL,
            UNIQUE (kind, outage)          -- one alarm, and one all-clear, per outage
        )
        """
    )


@migrations(name="0010_drills")
def drills(db):
    # A drill incident (`escalation-agent drill`: its T1 went to [drill] t1_address) climbs the drill's ladder and
    # stays out of `status`, the metrics and the canned queries of real incidents.
    db.execute("ALTER TABLE incidents ADD COLUMN drill INTEGER NOT NULL DEFAULT 0 CHECK (drill IN (0, 1))")


@migrations(name="0011_reading")
def reading(db):
    # How far a long first sync or re-map of a folder is, written by the running agent for `status`.
    db.execute("ALTER TABLE mailbox_state ADD COLUMN reading TEXT")


@migrations(name="0012_acknowledged")
def acknowledged(db):
    # The vendor's case system acknowledged the T1 (a receipt, not a person's answer): when, and by which mail.
    # `status`, `show` and the escalations say it; the ladder runs on.
    db.execute("ALTER TABLE incidents ADD COLUMN acknowledged_at TEXT")
    db.execute("ALTER TABLE incidents ADD COLUMN acknowledged_by TEXT")


@migrations(name="0014_smaller_escalations_and_joined_t1s")
def smaller_escalations_and_joined_t1s(db):
    # issue 21.3: the escalation's smaller form (the T1's header and text only, or no attachment), composed with the
    # first and sent at once, under the same Message-ID, when the SMTP server refuses the first for its size.
    db.execute("ALTER TABLE escalations ADD COLUMN smaller_raw BLOB")
    # issue 21.4: a second T1 about the same outage (core/procedure/outage.py) joins the open incident instead of
    # opening its
    # own: its people join the Cc of later escalations, its thread counts as the incident's (its mail row points at
    # the incident), and the escalation names it. One row per joined T1, with why it was joined.
    db.execute(
        """
        CREATE TABLE joined_t1s (
            id INTEGER PRIMARY KEY,
            incident_id INTEGER NOT NULL REFERENCES incidents(id),
            message_id TEXT NOT NULL UNIQUE,
            sender TEXT NOT NULL,
            recipients TEXT NOT NULL,      -- JSON list
            subject TEXT NOT NULL,
            sent_at TEXT NOT NULL,
            refs TEXT NOT NULL DEFAULT '',
            reason TEXT NOT NULL,          -- why it joined: core/procedure/outage.py Sameness, with what both said
            joined_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX joined_t1s_incident ON joined_t1s(incident_id)")


@migrations(name="0015_provenance")
def provenance(db):
    # The X-Escalation-Agent-Provenance of a mail the agent sent (what it was, for which incident, which member sent
    # it), as found in the mailbox: for auditors, and so that a copy read before its T1 (another folder) still counts
    # as sent once the T1 is read (agent.core.deciding.adoption). NULL for every other mail.
    db.execute("ALTER TABLE messages ADD COLUMN provenance TEXT")


@migrations(name="0016_ha_alarms")
def ha_alarms(db):
    # [ha]: "coordination" when this member has not been able to reach the coordination service for its lease (no
    # member may then send), "coordination_back" when it can again; one of each per outage, as for "blind". SQLite
    # cannot widen a CHECK: the table is rebuilt with its rows, its columns as 0009 made them.
    db.execute(
        """
        CREATE TABLE alarms_new (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('blind', 'sight', 'coordination', 'coordination_back')),
            outage TEXT NOT NULL,
            reason TEXT,
            message_id TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL CHECK (status IN
                ('pending', 'sending', 'sent', 'dry_run', 'failed', 'cancelled')),
            decided_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_attempt_at TEXT,
            last_error TEXT,
            sent_at TEXT,
            confirmed_at TEXT,
            recipients TEXT NOT NULL,
            raw BLOB NOT NULL,
            UNIQUE (kind, outage)
        )
        """
    )
    db.execute("INSERT INTO alarms_new SELECT * FROM alarms")
    db.execute("DROP TABLE alarms")
    db.execute("ALTER TABLE alarms_new RENAME TO alarms")


@migrations(name="0019_probes")
def probes(db):
    # [probe]: every run of the API check (docs/probe.md), for the escalations' evidence, `show`, the export and
    # reports. at: ISO 8601 UTC; ok: 1 the API answered as it should, 0 it failed; evidence: the probe's first output
    # line (control characters stripped, at most 160 characters; untrusted text); incident_id: the oldest incident open
    # when it ran, NULL when it ran with `always = true` and none was. execute, not executescript (see 0009).
    db.execute(
        """
        CREATE TABLE probes (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            ok INTEGER NOT NULL CHECK (ok IN (0, 1)),
            evidence TEXT NOT NULL,
            incident_id INTEGER REFERENCES incidents(id)
        )
        """
    )
    db.execute("CREATE INDEX probes_at ON probes(at)")


@migrations(name="0020_passed_over")
def passed_over(db):
    # How many old mails of the folder the server passed over (issue 20, item 6) since the last old_mail_passed_over
    # event: counted in the transaction that moves the folder's state past them, so a restart loses no count.
    db.execute("ALTER TABLE mailbox_state ADD COLUMN passed_over INTEGER NOT NULL DEFAULT 0")
