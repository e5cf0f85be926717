"""How the agent itself is doing: one log line when a part gets into trouble and one when it is out again,
and a witness that notices a server whose IDLE never announces mail."""

import logging

log = logging.getLogger("agent.service")

SILENT_AFTER = 3  # polls that found new mail IDLE never announced, with no announcement ever: IDLE is mute


class Troubles:
    """Trouble per part ("imap", "smtp", "cycle", ...): an outage is one ERROR line, however its symptoms change
    while it lasts (an IDLE that died, then a refused connect), and one line when the part works again."""

    def __init__(self) -> None:
        self._first: dict[str, str] = {}  # what the outage began with: the line said when it ends
        self._latest: dict[str, str] = {}  # what it says now: the STATUS line, the escalation's caveat

    def problem(self, where: str, text: str, again: bool = False) -> None:
        """`again`: a changed text is news worth an ERROR line too (a deadline that fell due during the outage)."""
        if where not in self._first:
            log.error("%s", text)
            self._first[where] = text
        elif self._latest.get(where) != text:
            if again:
                log.error("%s", text)
            else:
                log.debug("%s: still failing: %s", where, text)
        self._latest[where] = text

    def fine(self, where: str) -> None:
        if where in self._first:
            log.info("%s: working again after: %s", where, self._first.pop(where))
            self._latest.pop(where, None)

    def now(self, where: str) -> str | None:
        return self._latest.get(where)

    def summary(self) -> str:
        return "; ".join(self._latest.values())


class IdleWitness:
    """Stock Debian Cyrus runs without idled: IDLE is accepted and never announces new mail, so a reply is seen
    only at the next poll. That shows as polls that keep finding mail while IDLE never woke the loop."""

    def __init__(self) -> None:
        self.announced = 0
        self.found_by_polls = 0
        self.said = False

    def after_cycle(self, woken_by_idle: bool | None, new_mails: int) -> bool:
        """`woken_by_idle`: True when IDLE announced mail, False when an IDLE wait ran out, None when the loop
        did not wait in IDLE. True once, when IDLE is seen to be mute."""
        if woken_by_idle:
            self.announced += 1
        elif woken_by_idle is False and new_mails:
            self.found_by_polls += 1
        if not self.said and not self.announced and self.found_by_polls >= SILENT_AFTER:
            self.said = True
            return True
        return False
