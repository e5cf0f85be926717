"""The commands that change an incident by hand: resolve, and hold, escalate and resume (the mail commands' twins)."""

import click

from agent.cli.context import errors_as_sentences
from agent.core.deciding.mail_commands import Command, Verb, hold_duration
from agent.engine import ladder
from agent.engine.clock import utcnow


@click.command()
@click.argument("incident_id", type=int)
@click.option("--note", required=True, help="Why escalation stops (kept in the audit log).")
@click.pass_obj
@errors_as_sentences
def resolve(obj, incident_id, note):
    """Stop escalating an incident by hand."""
    store = obj.store()
    try:
        told = ladder.resolve(store, obj.config, incident_id, note, utcnow())
    finally:
        store.close()
    click.echo(f"incident {incident_id} resolved" + (f"; {told}" if told else ""))


def _steer(obj, incident_id: int, command: Command) -> None:
    store = obj.store()
    try:
        click.echo(f"incident {incident_id}: {ladder.steer_by_hand(store, obj.config, incident_id, command, utcnow())}")
    finally:
        store.close()


@click.command()
@click.argument("incident_id", type=int)
@click.argument("duration")
@click.option("--note", default="", help="Why (kept in the audit log).")
@click.pass_obj
@errors_as_sentences
def hold(obj, incident_id, duration, note):
    """Hold the next escalation for DURATION (30m, 2h; at most 24h): the twin of the mail command #hold."""
    hold_for, problem = hold_duration(duration)
    if hold_for is None:
        raise click.ClickException(f"DURATION {problem}: give e.g. 30m or 2h, at most 24h (hold {incident_id} 30m)")
    _steer(obj, incident_id, Command(Verb.HOLD, " ".join(note.split())[:500], hold_for))


@click.command()
@click.argument("incident_id", type=int)
@click.option("--note", default="", help="Why (kept in the audit log).")
@click.pass_obj
@errors_as_sentences
def escalate(obj, incident_id, note):
    """Send the next tier now, without waiting for its window: the twin of #escalate."""
    _steer(obj, incident_id, Command(Verb.ESCALATE, " ".join(note.split())))


@click.command()
@click.argument("incident_id", type=int)
@click.option("--note", default="", help="Why (kept in the audit log).")
@click.pass_obj
@errors_as_sentences
def resume(obj, incident_id, note):
    """Open a resolved or responded incident again; its next window runs from now: the twin of #resume."""
    _steer(obj, incident_id, Command(Verb.RESUME, " ".join(note.split())))
