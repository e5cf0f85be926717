"""The auditors' commands: `report` and `export` (`--format csv|json`: the period read once, read-only and without the
config's secrets, then written as a page or as records; or one incident as Markdown), `audit verify` and `backup`."""

import click

from agent.adapters import config as config_mod
from agent.adapters.ini import parse_duration
from agent.adapters.records import Records
from agent.cli import audit_export, report, review
from agent.cli import export as export_mod
from agent.cli.context import errors_as_sentences
from agent.core.story.timeline import Windows
from agent.engine import audit as audit_mod
from agent.engine.clock import utcnow

SINCE = click.option(
    "--since",
    default="90d",
    show_default=True,
    help="The period: T1s sent this long ago or later (90d, 12h; 'all': every one).",
)
DRILLS = click.option("--drills", is_flag=True, help="Drills too (escalation-agent drill).")
STALE = click.option(
    "--all", "stale", is_flag=True, help="Stale incidents too (older than max_incident_age when first seen)."
)


def read(config_path, since: str | None, *, drills: bool, stale: bool) -> review.Review:
    """The period's incidents with the audit state, from the database opened read-only; no password is read."""
    period = None if since in (None, "", "all") else parse_duration(since, "--since")
    cfg = config_mod.load(config_path, secrets=False)
    records = Records.open(cfg.agent.database)
    now = utcnow()

    def windows(drill: bool) -> Windows:
        policy = cfg.escalation.policy(drill)
        return Windows(policy.t2_after, policy.t3_after)

    try:
        return review.gather(records, windows, review.since_of(now, period), now, drills=drills, stale=stale)
    finally:
        records.close()


def write_report(config_path, since: str | None, out: str, pictures: int, *, drills: bool, stale: bool) -> None:
    from agent.cli import charts  # matplotlib: only when a report is built

    found = read(config_path, since, drills=drills, stale=stale)
    html = review.page(found, charts, pictures)
    if out == "-":
        click.echo(html, nl=False)
        return
    write(out, html.encode("utf-8"))
    click.echo(f"report of {len(found.timelines)} incident(s) written to {out}; {audit_said(found)}")


def export_period(config_path, fmt: str, since: str | None, output: str | None, *, drills: bool, stale: bool) -> None:
    if fmt == "csv" and not output:
        raise click.ClickException("--format csv writes a zip of CSV files: give --out FILE.zip")
    found = read(config_path, since, drills=drills, stale=stale)
    data = audit_export.as_zip(found) if fmt == "csv" else audit_export.as_json(found).encode()
    if not output:
        click.echo(data.decode(), nl=False)
        return
    write(output, data)
    click.echo(
        f"{len(found.timelines)} incident(s), {len(found.tables['mails'])} mail(s), {len(found.tables['events'])} "
        f"event(s) written to {output}; {audit_said(found)}"
    )


def audit_said(found: review.Review) -> str:
    return f"audit verify {'passed' if found.verdict.ok else 'FAILED'}, head {found.head or 'none (no event yet)'}"


def write(path: str, data: bytes) -> None:
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as e:
        raise click.ClickException(f"cannot write {path}: {e.strerror or e}") from None


@click.command("report")
@SINCE
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, writable=True),
    default="report.html",
    show_default=True,
    help="The HTML file to write ('-': standard output).",
)
@click.option(
    "--pictures",
    default=50,
    show_default=True,
    type=click.IntRange(0),
    help="How many incidents, the latest, get their own timeline picture.",
)
@DRILLS
@STALE
@click.pass_obj
@errors_as_sentences
def report_command(obj, since, out, pictures, drills, stale):
    """A self-contained HTML report: each incident's timeline, the vendor's answers over time, the audit state."""
    write_report(obj.path, since, out, pictures, drills=drills, stale=stale)


@click.command()
@click.argument("incident_id", type=int, required=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "csv", "json"]),
    default=None,
    help="md: one incident as Markdown (the default with an ID); csv (a zip) or json: every incident of the "
    "period with its mails and events, for auditors.",
)
@SINCE
@DRILLS
@STALE
@click.option(
    "-o",
    "--output",
    "--out",
    "output",
    type=click.Path(dir_okay=False, writable=True),
    help="Write to this file instead of standard output (csv: required, a .zip).",
)
@click.pass_obj
@errors_as_sentences
def export(obj, incident_id, fmt, since, drills, stale, output):
    """One incident's timeline as Markdown (export ID), or the period's records for auditors (--format csv|json)."""
    fmt = fmt or ("md" if incident_id is not None else None)
    if fmt in ("csv", "json"):
        if incident_id is not None:
            raise click.ClickException(f"--format {fmt} exports a period, not one incident: leave out {incident_id}")
        export_period(obj.path, fmt, since, output, drills=drills, stale=stale)
        return
    if incident_id is None:
        raise click.ClickException("give an incident id (Markdown), or --format csv|json for the period's records")
    store = obj.store()
    try:
        text = export_mod.incident_markdown(report.incident_detail(store, obj.config, incident_id, utcnow()))
    finally:
        store.close()
    if output:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
        click.echo(f"incident {incident_id} written to {output}")
    else:
        click.echo(text, nl=False)


@click.group()
def audit():
    """Check the audit trail."""


@audit.command()
@click.pass_obj
@errors_as_sentences
def verify(obj):
    """Check the events' hash chain and the database's integrity; exit 1 if either fails."""
    store = obj.store()
    try:
        verdict = audit_mod.verify(store)
    finally:
        store.close()
    if not verdict.ok:
        raise click.ClickException(verdict.sentence())
    click.echo(verdict.sentence())


@click.command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.pass_obj
@errors_as_sentences
def backup(obj, path):
    """Write a consistent copy of the database to PATH (safe while the agent runs)."""
    store = obj.store()
    try:
        size = audit_mod.backup(store, path)
    finally:
        store.close()
    click.echo(f"backup written to {path} ({size} bytes)")
