"""The auditors' commands, `report` and `export --format csv|json`: the period read once, read-only and without the
config's secrets, then written as a page or as records. The click commands themselves are in `commands`."""

import click

from agent.adapters import config as config_mod
from agent.adapters.records import Records
from agent.cli import audit_export, review
from agent.core.story.timeline import Windows
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
    period = None if since in (None, "", "all") else config_mod.parse_duration(since, "--since")
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
