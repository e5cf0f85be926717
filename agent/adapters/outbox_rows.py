"""The outbox's rows in the state database: escalations (one per tier), notices (one per kind) and alarms (one per kind
and outage), as `OutboxRows` reads and writes them for `Store`."""

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Literal, overload

from agent.adapters.rows import AlarmRow, EscalationRow, NoticeRow, OutboxRow
from agent.adapters.threads import Rows
from agent.core.procedure.policy import Outgoing, Status
from agent.core.sop import Tier
from agent.core.times import iso


class OutboxRows(Rows):
    """The rows of the three outbox tables: what is to be sent, how far each send got, what came back."""

    def escalations(self, incident_id: int) -> list[EscalationRow]:
        return self._typed(EscalationRow, "SELECT * FROM escalations WHERE incident_id = ? ORDER BY tier", incident_id)

    def escalation(self, incident_id: int, tier: Tier) -> EscalationRow | None:
        """The incident's row of this tier, if one was written."""
        return next((e for e in self.escalations(incident_id) if e.tier == int(tier)), None)

    def notices(self, incident_id: int) -> list[NoticeRow]:
        return self._typed(NoticeRow, "SELECT * FROM notices WHERE incident_id = ? ORDER BY id", incident_id)

    def add_outbox(self, kind: Outgoing, row: dict) -> int:
        return self._insert(_TABLES[kind], row)

    @overload
    def outbox_row(self, kind: Literal[Outgoing.ESCALATION], row_id: int) -> EscalationRow: ...
    @overload
    def outbox_row(self, kind: Literal[Outgoing.NOTICE], row_id: int) -> NoticeRow: ...
    @overload
    def outbox_row(self, kind: Literal[Outgoing.ALARM], row_id: int) -> AlarmRow: ...
    @overload
    def outbox_row(self, kind: Outgoing, row_id: int) -> OutboxRow: ...
    def outbox_row(self, kind: Outgoing, row_id: int) -> OutboxRow:
        [row] = self._typed(_ROWS[kind], f"SELECT * FROM {_TABLES[kind]} WHERE id = ?", row_id)
        return row

    def claim_outbox(self, kind: Outgoing, row_id: int, attempt: int, now: datetime) -> bool:
        """pending -> sending, in one statement; False when the row was not pending any more."""
        done = self.db.execute(
            f"UPDATE {_TABLES[kind]} SET status = 'sending', attempts = ?, last_attempt_at = ? "
            "WHERE id = ? AND status = 'pending'",
            [attempt, iso(now), row_id],
        )
        return done.rowcount == 1

    def update_outbox(self, kind: Outgoing, row_id: int, **fields) -> None:
        self._update(_TABLES[kind], row_id, fields)

    @overload
    def outbox_with_status(
        self, kind: Literal[Outgoing.ESCALATION], *statuses: Status, incident_id: int | None = None
    ) -> list[EscalationRow]: ...
    @overload
    def outbox_with_status(
        self, kind: Literal[Outgoing.NOTICE], *statuses: Status, incident_id: int | None = None
    ) -> list[NoticeRow]: ...
    @overload
    def outbox_with_status(
        self, kind: Literal[Outgoing.ALARM], *statuses: Status, incident_id: int | None = None
    ) -> list[AlarmRow]: ...
    @overload
    def outbox_with_status(
        self, kind: Outgoing, *statuses: Status, incident_id: int | None = None
    ) -> list[OutboxRow]: ...
    def outbox_with_status(
        self, kind: Outgoing, *statuses: Status, incident_id: int | None = None
    ) -> Sequence[OutboxRow]:
        marks = ",".join("?" * len(statuses))
        only = "" if incident_id is None else " AND incident_id = ?"
        extra = () if incident_id is None else (incident_id,)
        return self._typed(
            _ROWS[kind],
            f"SELECT * FROM {_TABLES[kind]} WHERE status IN ({marks}){only} ORDER BY id",
            *[str(s) for s in statuses],
            *extra,
        )

    def outbox_by_message_id(self, message_id: str) -> tuple[Outgoing, OutboxRow] | None:
        for kind, table in _TABLES.items():
            rows = self._typed(_ROWS[kind], f"SELECT * FROM {table} WHERE message_id = ?", message_id)
            if rows:
                return kind, rows[0]
        return None


_TABLES = {Outgoing.ESCALATION: "escalations", Outgoing.NOTICE: "notices", Outgoing.ALARM: "alarms"}
_ROWS: dict[Outgoing, Callable[..., OutboxRow]] = {
    Outgoing.ESCALATION: EscalationRow,
    Outgoing.NOTICE: NoticeRow,
    Outgoing.ALARM: AlarmRow,
}
