"""Time as the agent writes it: UTC everywhere, ISO 8601 in the database, GMT in mails."""

import re
from datetime import UTC, datetime, timedelta
from typing import overload


def iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@overload
def from_iso(text: str) -> datetime: ...
@overload
def from_iso(text: None) -> None: ...
def from_iso(text: str | None) -> datetime | None:
    # "" reads as None too; `iso` never writes it, so a str from the database is always a time.
    return datetime.fromisoformat(text) if text else None


def gmt(dt: datetime) -> str:
    """`11:15 GMT` style, with the date: the SOP names the zone in every time it gives."""
    return dt.astimezone(UTC).strftime("%H:%M:%S GMT on %a %d %b %Y")


def span(delta: timedelta) -> str:
    """`30 minutes`, `1 hour 5 minutes`, `45 seconds`."""
    seconds = int(round(delta.total_seconds()))
    parts = []
    for unit, size in (("hour", 3600), ("minute", 60), ("second", 1)):
        n, seconds = divmod(seconds, size)
        if n:
            parts.append(f"{n} {unit}{'s' if n != 1 else ''}")
    return " ".join(parts) or "0 seconds"


def aware_utc(value: object) -> datetime | None:
    """A datetime from a parser, as aware UTC (naive ones are taken as UTC); None for anything else."""
    if not isinstance(value, datetime):
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError):  # year 1 at +0100, year 9999 at -1200: not a time we can use
        return None


_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str | None) -> timedelta | None:
    """`90`, `90s`, `30m`, `1h`, `2d` as a timedelta; None for anything else. config.ini and #hold share it."""
    m = _DURATION.match(text or "")
    return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2).lower()]) if m else None
