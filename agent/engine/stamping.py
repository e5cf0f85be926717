"""Every mail the agent writes carries its provenance (agent.core.reading.provenance): what it is, for which incident,
from which member. The outbox stamps each row as it writes it, and once more, if a row lacks it, right before it
leaves: the mailbox then holds the record of what was sent (docs/rebuild.md)."""

import email
from email.message import EmailMessage

from agent.adapters.rows import EscalationRow, NoticeRow, OutboxRow
from agent.adapters.store import Store
from agent.core.procedure.policy import Outgoing
from agent.core.reading import provenance
from agent.core.writing import compose


def stamp(msg: EmailMessage, value: str) -> None:
    """Every mail the agent writes says what it is, for which incident, from which member: the mailbox then holds
    the record of what was sent, which a lost or older database is rebuilt from (agent.core.deciding.adoption)."""
    msg.set_raw(provenance.HEADER, provenance.folded(value))


def stamped(store: Store, kind: Outgoing, row: OutboxRow, member: str) -> tuple[OutboxRow, EmailMessage]:
    """The row and its mail, parsed once for the fence and the send, stamped with its provenance if it was written
    without one (then parsed again as stored): nothing leaves unstamped."""
    assert row.raw is not None  # a row to send holds its mail: only a tier sent by hand has none, never sent
    msg = _mail(row.raw)
    if provenance.HEADER in msg:
        return row, msg
    t1 = store.incident_record(row.incident_id).t1_message_id if row.incident_id else None
    command, key = None, None
    if isinstance(row, EscalationRow):
        what = f"t{row.tier}"
    elif isinstance(row, NoticeRow):
        (what, command), key = provenance.of_notice(row.kind), row.kind
    else:
        what = f"alarm-{row.kind}"
    stamp(msg, provenance.stamp(what, t1, member, command, key=key))
    store.update_outbox(kind, row.id, raw=msg.as_bytes())
    row = store.outbox_row(kind, row.id)
    assert row.raw is not None  # written just now
    return row, _mail(row.raw)  # as stored: the bytes the server gets are the row's


def provenance_of(msg: EmailMessage) -> provenance.Provenance | None:
    """The provenance a mail of the outbox carries (every one has it by the time it is sent)."""
    value = msg.get(provenance.HEADER)
    return provenance.read(" ".join(str(value).split())) if value else None


def _mail(raw: bytes) -> EmailMessage:
    """An outbox row's mail, parsed with the policy it was composed with."""
    # The policy it was composed with: email.policy.default would re-fold a long In-Reply-To or References
    # (an Exchange Message-ID) into an encoded word, and the mail would leave the vendor's thread.
    msg = email.message_from_bytes(raw, policy=compose.POLICY)
    assert isinstance(msg, EmailMessage)  # what compose.POLICY's message factory makes
    return msg
