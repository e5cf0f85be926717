"""The report's data preparation (`core.timeline`), from literal rows as the database holds them: what each incident's
picture shows, the time to the first human answer, the windows, the outcome, and the months."""

from datetime import timedelta

from agent.core.story.timeline import Lane, Tone, Windows, timeline
from agent.core.story.trend import months, short

WINDOWS = Windows(timedelta(minutes=30), timedelta(minutes=30))


def incident(**fields):
    row = dict(id=7, state="responded", subject="Incentives API: F500", t1_sent_at="2026-11-02T11:15:00.000Z", drill=0)
    row.update(fields)
    return row


T2_SENT = dict(
    tier=2,
    status="sent",
    due_at="2026-11-02T11:45:00.000Z",
    sent_at="2026-11-02T11:45:03.250Z",
    decided_at="2026-11-02T11:45:00.100Z",
)
ANSWER = dict(
    kind="response",
    sender="jane@vendor.test",
    date="2026-11-02T11:58:00.000Z",
    internaldate="2026-11-02T11:58:02.000Z",
    seen_at="2026-11-02T11:58:04.000Z",
)


def test_an_incident_answered_after_its_t2():
    t = timeline(incident(), [T2_SENT], [ANSWER], [], [], WINDOWS)
    assert [(m.lane, m.label) for m in t.marks] == [
        (Lane.LADDER, "T1"),
        (Lane.LADDER, "T2"),
        (Lane.VENDOR, "answer"),
    ]
    assert t.to_answer == timedelta(minutes=43)
    assert (t.highest_tier, t.tier_at_answer, t.answered_by) == (2, 2, "jane@vendor.test")
    # The T2 window ends at the stored due time; the T3 window runs from the T2's send, for t3_after.
    assert [(w.tier, w.start.strftime("%H:%M:%S"), w.end.strftime("%H:%M:%S")) for w in t.windows] == [
        (2, "11:15:00", "11:45:00"),
        (3, "11:45:03", "12:15:03"),
    ]
    assert t.late == ((2, timedelta(seconds=3.25)),)
    assert t.outcome == "answered by jane@vendor.test 43 minutes after the T1"
    assert t.month == "2026-11" and t.needed(2) and not t.needed(3)


def test_a_vendor_clock_behind_ours_takes_the_arrival_time():
    early = dict(ANSWER, date="2026-11-02T11:10:00.000Z", internaldate="2026-11-02T11:20:00.000Z")
    t = timeline(incident(), [], [early], [], [], WINDOWS)
    assert t.to_answer == timedelta(minutes=5)
    assert t.tier_at_answer == 1 and [w.tier for w in t.windows] == [2]  # the T2 window, from the config


def test_without_a_response_mail_the_responded_event_is_the_answer():
    responded = dict(at="2026-11-02T11:20:00.000Z", kind="responded", detail="response <a@vendor.test>")
    t = timeline(incident(), [], [], [responded], [], WINDOWS)
    assert t.to_answer == timedelta(minutes=5) and t.answered_by is None


def test_every_event_kind_that_is_not_bookkeeping_becomes_a_labelled_mark():
    events = [
        dict(at="2026-11-02T11:15:01.000Z", kind="incident_opened", detail="T1"),
        dict(at="2026-11-02T11:15:02.000Z", kind="decision", detail="wait"),
        dict(at="2026-11-02T11:16:00.000Z", kind="acknowledged", detail="case 12345678 created"),
        dict(at="2026-11-02T11:20:00.000Z", kind="command", detail="#hold 30m checking from alice@partner.test"),
        dict(at="2026-11-02T11:21:00.000Z", kind="send_failed", detail="451"),
        dict(at="2026-11-02T11:22:00.000Z", kind="joined_incident", detail="a second T1"),
    ]
    t = timeline(incident(state="awaiting_response"), [], [], events, [], WINDOWS)
    drawn = [(m.lane, m.tone, m.label) for m in t.marks[1:]]
    assert drawn == [
        (Lane.VENDOR, Tone.ACK, "acknowledged"),
        (Lane.ENGINEERS, Tone.COMMAND, "#hold 30m checking"),
        (Lane.AGENT, Tone.PROBLEM, "send failed"),
        (Lane.AGENT, Tone.OTHER, "joined incident"),
    ]
    assert t.to_answer is None and t.outcome == "no answer yet"


def test_a_receipt_told_twice_is_drawn_once():
    receipt = dict(kind="auto_reply", sender="no-reply@vendor.test", internaldate="2026-11-02T11:16:00.000Z")
    event = dict(at="2026-11-02T11:16:01.000Z", kind="receipt", detail="case created")
    t = timeline(incident(state="awaiting_response"), [], [receipt], [event], [], WINDOWS)
    assert [m.tone for m in t.marks if m.lane == Lane.VENDOR] == [Tone.ACK]


def test_probe_results_within_the_incident_show_on_their_lane():
    probes = [
        dict(at="2026-11-02T11:00:00.000Z", ok=False),  # before the T1: not this incident's
        dict(at="2026-11-02T11:30:00.000Z", ok=False),
        dict(at="2026-11-02T11:50:00.000Z", ok=True),
    ]
    t = timeline(incident(), [T2_SENT], [ANSWER], [], probes, WINDOWS)
    assert [m.tone for m in t.marks if m.lane == Lane.PROBE] == [Tone.PROBE_FAIL, Tone.PROBE_OK]


def test_stopped_by_a_command_and_by_hand():
    stop = dict(at="2026-11-02T11:40:00.000Z", kind="command", detail="#stop vendor phoned from alice@partner.test")
    assert timeline(incident(state="resolved"), [], [], [stop], [], WINDOWS).outcome == (
        "stopped: #stop vendor phoned from alice@partner.test"
    )
    by_hand = timeline(incident(state="resolved", note="fixed on our side"), [], [], [], [], WINDOWS)
    assert by_hand.outcome == "resolved by hand: fixed on our side"


def test_a_misrouted_incident_has_no_windows_and_a_dry_run_tier_counts_as_needed():
    assert timeline(incident(state="misrouted"), [], [], [], [], WINDOWS).windows == ()
    dry = dict(T2_SENT, status="dry_run")
    t = timeline(incident(state="awaiting_response"), [dry], [], [], [], Windows(None, None))
    assert [(m.tone, m.label) for m in t.marks] == [(Tone.TIER, "T1"), (Tone.DRY_RUN, "T2 (dry run)")]
    assert t.needed(2) and t.late == ()  # nothing was sent: no lateness
    assert [w.tier for w in t.windows] == [2]  # the stored due time; no t3_after known, no T3 window drawn


def test_months_count_incidents_answers_and_tiers_needed():
    t3 = dict(tier=3, status="sent", due_at="2026-11-02T12:15:00.000Z", sent_at="2026-11-02T12:15:01.000Z")
    rows = [
        timeline(incident(id=1), [T2_SENT], [ANSWER], [], [], WINDOWS),
        timeline(incident(id=2, state="awaiting_response"), [T2_SENT, t3], [], [], [], WINDOWS),
        timeline(
            incident(id=3, t1_sent_at="2026-12-01T08:00:00.000Z"),
            [],
            [dict(ANSWER, date="2026-12-01T08:04:00Z")],
            [],
            [],
            WINDOWS,
        ),
    ]
    [nov, dec] = months(rows)
    assert (nov.month, nov.incidents, nov.answered, nov.t2_needed, nov.t3_needed) == ("2026-11", 2, 1, 2, 1)
    assert nov.median_to_answer == timedelta(minutes=43)
    assert (dec.month, dec.incidents, dec.t2_needed, dec.median_to_answer) == ("2026-12", 1, 0, timedelta(minutes=4))


def test_short_durations():
    assert [short(timedelta(seconds=s)) for s in (4, 252, 7500, 3 * 86400 + 4 * 3600)] == [
        "4s",
        "4m 12s",
        "2h 5m",
        "3d 4h",
    ]
    assert short(None) == "-"
