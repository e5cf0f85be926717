"""Datasette plugin: each incident's timeline picture, the same drawing as `escalation-agent report`'s.

    datasette serve escalation-agent.db -m datasette/metadata.json --plugins-dir datasette/plugins

`/-/incident-picture/<database>/<id>.svg` draws incident <id> from the database Datasette serves, when asked
(nothing is stored, nothing to keep in step, no network: matplotlib renders it on this machine). A column named
`picture` in a canned query (the incident's id) shows as that picture, linked to it at full size.

The ladder's windows come from the agent's config.ini when the plugin is told where it is (metadata.json:
"plugins": {"incident-pictures": {"config": "/etc/escalation-agent/config.ini"}}, or $ESCALATION_AGENT_CONFIG);
the config is read without its secrets. Without it, the windows drawn are the due times the database holds."""

import os
from html import escape

from datasette import hookimpl
from datasette.utils.asgi import Response
from markupsafe import Markup

from agent.adapters import config as config_mod
from agent.adapters.records import Records
from agent.core.errors import AgentError
from agent.core.story.timeline import Windows

NAME = "incident-pictures"


def _windows(datasette) -> Windows:
    path = (datasette.plugin_config(NAME) or {}).get("config") or os.environ.get("ESCALATION_AGENT_CONFIG")
    if not path:
        return Windows(None, None)
    try:
        policy = config_mod.load(path, secrets=False).escalation.policy()
    except AgentError:
        return Windows(None, None)
    return Windows(policy.t2_after, policy.t3_after)


def _path(datasette, database: str, incident_id) -> str:
    return datasette.urls.path(f"/-/incident-picture/{database}/{int(incident_id)}.svg")


async def picture(datasette, request):
    from agent.cli import charts, review  # matplotlib: only when a picture is asked for

    name, incident_id = request.url_vars["database"], int(request.url_vars["id"])
    try:
        db = datasette.get_database(name)
    except KeyError:
        return Response.text(f"no database {name}", status=404)
    windows = _windows(datasette)
    found = await db.execute_fn(lambda conn: review.one(Records(conn, name), windows, incident_id))
    if found is None:
        return Response.text(f"there is no incident {incident_id}", status=404)
    return Response(charts.incident_svg(found), content_type="image/svg+xml; charset=utf-8")


@hookimpl
def register_routes():
    return [(r"^/-/incident-picture/(?P<database>[^/]+)/(?P<id>\d+)\.svg$", picture)]


@hookimpl
def render_cell(value, column, table, database, datasette):
    if column != "picture" or table is not None or not str(value).isdigit():
        return None
    src = escape(_path(datasette, database, value))
    return Markup(
        f'<a href="{src}"><img src="{src}" alt="incident {int(value)}: its timeline" loading="lazy" '
        'style="width:100%;min-width:16em;max-width:36em;height:auto"></a>'
    )
