"""The report's view over time: per month of the T1, how many incidents, how many answered, how often each tier was
needed, and the median time to the first human answer. Pure, like `timeline`."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from agent.core.story.timeline import Timeline


@dataclass(frozen=True)
class Month:
    month: str  # YYYY-MM
    incidents: int
    answered: int
    t2_needed: int
    t3_needed: int
    median_to_answer: timedelta | None


def months(timelines: Iterable[Timeline]) -> list[Month]:
    """Per month of the T1: how many incidents, how many answered, how often the T2 and the T3 were needed."""
    groups: dict[str, list[Timeline]] = {}
    for t in timelines:
        groups.setdefault(t.month, []).append(t)
    out = []
    for month in sorted(groups):
        group = groups[month]
        waits = sorted(w for t in group if (w := t.to_answer) is not None)
        out.append(
            Month(
                month,
                len(group),
                len(waits),
                sum(t.needed(2) for t in group),
                sum(t.needed(3) for t in group),
                waits[len(waits) // 2] if waits else None,
            )
        )
    return out


def short(delta: timedelta | None) -> str:
    """`4m 12s`, `2h 5m`, `3d 4h`; `-` for none."""
    if delta is None:
        return "-"
    s = int(delta.total_seconds())
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    if d:
        return f"{d}d {h}h"
    if h:
        return f"{h}h {m}m"
    return f"{m}m {s}s" if m else f"{s}s"
