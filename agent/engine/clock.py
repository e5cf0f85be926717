"""The one clock the agent reads. Each cycle reads it once and passes `now` on; the core never reads it."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
