"""The API check ([probe]): what one run of the probe means, the rolling summary an escalation carries, and when the
API counts as answering again. Pure: the runner (agent/engine/probe.py) hands in exit codes, statuses and output.

A run is (at, ok, evidence): the evidence is the first non-empty line of what the probe said, untrusted text made
safe (no control characters, at most EVIDENCE_LIMIT characters); compose and page escape it again in HTML."""

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from agent.core.procedure import routing
from agent.core.reading.text import clean

EVIDENCE_LIMIT = 160  # characters of the first output line kept: an error code and a request id fit
STRIP = 30  # runs shown in an escalation's pass/fail strip, the newest last


@dataclass(frozen=True)
class Run:
    at: datetime
    ok: bool
    evidence: str


class Answer(enum.StrEnum):
    """What a run says about the urgent line: the SOP's urgent class is "unable to make any successful API calls"."""

    ANSWERS = "the API answers"
    FAILS = "the API fails"
    NOT_URGENT = "the API answers with a funds or contract error"  # the SOP's not-urgent class (F300)


_ACCOUNT_CLASS = re.compile(r"\bF3\d\d\b")  # AGCOD's account-related errors: InsufficientFunds, ActiveContractNotFound


def evidence(output: str | bytes | None, fallback: str) -> str:
    """The first non-empty line of untrusted output, safe to store and show; `fallback` when it said nothing."""
    text = output.decode("utf-8", "replace") if isinstance(output, bytes) else output or ""
    for line in text.splitlines():
        line = " ".join(clean(line).split())
        if line:
            return line[:EVIDENCE_LIMIT]
    return fallback[:EVIDENCE_LIMIT]


def command_run(at: datetime, returncode: int | None, output: str | bytes | None, timeout: timedelta) -> Run:
    """A command's run: exit 0 is a pass; None means it was killed at its timeout."""
    if returncode is None:
        return Run(at, False, evidence(None, f"no answer within {_seconds(timeout)} (the probe was stopped)"))
    fallback = "exit status 0" if returncode == 0 else f"exit status {returncode}"
    return Run(at, returncode == 0, evidence(output, fallback))


def http_run(at: datetime, status: int | None, expected: int, error: str | None, body: bytes | None = None) -> Run:
    """A URL's run: a pass when it answered with the expected status. `error`: why no status came (a timeout...)."""
    if status is None:
        return Run(at, False, evidence(error, "no answer"))
    first = evidence(body, "")
    said = f"HTTP {status}" + (f" {first}" if first else "")
    return Run(at, status == expected, evidence(said, said))


def both(runs: Sequence[Run]) -> Run:
    """A command and a URL probed together: a pass only when both passed; the evidence of the first that failed."""
    failed = [r for r in runs if not r.ok]
    return Run(runs[0].at, not failed, (failed or list(runs))[0].evidence)


def answer(run: Run) -> Answer:
    if run.ok:
        return Answer.ANSWERS
    if _ACCOUNT_CLASS.search(run.evidence) or routing.misroute(run.evidence, ""):
        return Answer.NOT_URGENT
    return Answer.FAILS


@dataclass(frozen=True)
class Summary:
    """The runs since an incident's T1 (or the last ones, for `status`)."""

    first_at: datetime
    total: int
    failed: int
    last: Run
    failing_since: datetime | None  # the first failure of the current streak of failures
    answering_since: datetime | None  # the first pass of the current streak of passes
    strip: tuple[bool, ...]  # the newest STRIP runs' outcomes, oldest first


def summarise(runs: Sequence[Run]) -> Summary | None:
    """The rolling summary of `runs` (oldest first); None when there is none."""
    if not runs:
        return None
    streak = _streak(runs)
    since = runs[len(runs) - streak].at
    last = runs[-1]
    return Summary(
        first_at=runs[0].at,
        total=len(runs),
        failed=sum(not r.ok for r in runs),
        last=last,
        failing_since=None if last.ok else since,
        answering_since=since if last.ok else None,
        strip=tuple(r.ok for r in runs[-STRIP:]),
    )


def _streak(runs: Sequence[Run]) -> int:
    """How many of the newest runs share the last one's outcome."""
    n = 0
    for r in reversed(runs):
        if r.ok != runs[-1].ok:
            break
        n += 1
    return n


def clock(at: datetime) -> str:
    """`11:44:03 GMT`: the evidence line's times (the escalation gives the date elsewhere)."""
    return at.astimezone(UTC).strftime("%H:%M:%S GMT")


def sentence(s: Summary) -> str:
    """`API check: failing — 37 of 37 probes since 11:15:06 GMT; the last at 11:44:03 GMT: F500 GeneralError`."""
    last = f"the last at {clock(s.last.at)}: {s.last.evidence}"
    if s.failing_since is not None:
        return f"API check: failing — {s.failed} of {s.total} probes since {clock(s.first_at)}; {last}"
    if s.failed:
        return (
            f"API check: answering again since {clock(s.answering_since or s.last.at)} — {s.failed} of {s.total} "
            f"probes since {clock(s.first_at)} failed; {last}"
        )
    return f"API check: answering — none of {s.total} probes since {clock(s.first_at)} failed; {last}"


def strip_text(s: Summary) -> str:
    """The pass/fail strip as text: `+` a pass, `x` a failure, oldest first."""
    marks = "".join("+" if ok else "x" for ok in s.strip)
    return f"Recent probes, oldest first (+ passed, x failed): {marks}"


def recovered_since(runs: Sequence[Run], recovered_after: int) -> datetime | None:
    """When the API answered again: the first of `recovered_after` or more passes in a row, the newest runs, after a
    failure among `runs`. None while it fails, before enough passes, or when it never failed."""
    if not runs or not runs[-1].ok:
        return None
    streak = _streak(runs)
    if streak < recovered_after or streak == len(runs):
        return None
    return runs[len(runs) - streak].at


def eligibility(run: Run | None) -> str | None:
    """What the "watching" notice says of the API check as the T1 opens; None when there is nothing fresh to say."""
    if run is None:
        return None
    said = answer(run)
    if said == Answer.ANSWERS:
        return (
            f"Note: our check of the API succeeds right now ({clock(run.at)}: {run.evidence}); the urgent line is for "
            "when no call succeeds. The agent escalates on time all the same: you decide."
        )
    if said == Answer.NOT_URGENT:
        return (
            f"Note: our check of the API answers with a funds or contract error ({clock(run.at)}: {run.evidence}); "
            "the vendor's procedure sends those to the operations team, not the urgent line. The agent escalates "
            "on time all the same: you decide."
        )
    return f"Our check of the API fails too ({clock(run.at)}: {run.evidence})."


@dataclass(frozen=True)
class Hold:
    """The API answers again (hold_on_recovery): the next tier waits; rechecked at the next probe."""

    since: datetime
    recheck_at: datetime


def _seconds(delta: timedelta) -> str:
    return f"{delta.total_seconds():g}s"
