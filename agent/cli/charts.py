"""The report's pictures, drawn by matplotlib at build time as SVG: an incident's timeline, the time to the first
human answer per incident, the tiers needed by month. Imported only by `report` (and the Datasette plugin).

No pyplot: a `Figure` per chart, rendered by the Agg-family SVG backend, no display and no global state. Text is
drawn as glyph outlines from the DejaVu Sans that ships inside matplotlib, so the page needs no font from anywhere."""

import io
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import matplotlib

matplotlib.use("Agg")  # never a window, whatever $MPLBACKEND or $DISPLAY say

from matplotlib import rc_context  # noqa: E402
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from agent.core.story.timeline import Lane, Timeline, Tone
from agent.core.story.trend import Month, short

STYLE: Any = {
    "svg.fonttype": "path",  # glyphs as outlines: nothing to download, the same on every screen
    "svg.hashsalt": "escalation-agent",  # the same ids on every run: a report differs only where its data does
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.spines.left": False,
}
# Okabe-Ito colours: told apart by colour-blind readers too.
COLOURS = {
    Tone.TIER: "#0072B2",
    Tone.DRY_RUN: "#56B4E9",
    Tone.ANSWER: "#009E73",
    Tone.ACK: "#7f7f7f",
    Tone.COMMAND: "#E69F00",
    Tone.PROBLEM: "#D55E00",
    Tone.OTHER: "#CC79A7",
    Tone.PROBE_OK: "#009E73",
    Tone.PROBE_FAIL: "#D55E00",
}
SHAPES = {Tone.TIER: "^", Tone.DRY_RUN: "^", Tone.ANSWER: "o", Tone.ACK: "D", Tone.COMMAND: "s", Tone.PROBLEM: "X"}
WINDOW_COLOURS = {2: "#56B4E9", 3: "#E69F00"}
TIER_COLOURS = {1: "#009E73", 2: "#0072B2", 3: "#D55E00"}


def _svg(fig: Figure) -> str:
    out = io.StringIO()
    fig.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


def _elapsed(value: float, _pos: object = None) -> str:
    """An x tick, minutes since the T1: `0`, `45m`, `1h 30m`, `2d 4h`."""
    if abs(value) < 1e-9:
        return "T1"
    sign = "-" if value < 0 else "+"
    return sign + short(timedelta(minutes=abs(value))).replace(" 0s", "").replace(" 0m", "")


def incident_svg(t: Timeline) -> str:
    """One incident on one time axis (minutes since its T1): a lane per kind of actor, the windows as bands."""
    lanes = [lane for lane in Lane if lane == Lane.LADDER or any(m.lane == lane for m in t.marks)]
    y = {lane: len(lanes) - 1 - i for i, lane in enumerate(lanes)}
    with rc_context(STYLE):
        height = 0.75 + 0.42 * len(lanes)
        fig = Figure(figsize=(8, height))
        # Fixed margins, in inches: a layout engine would draw every picture twice (a third of a report's time).
        fig.subplots_adjust(left=0.95 / 8, right=1 - 0.15 / 8, bottom=0.3 / height, top=1 - 0.28 / height)
        ax = fig.add_subplot()
        _windows(ax, t, y[Lane.LADDER])
        _marks(ax, t, y)
        ax.set_yticks(list(y.values()), [str(lane) for lane in y])
        ax.set_ylim(-0.7, len(lanes) - 0.3)
        right = max(_minutes(t, t.end), 1.0)
        ax.set_xlim(-right * 0.04, right * 1.06)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=8, steps=[1, 2, 3, 5, 6, 10]))
        ax.xaxis.set_major_formatter(FuncFormatter(_elapsed))
        ax.tick_params(axis="y", length=0)
        ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
        ax.set_axisbelow(True)
        wait = short(t.to_answer) if t.to_answer is not None else "none"
        ax.set_title(f"time to first human answer: {wait}", loc="right", fontsize=8, color="#333")
        return _svg(fig)


def _minutes(t: Timeline, at: datetime) -> float:
    return (at - t.t1_at).total_seconds() / 60


def _windows(ax, t: Timeline, lane: int) -> None:
    """Each window as a band on the ladder's lane, its due time as a dashed line written below it."""
    for w in t.windows:
        start, end = _minutes(t, w.start), _minutes(t, w.end)
        colour = WINDOW_COLOURS.get(w.tier, "#999")
        ax.barh(lane, end - start, left=start, height=0.7, color=colour, alpha=0.22)
        ax.axvline(end, color=colour, linestyle="--", linewidth=0.8)
        ax.annotate(
            f"T{w.tier} due", (end, lane - 0.35), xytext=(-2, 0), textcoords="offset points",
            fontsize=7, ha="right", va="bottom", color="#333",
        )  # fmt: skip


def _marks(ax, t: Timeline, y: dict[Lane, int]) -> None:
    """The probe results as ticks (no labels: there may be hundreds), every other mark with its label."""
    probes = [m for m in t.marks if m.lane == Lane.PROBE]
    if probes:
        xs = [_minutes(t, m.at) for m in probes]
        colours = [COLOURS[m.tone] for m in probes]
        ax.scatter(xs, [y[Lane.PROBE]] * len(probes), marker="|", s=60, c=colours, linewidths=1.5)
    for i, m in enumerate(mm for mm in t.marks if mm.lane != Lane.PROBE):
        x, colour = _minutes(t, m.at), COLOURS.get(m.tone, "#333")
        face = "white" if m.tone == Tone.DRY_RUN else colour
        ax.scatter([x], [y[m.lane]], marker=SHAPES.get(m.tone, "o"), s=46, zorder=3, c=face, edgecolors=colour)
        up = m.lane == Lane.LADDER or i % 2 == 0  # the ladder's labels above: its due times are written below
        ax.annotate(
            m.label, (x, y[m.lane]), xytext=(0, 7 if up else -8), textcoords="offset points",
            ha="center", va="bottom" if up else "top", fontsize=7.5, color="#222",
        )  # fmt: skip


# Ticks of the answer-time axis, in minutes: durations people say.
_WAITS = (1 / 60, 5 / 60, 1 / 6, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 240, 480, 1440, 2880, 10080)


def answers_svg(timelines: Sequence[Timeline], start: datetime | None, end: datetime) -> str:
    """Each answered incident: when its T1 went out (x, over the report's period) and how long until a person
    answered (y, log scale), coloured by the highest tier contacted before that answer."""
    with rc_context(STYLE):
        fig = Figure(figsize=(8, 3.2), layout="constrained")
        ax = fig.add_subplot()
        waits = []
        for tier, name in ((1, "the T1 alone"), (2, "after the T2"), (3, "after the T3")):
            points = [(t.t1_at, t.to_answer) for t in timelines if t.to_answer is not None and t.tier_at_answer == tier]
            ys = [max(p[1].total_seconds() / 60, 1 / 60) for p in points]
            waits += ys
            if not points:
                continue
            ax.scatter(
                date2num([p[0] for p in points]),
                ys,
                s=18,
                color=TIER_COLOURS[tier],
                alpha=0.85,
                label=f"answered {name} ({len(points)})",
            )
        unanswered = sum(1 for t in timelines if t.to_answer is None)
        ax.set_yscale("log")
        low, high = (min(waits) / 2, max(waits) * 2) if waits else (0.5, 60)
        low, high = min(low, 0.5), max(high, 30)  # at least 30 s to 30 min: one answer still reads on a scale
        ticks = [w for w in _WAITS if low <= w <= high]
        ax.set_ylim(low, high)
        ax.set_yticks(ticks, [short(timedelta(minutes=w)).replace(" 0s", "").replace(" 0m", "") for w in ticks])
        ax.minorticks_off()
        first = start or min((t.t1_at for t in timelines), default=end - timedelta(days=30))
        left, right = float(date2num(first)), float(date2num(end))
        ax.set_xlim(left, right + (right - left) * 0.02)  # a point at the report's moment is drawn whole
        locator = AutoDateLocator(minticks=3, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        ax.set_ylabel("T1 to first human answer")
        ax.grid(color="#e5e5e5", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.spines["left"].set_visible(True)
        if waits:
            fig.legend(loc="outside upper left", fontsize=7.5, frameon=False, ncols=3)
        if unanswered:
            ax.set_title(f"not shown: {unanswered} incident(s) without a human answer", loc="right", fontsize=7.5)
        return _svg(fig)


def months_svg(months: Sequence[Month]) -> str:
    """Per month: incidents, and how many needed the T2 and the T3."""
    with rc_context(STYLE):
        fig = Figure(figsize=(8, 2.6), layout="constrained")
        ax = fig.add_subplot()
        xs = range(len(months))
        for offset, (name, values, colour) in zip(
            (-0.27, 0, 0.27),
            (
                ("incidents", [m.incidents for m in months], "#7f7f7f"),
                ("T2 needed", [m.t2_needed for m in months], "#0072B2"),
                ("T3 needed", [m.t3_needed for m in months], "#D55E00"),
            ),
            strict=True,
        ):
            bars = ax.bar([x + offset for x in xs], values, width=0.26, color=colour, label=name)
            ax.bar_label(bars, fontsize=7, padding=1)
        ax.set_xticks(list(xs), [m.month for m in months])
        ax.set_xlim(-0.6, max(len(months), 4) - 0.4)  # a month or two: bars of a sensible width
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.spines["left"].set_visible(True)
        fig.legend(loc="outside upper left", fontsize=7.5, frameon=False, ncols=3)
        ax.margins(y=0.15)
        return _svg(fig)
