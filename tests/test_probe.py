"""The API check's pure parts (agent/core/procedure/probe.py): what a run means, the summary an escalation carries,
when the API
counts as answering again, the hold of hold_on_recovery, and the words and strip the mails show."""

from datetime import UTC, datetime, timedelta

from agent.core.procedure import probe
from agent.core.procedure.policy import Decision, Escalation, Incident, Policy, Reason, State, Status, decide
from agent.core.procedure.probe import Answer, Hold, Run
from agent.core.sop import Tier
from agent.core.writing import notices
from agent.core.writing.compose import Original, Step
from agent.core.writing.escalation import escalation
from agent.core.writing.page import Page, Strip, html, text

T0 = datetime(2026, 11, 25, 11, 15, 6, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def runs(marks: str, start: datetime = T0, every: timedelta = MINUTE) -> list[Run]:
    """`xx++`: a failure, a failure, a pass, a pass, one a minute."""
    return [
        Run(start + i * every, m == "+", "200 SUCCESS" if m == "+" else "F500 GeneralError requestId=Acmes3324500H2")
        for i, m in enumerate(marks)
    ]


# -- one run ---------------------------------------------------------------------------------------------------------
def test_a_command_passes_on_exit_0_and_its_first_non_empty_line_is_the_evidence():
    run = probe.command_run(T0, 0, b"\n  200 SUCCESS availableFunds\nmore\n", timedelta(seconds=10))
    assert run == Run(T0, True, "200 SUCCESS availableFunds")
    failed = probe.command_run(T0, 1, b"F500 GeneralError requestId=X\n", timedelta(seconds=10))
    assert failed == Run(T0, False, "F500 GeneralError requestId=X")


def test_a_command_that_says_nothing_gets_its_exit_status_and_one_killed_at_its_timeout_says_so():
    assert probe.command_run(T0, 3, b"", timedelta(seconds=10)).evidence == "exit status 3"
    killed = probe.command_run(T0, None, None, timedelta(seconds=2))
    assert not killed.ok and killed.evidence == "no answer within 2s (the probe was stopped)"


def test_untrusted_output_loses_its_control_characters_and_is_cut_short():
    hostile = b"\x1b[31mF500\x1b[0m GeneralError\r\nBcc: x@evil.test\x00" + b"A" * 500
    run = probe.command_run(T0, 1, hostile, timedelta(seconds=10))
    assert "\x1b" not in run.evidence and "\r" not in run.evidence and "\n" not in run.evidence
    assert run.evidence.startswith("[31mF500 [0m GeneralError")
    long = probe.command_run(T0, 1, b"F500 " + b"B" * 500, timedelta(seconds=10))
    assert len(long.evidence) == probe.EVIDENCE_LIMIT
    assert probe.command_run(T0, 1, b"\xff\xfe bad bytes", timedelta(seconds=1)).evidence == "\ufffd\ufffd bad bytes"


def test_a_url_passes_only_with_the_expected_status():
    assert probe.http_run(T0, 200, 200, None, b"ok\n") == Run(T0, True, "HTTP 200 ok")
    assert probe.http_run(T0, 503, 200, None, b"") == Run(T0, False, "HTTP 503")
    assert probe.http_run(T0, 204, 204, None) == Run(T0, True, "HTTP 204")
    assert probe.http_run(T0, None, 200, "no answer from the URL: timed out") == Run(
        T0, False, "no answer from the URL: timed out"
    )


def test_command_and_url_together_pass_only_when_both_do():
    ok, bad = Run(T0, True, "200 SUCCESS"), Run(T0, False, "HTTP 503")
    assert probe.both([ok, ok]).ok
    assert probe.both([ok, bad]) == Run(T0, False, "HTTP 503")


def test_what_a_run_says_about_the_urgent_line():
    assert probe.answer(Run(T0, True, "200 SUCCESS")) == Answer.ANSWERS
    assert probe.answer(Run(T0, False, "F500 GeneralError requestId=X")) == Answer.FAILS
    assert probe.answer(Run(T0, False, "F300 InsufficientFunds requestId=X")) == Answer.NOT_URGENT
    assert probe.answer(Run(T0, False, "F300 ActiveContractNotFound")) == Answer.NOT_URGENT
    assert probe.answer(Run(T0, False, "F400 SystemTemporarilyUnavailable")) == Answer.FAILS


# -- the summary -----------------------------------------------------------------------------------------------------
def test_the_summary_of_37_failures_reads_as_the_issue_asks():
    s = probe.summarise(runs("x" * 37, every=timedelta(seconds=47)))
    assert s is not None and s.failing_since == T0 and s.answering_since is None
    assert probe.sentence(s) == (
        "API check: failing — 37 of 37 probes since 11:15:06 GMT; the last at 11:43:18 GMT: "
        "F500 GeneralError requestId=Acmes3324500H2"
    )
    assert len(s.strip) == probe.STRIP and not any(s.strip)


def test_the_summary_of_an_api_that_answers_again_says_since_when():
    s = probe.summarise(runs("xxx+++"))
    assert s is not None and s.answering_since == T0 + 3 * MINUTE and s.failing_since is None
    assert probe.sentence(s).startswith("API check: answering again since 11:18:06 GMT — 3 of 6 probes since 11:15:06")
    assert s.strip == (False, False, False, True, True, True)
    assert probe.strip_text(s) == "Recent probes, oldest first (+ passed, x failed): xxx+++"


def test_a_failing_streak_starts_at_its_first_failure_and_no_runs_is_no_summary():
    s = probe.summarise(runs("++xx"))
    assert s is not None and s.failing_since == T0 + 2 * MINUTE
    assert probe.sentence(s).startswith("API check: failing — 2 of 4 probes since 11:15:06 GMT")
    assert probe.summarise([]) is None
    passing = probe.summarise(runs("++"))
    assert passing is not None and probe.sentence(passing).startswith("API check: answering — none of 2 probes")


# -- recovery --------------------------------------------------------------------------------------------------------
def test_the_api_answers_again_after_recovered_after_passes_in_a_row_following_a_failure():
    assert probe.recovered_since(runs("xx++"), 3) is None
    assert probe.recovered_since(runs("xx+++"), 3) == T0 + 2 * MINUTE
    assert probe.recovered_since(runs("xx+++++"), 3) == T0 + 2 * MINUTE  # the same recovery: one mail
    assert probe.recovered_since(runs("xx+++x"), 3) is None  # it fails again: the ladder goes on
    assert probe.recovered_since(runs("xx+++x+++"), 3) == T0 + 6 * MINUTE  # a second recovery, its own start


def test_an_api_that_never_failed_has_not_recovered():
    assert probe.recovered_since(runs("+++++"), 3) is None
    assert probe.recovered_since([], 3) is None


# -- the hold --------------------------------------------------------------------------------------------------------
POLICY = Policy(timedelta(minutes=30), timedelta(minutes=30))
HOLD = Hold(T0 + 20 * MINUTE, T0 + 31 * MINUTE)


def test_with_the_api_answering_again_a_due_tier_waits_until_the_next_check():
    incident = Incident(1, State.AWAITING_RESPONSE, T0)
    assert decide(incident, POLICY, T0 + 30 * MINUTE, HOLD) == Decision(Reason.API_ANSWERS, due_at=T0 + 31 * MINUTE)
    assert decide(incident, POLICY, T0 + 30 * MINUTE) == Decision(Reason.T2_DUE, Tier.T2, T0 + 30 * MINUTE)


def test_the_hold_changes_nothing_before_the_deadline_and_nothing_after_the_t3():
    incident = Incident(1, State.AWAITING_RESPONSE, T0)
    assert decide(incident, POLICY, T0 + 10 * MINUTE, HOLD) == Decision(Reason.NOT_YET_DUE, due_at=T0 + 30 * MINUTE)
    done = Incident(
        1,
        State.AWAITING_RESPONSE,
        T0,
        (Escalation(Tier.T2, Status.SENT, T0 + 30 * MINUTE), Escalation(Tier.T3, Status.SENT, T0 + 60 * MINUTE)),
    )
    assert decide(done, POLICY, T0 + 70 * MINUTE, HOLD).reason == Reason.NOT_YET_DUE


def test_an_engineers_escalate_goes_through_the_hold():
    from agent.core.procedure.policy import Steering

    asked = Incident(1, State.AWAITING_RESPONSE, T0, steering=Steering(escalate_at=T0 + 5 * MINUTE))
    assert decide(asked, POLICY, T0 + 6 * MINUTE, HOLD).tier == Tier.T2


def test_a_hold_whose_check_is_late_waits_from_now():
    incident = Incident(1, State.AWAITING_RESPONSE, T0)
    late = Hold(T0, T0 + MINUTE)
    assert decide(incident, POLICY, T0 + 40 * MINUTE, late) == Decision(Reason.API_ANSWERS, due_at=T0 + 40 * MINUTE)


# -- the words -------------------------------------------------------------------------------------------------------
def test_eligibility_at_the_t1_says_what_the_check_found():
    ok = probe.eligibility(Run(T0, True, "200 SUCCESS"))
    assert ok is not None and "our check of the API succeeds right now" in ok
    assert "the urgent line is for when no call succeeds" in ok
    funds = probe.eligibility(Run(T0, False, "F300 InsufficientFunds"))
    assert funds is not None and "funds or contract error" in funds and "F300 InsufficientFunds" in funds
    fails = probe.eligibility(Run(T0, False, "F500 GeneralError"))
    assert fails is not None and "fails too" in fails
    assert probe.eligibility(None) is None


def test_the_recovery_notice_says_since_when_and_how_to_stop():
    subject, body = notices.api_recovered(T0, 3, hold=False)
    assert subject == "the API answers again"
    assert "The API answers again since 11:15:06 GMT" in body and "reply #stop" in body
    assert "next tier waits" in notices.api_recovered(T0, 3, hold=True)[1]


def test_the_strip_is_text_in_the_plain_part_and_escaped_marks_without_backgrounds_in_html():
    page = Page("t", (Strip((False, True), "The last 2 probes, oldest first"),))
    assert "The last 2 probes, oldest first (+ passed, x failed): x+" in text(page)
    markup = html(page)
    assert markup.count("&#10007;") == 1 and markup.count("&#10003;") == 1
    assert "background" not in markup and "<img" not in markup and "url(" not in markup


ORIGINAL = Original(
    "<t1@partner.test>",
    "F500 since 11:15",
    "alice@partner.test",
    ("urgent@vendor.test",),
    (),
    T0,
    "All calls fail with F500.\n",
    b"From: alice@partner.test\r\nSubject: F500 since 11:15\r\n\r\nAll calls fail with F500.\r\n",
)


def t2(api_check):
    return escalation(
        ORIGINAL,
        Tier.T2,
        (Step(Tier.T1, "urgent@vendor.test", T0, "<t1@partner.test>"),),
        timedelta(minutes=30),
        to="t2@vendor.test",
        cc=("alice@partner.test",),
        from_address="agent@partner.test",
        message_id="<e@partner.test>",
        now=T0 + 30 * MINUTE,
        api_check=api_check,
    )


def parts(msg):
    return [p.get_content() for p in msg.walk() if p.get_content_type() in ("text/plain", "text/html")][:2]


def test_the_t2_carries_the_evidence_in_both_parts_and_nothing_changes_without_a_probe():
    hostile = [Run(T0, False, '<b>F500</b> GeneralError "x"')]
    plain, markup = parts(t2(probe.summarise(hostile)))
    assert "API check: failing — 1 of 1 probes since 11:15:06 GMT; the last at 11:15:06 GMT: <b>F500</b>" in plain
    assert "&lt;b&gt;F500&lt;/b&gt; GeneralError &quot;x&quot;" in markup and "<b>F500" not in markup
    assert "&#10007;" in markup
    plain_without, markup_without = parts(t2(None))
    assert "API check" not in plain_without and "&#10007;" not in markup_without
