"""steer(): what an engineer's command does to an incident, as effects (unit: literal incidents, no database)."""

from datetime import UTC, datetime, timedelta

from agent.core.deciding.effect import CancelPending, Event, SetState, Steer
from agent.core.deciding.mail_commands import Command, Malformed, Verb
from agent.core.deciding.steering import Reply, refused, steer
from agent.core.procedure.policy import Escalation, Incident, Policy, State, Status, Steering
from agent.core.sop import Tier

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
POLICY = Policy(timedelta(minutes=30), timedelta(minutes=30))
BOB = "bob@partner.test"


def incident(state=State.AWAITING_RESPONSE, *escalations, steering=None):
    return Incident(4, state, T0, tuple(escalations), frozenset(), "<t1@partner.test>", steering or Steering())


def test_stop_resolves_and_cancels_what_is_pending():
    out = steer(incident(), Command(Verb.STOP, "vendor phoned, fixing"), BOB, POLICY, T0 + timedelta(minutes=10))
    assert out[0] == SetState(
        State.RESOLVED, note="#stop (vendor phoned, fixing) by bob@partner.test", by="#stop from bob@partner.test"
    )
    assert out[1] == CancelPending("stopped by bob@partner.test")
    assert out[2] == Event(
        "resolved",
        "resolved by #stop (vendor phoned, fixing) from bob@partner.test; was awaiting_response",
        "an engineer's command",
    )
    assert out[3] == Event(
        "command", "#stop (vendor phoned, fixing) from bob@partner.test", "The incident is resolved: no tier is sent"
    )
    assert isinstance(out[4], Reply) and out[4].to == BOB
    assert out[4].body == "Done: #stop (vendor phoned, fixing). The incident is resolved: no tier is sent."


def test_hold_moves_the_next_tier_and_says_until_when():
    now = T0 + timedelta(minutes=20)
    out = steer(incident(), Command(Verb.HOLD, "", timedelta(hours=1)), BOB, POLICY, now)
    assert out[0] == Steer(Steering(hold_until=now + timedelta(hours=1)))
    assert out[1].detail == "#hold 1h00m from bob@partner.test"
    assert out[1].reason == "T2 on hold until 04:20:00 GMT on Wed 25 Nov 2026"
    assert "T2 on hold until 04:20:00 GMT" in out[2].body


def test_escalate_makes_the_next_tier_go_now_and_clears_a_hold():
    held = incident(steering=Steering(hold_until=T0 + timedelta(hours=3)))
    now = T0 + timedelta(minutes=5)
    out = steer(held, Command(Verb.ESCALATE), BOB, POLICY, now)
    assert out[0] == Steer(Steering(escalate_at=now))
    assert out[1].reason == "T2 goes now"


def test_resume_opens_a_responded_incident_with_a_fresh_window():
    now = T0 + timedelta(hours=2)
    out = steer(incident(State.RESPONDED), Command(Verb.RESUME, "still failing"), BOB, POLICY, now)
    assert out[0] == SetState(State.AWAITING_RESPONSE, note="#resume (still failing) by bob@partner.test")
    assert out[1] == Steer(Steering(resumed_at=now))
    assert out[2].reason == "T2 due 05:30:00 GMT on Wed 25 Nov 2026"


def test_status_changes_nothing_and_tells_where_it_stands():
    sent = Escalation(Tier.T2, Status.SENT, T0 + timedelta(minutes=30))
    out = steer(incident(State.AWAITING_RESPONSE, sent), Command(Verb.STATUS), BOB, POLICY, T0 + timedelta(minutes=40))
    assert [type(e) for e in out] == [Event, Reply]
    assert out[1].body.startswith(
        "The incident is awaiting the vendor's response; the highest tier contacted is T2. T3 due 04:00:00 GMT"
    )


def test_a_command_that_cannot_apply_changes_nothing_and_says_why():
    t3 = Escalation(Tier.T3, Status.SENT, T0 + timedelta(hours=1))
    out = steer(incident(State.AWAITING_RESPONSE, t3), Command(Verb.ESCALATE), BOB, POLICY, T0 + timedelta(hours=1))
    assert [type(e) for e in out] == [Event, Reply] and out[0].kind == "command_refused"
    assert "T3 is the last" in out[1].body
    assert "already resolved" in steer(incident(State.RESOLVED), Command(Verb.STOP), BOB, POLICY, T0)[1].body
    assert (
        "#resume opens a resolved or responded one" in steer(incident(), Command(Verb.RESUME), BOB, POLICY, T0)[1].body
    )
    out = refused(Malformed("#stopp", "#stopp is not a command"), BOB)
    assert out[0].kind == "command_refused" and "#stopp is not a command" in out[1].body


def test_after_a_tier_was_rejected_for_good_hold_and_escalate_say_so():
    failed = Escalation(Tier.T2, Status.FAILED, None)
    out = steer(incident(State.AWAITING_RESPONSE, failed), Command(Verb.ESCALATE), BOB, POLICY, T0)
    assert out[0].kind == "command_refused" and "T2 was rejected for good" in out[1].body
    status = steer(incident(State.AWAITING_RESPONSE, failed), Command(Verb.STATUS), BOB, POLICY, T0)
    assert "rejected for good by the mail server: escalate by hand" in status[-1].body
