from datetime import UTC, datetime, timedelta

from agent.core.procedure.policy import Decision, Escalation, Incident, Policy, Reason, State, Status, decide
from agent.core.sop import Tier

T0 = datetime(2026, 11, 25, 11, 15, tzinfo=UTC)
POLICY = Policy(timedelta(minutes=30), timedelta(minutes=30))


def at(minutes, seconds=0):
    return T0 + timedelta(minutes=minutes, seconds=seconds)


def incident(*escalations, state=State.AWAITING_RESPONSE):
    return Incident(1, state, T0, tuple(escalations))


def test_before_the_t2_window_it_waits_with_the_deadline():
    assert decide(incident(), POLICY, at(29, 59)) == Decision(Reason.NOT_YET_DUE, None, at(30))


def test_t2_is_due_exactly_at_the_window():
    assert decide(incident(), POLICY, at(30)) == Decision(Reason.T2_DUE, Tier.T2, at(30))


def test_an_agent_down_past_both_deadlines_sends_t2_now_and_t3_only_after_its_own_window():
    assert decide(incident(), POLICY, at(200)).tier == Tier.T2
    sent = incident(Escalation(Tier.T2, Status.SENT, at(200)))
    assert decide(sent, POLICY, at(229)) == Decision(Reason.NOT_YET_DUE, None, at(230))


def test_t3_window_runs_from_the_t2_send_time_not_its_deadline():
    late_t2 = incident(Escalation(Tier.T2, Status.SENT, at(31)))
    assert decide(late_t2, POLICY, at(60, 59)).send is False
    assert decide(late_t2, POLICY, at(61)) == Decision(Reason.T3_DUE, Tier.T3, at(61))


def test_after_t3_the_ladder_is_done_and_our_people_are_told_once_when_nobody_answered():
    escalations = (Escalation(Tier.T2, Status.SENT, at(30)), Escalation(Tier.T3, Status.SENT, at(60)))
    assert decide(incident(*escalations), POLICY, at(89)) == Decision(Reason.NOT_YET_DUE, due_at=at(90))
    assert decide(incident(*escalations), POLICY, at(90)) == Decision(
        Reason.EXHAUSTED, due_at=at(90), notice="exhausted"
    )
    told = Incident(1, State.AWAITING_RESPONSE, T0, escalations, frozenset({"exhausted"}))
    assert decide(told, POLICY, at(500)) == Decision(Reason.LADDER_DONE)


def test_a_response_stops_everything():
    for state, reason in (
        (State.RESPONDED, Reason.RESPONDED),
        (State.RESOLVED, Reason.RESOLVED),
        (State.MISROUTED, Reason.MISROUTED),
        (State.STALE, Reason.STALE),
    ):
        assert decide(incident(state=state), POLICY, at(100)) == Decision(reason)


def test_a_pending_escalation_is_retried_and_one_in_flight_is_not():
    assert decide(incident(Escalation(Tier.T2, Status.PENDING, None)), POLICY, at(40)) == Decision(
        Reason.RETRY, Tier.T2, at(30)
    )
    assert decide(incident(Escalation(Tier.T2, Status.SENDING, None)), POLICY, at(40)).send is False


def test_a_failed_escalation_is_not_retried():
    assert decide(incident(Escalation(Tier.T2, Status.FAILED, None)), POLICY, at(40)) == Decision(Reason.FAILED)


def test_a_manual_t2_counts_and_starts_the_t3_window():
    manual = incident(Escalation(Tier.T2, Status.MANUAL, at(10)))
    assert decide(manual, POLICY, at(39)) == Decision(Reason.NOT_YET_DUE, None, at(40))
    assert decide(manual, POLICY, at(40)).tier == Tier.T3


def test_a_manual_t3_ends_the_ladder_even_without_a_t2():
    assert decide(incident(Escalation(Tier.T3, Status.MANUAL, at(5))), POLICY, at(20)) == Decision(
        Reason.NOT_YET_DUE, due_at=at(35)
    )


def test_dry_run_escalations_advance_the_ladder():
    dry = incident(Escalation(Tier.T2, Status.DRY_RUN, at(30)))
    assert decide(dry, POLICY, at(60)).tier == Tier.T3


def test_the_incident_tier_is_the_highest_contacted():
    assert incident().tier == Tier.T1
    assert incident(Escalation(Tier.T2, Status.PENDING, None)).tier == Tier.T1
    assert incident(Escalation(Tier.T2, Status.SENT, at(30))).tier == Tier.T2


def test_a_cancelled_tier_never_stops_the_ladder():
    # cancelled: decided, never handed to the server (a response came, then the incident was opened again)
    cancelled = incident(Escalation(Tier.T2, Status.CANCELLED, None))
    assert decide(cancelled, POLICY, at(29)) == Decision(Reason.NOT_YET_DUE, None, at(30))
    assert decide(cancelled, POLICY, at(31)) == Decision(Reason.T2_DUE, Tier.T2, at(30))
    after_t2 = incident(Escalation(Tier.T2, Status.SENT, at(30)), Escalation(Tier.T3, Status.CANCELLED, None))
    assert decide(after_t2, POLICY, at(61)) == Decision(Reason.T3_DUE, Tier.T3, at(60))


def test_a_tier_rejected_for_good_still_stops_it():
    assert decide(incident(Escalation(Tier.T2, Status.FAILED, None)), POLICY, at(90)).reason == Reason.FAILED


def steered(*escalations, **steering):
    from agent.core.procedure.policy import Steering

    return Incident(1, State.AWAITING_RESPONSE, T0, tuple(escalations), steering=Steering(**steering))


def test_a_hold_delays_the_next_tier_until_it_ends_and_never_brings_it_forward():
    held = steered(hold_until=at(70))
    assert decide(held, POLICY, at(45)) == Decision(Reason.HELD, None, at(70))
    assert decide(held, POLICY, at(70)) == Decision(Reason.T2_DUE, Tier.T2, at(70))
    short = steered(hold_until=at(10))  # ends before the deadline: the deadline stands
    assert decide(short, POLICY, at(29)) == Decision(Reason.NOT_YET_DUE, None, at(30))
    after_t2 = steered(Escalation(Tier.T2, Status.SENT, at(30)), hold_until=at(80))
    assert decide(after_t2, POLICY, at(61)) == Decision(Reason.HELD, None, at(80))


def test_escalate_now_makes_the_next_tier_due_at_once_only_in_its_own_window():
    asked = steered(escalate_at=at(5))
    assert decide(asked, POLICY, at(5)) == Decision(Reason.ASKED, Tier.T2, at(5))
    # the T2 it asked for went out; the T3 keeps its own window from the T2
    done = steered(Escalation(Tier.T2, Status.SENT, at(5, 2)), escalate_at=at(5))
    assert decide(done, POLICY, at(20)) == Decision(Reason.NOT_YET_DUE, None, at(35, 2))


def test_a_resumed_incident_runs_its_next_window_from_the_resume():
    resumed = steered(resumed_at=at(100))
    assert decide(resumed, POLICY, at(110)) == Decision(Reason.NOT_YET_DUE, None, at(130))
    assert decide(resumed, POLICY, at(130)).tier == Tier.T2
    after_t2 = steered(Escalation(Tier.T2, Status.SENT, at(30)), resumed_at=at(100))
    assert decide(after_t2, POLICY, at(129)) == Decision(Reason.NOT_YET_DUE, None, at(130))


def test_a_hold_also_holds_a_tier_that_smtp_is_still_retrying():
    pending = steered(Escalation(Tier.T2, Status.PENDING, None), hold_until=at(90))
    assert decide(pending, POLICY, at(40)) == Decision(Reason.HELD, None, at(90))
    assert decide(pending, POLICY, at(90)).reason == Reason.RETRY
