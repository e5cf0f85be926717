"""The chat mirror: one short line per incident event an on-call channel cares about, POSTed as
{"text": "..."} to webhook_url (the incoming-webhook format Slack, Mattermost and Rocket.Chat accept).

It reads the audit log, not the code paths that wrote it: after each cycle, the events since the last
mirrored one. The mirror is best effort (a line may be lost in a crash); the audit log is the record."""

from agent.adapters.rows import MirroredEvent
from agent.adapters.store import Store
from agent.core.procedure.probe import clock
from agent.core.settings import AgentConfig
from agent.core.times import from_iso
from agent.engine import courier
from agent.engine.health import Troubles

KINDS = ("incident_opened", "sent", "responded", "resolved", "notice_decided", "blind", "sight", "acknowledged")


def line(event: MirroredEvent) -> str | None:
    """The chat line for one audit event, or None when the channel need not hear of it."""
    kind, detail = event.kind, event.detail or ""
    where = f"incident {event.incident_id}" if event.incident_id else "escalation-agent"
    subject = f": {event.subject}" if event.subject else ""
    if kind == "incident_opened":
        text = "opened (T1 seen)"
    elif kind == "sent" and detail[:2] in ("T2", "T3"):
        text = f"{detail[:2]} sent"
    elif kind == "responded":
        text = f"vendor responded ({detail.split(' from ', 1)[-1].split(' ')[0]})"
    elif kind == "acknowledged":
        text = "the vendor's system acknowledged (a receipt): no person has answered, the ladder runs on"
    elif kind == "resolved":  # by #stop or by hand: the detail says which
        text = detail if detail.startswith("resolved by ") else f"resolved ({detail})"
    elif kind == "notice_decided" and "'exhausted'" in detail:
        text = "every tier tried, no response"
    elif kind == "notice_decided" and "'api_recovered " in detail:  # [probe]: the API check passes again
        since = detail.split("'api_recovered ", 1)[1].split("'", 1)[0]
        try:
            text = f"the API answers again since {clock(from_iso(since))} (API check)"
        except ValueError:
            text = "the API answers again (API check)"
    elif kind in ("blind", "sight"):
        text = detail
    else:
        return None
    return f"[{where}] {text}{subject}"[:500]


class Mirror:
    def __init__(self, config: AgentConfig, store: Store, troubles: Troubles):
        self.url = config.webhook_url
        self.courier = courier.Courier("webhook", "chat line", troubles) if self.url else None
        self.seen = store.last_event_id() if self.url else 0  # history is not replayed into the channel

    def after_cycle(self, store: Store) -> None:
        if self.courier is None or self.url is None:
            return
        for event in store.events_after(self.seen, KINDS):
            self.seen = event.id
            text = line(event)
            if text:
                self.courier.send(courier.post_json(self.url, {"text": text}))
