"""The command line: a thin layer over the Python API. Every failure is one sentence and exit 1.

Here the group and the commands that run the agent and look at it; the auditors' commands are in `auditing`, those
that change an incident by hand in `steering`, what they all share in `context`.
"""

import json
import logging
import signal
import threading

import click

from agent.adapters import selfwatch, sqlite
from agent.adapters.imap import Mailbox
from agent.adapters.ini import parse_duration
from agent.adapters.smtp import Smtp
from agent.adapters.store import Store, database_status
from agent.cli import auditing, logs, report, steering
from agent.cli import health as health_mod
from agent.cli.context import Context, errors_as_sentences
from agent.core.deciding import ties
from agent.core.errors import StoreError
from agent.engine import drill as drill_mod
from agent.engine import lease as lease_mod
from agent.engine import loop, metrics
from agent.engine.clock import utcnow
from agent.engine.lock import DatabaseLock
from agent.engine.service import Agent


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="config.ini to use (default: $ESCALATION_AGENT_CONFIG, else ./config.ini).",
)
@click.version_option(package_name="escalation-agent")
@click.pass_context
def cli(ctx, config_path):
    """Escalate unanswered urgent-support mails (T1 -> T2 -> T3) by the vendor's procedure."""
    ctx.obj = Context(config_path, ctx.invoked_subcommand)


@cli.command()
@click.pass_obj
@errors_as_sentences
def run(obj):
    """Run the service loop until SIGTERM or SIGINT."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):  # first: a stop during start-up is a clean stop too
        signal.signal(sig, lambda *_: stop.set())
    cfg = obj.config
    logs.setup(cfg.agent.log_level)
    for warning in cfg.warnings:
        logging.getLogger("agent").warning("%s", warning)
    store = obj.store()
    agent = Agent(cfg, store)
    server = None
    if cfg.agent.metrics_port:
        try:  # the HTTP thread reads through its own connection: sqlite connections stay in one thread
            server = metrics.serve(
                cfg.agent.metrics_port,
                lambda: metrics.render_file(cfg.agent.database, agent.last_sync_at, utcnow(), agent.standby.lease.role),
            )
        except OSError as e:
            raise click.ClickException(
                f"[agent] metrics_port: cannot listen on 127.0.0.1:{cfg.agent.metrics_port} ({e.strerror})"
            ) from None
    try:
        loop.serve(agent, stop)
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        agent.close()
        store.close()


@cli.command()
@click.pass_obj
@errors_as_sentences
def poll(obj):
    """Run one full cycle (sync, decide, send what is due), then exit."""
    cfg = obj.config
    logs.setup(cfg.agent.log_level)
    store = obj.store()
    agent = Agent(cfg, store)
    lock = DatabaseLock(cfg.agent.database)
    try:
        lock.take()
        result = agent.cycle(backlog_budget=None)  # one cycle: a backlog of old mail is read to its end
    finally:
        lock.release()
        agent.close()
        store.close()
    click.echo(
        f"{result.new_mails} new mail(s); sent: {', '.join(result.sent) or 'nothing'}; "
        f"next deadline: {report.when(result.next_deadline, utcnow())}"
    )


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (for scripts).")
@click.option("--all", "everything", is_flag=True, help="Every incident, not only the open and recent ones.")
@click.option("--drills", is_flag=True, help="Show drill incidents too (escalation-agent drill).")
@click.option("--agent", "agent_only", is_flag=True, help="The agent's own health only (with --json: one object).")
@click.pass_obj
@errors_as_sentences
def status(obj, as_json, everything, drills, agent_only):
    """Incidents awaiting a response, and those that changed in the last 24 hours; then the agent's own health.
    T1s recorded stale (already older than max_incident_age when first seen) only with --all."""
    cfg = obj.config
    store = obj.store()
    now = utcnow()
    try:
        rows = [] if agent_only else report.status_rows(store, cfg, now, everything=everything, drills=drills)
        well = health_mod.agent_health(store, cfg, now)
        stale = 0 if everything else store.stale_count()
        recorded = health_mod.recorded_role(store)
    finally:
        store.close()
    if agent_only:
        well.update(lease_mod.describe(cfg, recorded))  # [ha]: asks the coordination service who holds the lease
        click.echo(json.dumps(well, indent=2) if as_json else "\n".join(health_mod.health_lines(well, now)))
    elif as_json:
        click.echo(json.dumps(rows, indent=2))  # the contract: an array of incidents, nothing else
    else:
        click.echo(report.status_table(rows, now))
        if stale:
            click.echo(f"({stale} older T1s, seen after max_incident_age and never escalated: status --all lists them)")
        click.echo(health_mod.health_lines(well, now)[0])


@cli.command()
@click.option("--slack", default="30s", show_default=True, help="How late past each deadline a step may pass.")
@click.pass_obj
@errors_as_sentences
def drill(obj, slack):
    """A synthetic incident through the [drill] ladder, end to end; exit 0 only when every step passed."""
    cfg = obj.config
    logs.setup("warning")
    store = obj.store()
    try:
        failed = drill_mod.Drill(cfg, store, click.echo, parse_duration(slack, "--slack")).run()
    finally:
        store.close()
    if failed is not None:
        raise click.ClickException(f"drill failed at step '{failed.name}': {failed.detail}")
    click.echo("drill passed: every step")


@cli.command()
@click.argument("incident_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (for scripts).")
@click.pass_obj
@errors_as_sentences
def show(obj, incident_id, as_json):
    """One incident with its whole timeline."""
    cfg = obj.config
    store = obj.store()
    try:
        detail = report.incident_detail(store, cfg, incident_id, utcnow())
    finally:
        store.close()
    click.echo(json.dumps(detail, indent=2) if as_json else report.incident_text(detail))


@cli.command()
@click.pass_obj
@errors_as_sentences
def check(obj):
    """Validate the config and reach the IMAP and SMTP servers."""
    cfg = obj.config
    click.echo(f"config {cfg.path}: ok")
    for warning in cfg.warnings:
        click.echo(f"Warning: {warning}", err=True)
    click.echo(f"database {cfg.agent.database}: {database_status(cfg.agent.database)}, {sqlite.describe()}")
    push = _idle_seen(cfg.agent.database)
    mailbox = Mailbox(cfg.imap)
    try:
        for line in mailbox.check():
            if line.startswith("IDLE"):
                line = health_mod.idle_line(line, push, cfg)
            click.echo(f"IMAP {cfg.imap.host}:{cfg.imap.port} {line}")
    finally:
        mailbox.close()
    click.echo(Smtp(cfg.smtp).check())
    if cfg.ha is not None:
        ha = lease_mod.describe(cfg)
        where = f"[ha] coordination_url {ha['coordination']['url']}"
        if ha["coordination"]["health"] != "ok":
            raise click.ClickException(
                f"{where}: {ha['coordination']['health']} (is the service running and reachable?)"
            )
        holder = ha["lease_holder"] or "nobody"
        click.echo(f"{where}: ok; this member is {ha['member']}; the lease is held by {holder}")
    if cfg.agent.dry_run:
        click.echo("dry_run = true: escalations are decided and recorded, never sent")
    commands_guard = ties.unprotected(cfg.escalation.trusted_authserv_id)  # issue 21.2: what protects commands
    if commands_guard:
        click.echo(f"Warning: {commands_guard}", err=True)


def _idle_seen(path):
    """What the running agent saw of IDLE, read-only (`check` promises no push it has not seen); None before the
    agent's first start."""
    if not path.exists():
        return None
    try:
        store = Store(path, read_only=True)
    except StoreError:  # an older schema, upgraded when the agent starts: nothing seen of IDLE worth saying
        return None
    try:
        return selfwatch.last_event(store, ("idle_announced", "idle_silent"))
    finally:
        store.close()


for _command in (
    auditing.report_command,
    auditing.export,
    auditing.audit,
    auditing.backup,
    steering.resolve,
    steering.hold,
    steering.escalate,
    steering.resume,
):
    cli.add_command(_command)


def main():
    cli(prog_name="escalation-agent")
