"""The trend: how many teams stood at each level, week by week, as a stacked area.

One point per week (the level each team held at the week's end), oldest on the left; the
current week's numbers are written at the right edge beside their bands. Teams never
assessed are left out: the picture is about levels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from matplotlib.ticker import FixedLocator, MaxNLocator

from bot.pictures.common import (
    Picture,
    counted,
    level_colours,
    level_name,
    level_names_of,
    new_figure,
    readable,
    save,
)

__all__ = ["TrendWeek", "render_trend"]

WIDTH, HEIGHT = 8.0, 4.2
ALT_WEEKS = 26


@dataclass(frozen=True)
class TrendWeek:
    """A week (its Monday) and the number of teams at each level at its end."""

    start: date
    counts: Mapping[int, int]


def _day(value: date) -> str:
    return f"{value.day} {value:%b %Y}"


def render_trend(
    weeks: Sequence[TrendWeek],
    *,
    level_names: Mapping[int, str] | None = None,
    fmt: str = "png",
    title: str = "Teams per level, week by week",
) -> Picture:
    """The stacked area for `weeks` (oldest first; the last one is the current week)."""
    names = dict(level_names_of() if level_names is None else level_names)
    levels = sorted(set(names) | {lvl for week in weeks for lvl in week.counts})
    colours = level_colours(levels)
    figure = new_figure(WIDTH, HEIGHT)
    axes = figure.add_axes((0.08, 0.2, 0.7, 0.66))
    figure.text(0.08, 0.93, title, fontsize=12, fontweight="bold", va="center")

    series = [[week.counts.get(level, 0) for week in weeks] for level in levels]
    xs = list(range(len(weeks)))
    if len(weeks) == 1:  # one week is a band, not a point
        xs = [-0.4, 0.4]
        series = [values * 2 for values in series]
    if weeks:
        axes.stackplot(
            xs,
            series,
            colors=[colours[lvl] for lvl in levels],
            edgecolor="white",
            linewidth=0.6,
            labels=[level_name(lvl, names) for lvl in levels],
        )
    total_now = sum(weeks[-1].counts.values()) if weeks else 0
    top = max([sum(week.counts.values()) for week in weeks] or [0])
    axes.set_ylim(0, max(1, top) * 1.08)
    axes.set_xlim(min(xs, default=0), max(xs, default=1))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel("teams")
    axes.spines[["top", "right"]].set_visible(False)
    ticks = list(range(0, len(weeks), max(1, len(weeks) // 6))) if len(weeks) > 1 else []
    if len(weeks) > 1 and ticks[-1] != len(weeks) - 1:
        if len(weeks) - 1 - ticks[-1] < max(1, len(weeks) // 6) / 2:
            ticks.pop()
        ticks.append(len(weeks) - 1)
    if len(weeks) == 1:
        ticks = [0]
    axes.xaxis.set_major_locator(FixedLocator(ticks))
    axes.set_xticklabels([f"{weeks[i].start.day} {weeks[i].start:%b}" for i in ticks])
    axes.set_xlabel("week starting")

    if weeks:
        # The current week's numbers beside their bands, at the right edge.
        bottom = 0
        x_end = max(xs)
        for level in levels:
            count = weeks[-1].counts.get(level, 0)
            if count:
                axes.annotate(
                    f"L{level}: {count}",
                    (x_end, bottom + count / 2),
                    xytext=(8, 0),
                    textcoords="offset points",
                    va="center",
                    fontsize=9,
                    fontweight="bold",
                    color=readable(colours[level]),
                    annotation_clip=False,
                )
            bottom += count
        axes.annotate(
            f"{counted(total_now, 'team')}\nweek of {_day(weeks[-1].start)}",
            (x_end, top * 1.08),
            xytext=(8, 0),
            textcoords="offset points",
            va="top",
            fontsize=8,
            annotation_clip=False,
            color="#333333",
        )
    else:
        axes.text(0.5, 0.5, "No assessments yet", transform=axes.transAxes, ha="center")

    if weeks:
        figure.legend(
            loc="lower left",
            bbox_to_anchor=(0.08, 0.0),
            ncol=max(1, len(levels)),
            frameon=False,
            fontsize=8,
            reverse=True,
        )
    return Picture(
        data=save(figure, fmt),
        format=fmt,
        filename=f"maturity-trend.{fmt}",
        title=title,
        alt_text=_alt_text(weeks, levels, names),
        width=round(WIDTH * 100),
        height=round(HEIGHT * 100),
    )


def _counts(week: TrendWeek, levels: list[int], names: Mapping[int, str]) -> str:
    return ", ".join(f"{week.counts.get(lvl, 0)} at {level_name(lvl, names)}" for lvl in levels)


def _alt_text(weeks: Sequence[TrendWeek], levels: list[int], names: Mapping[int, str]) -> str:
    if not weeks:
        return "Teams per level, week by week: no assessments yet."
    now = weeks[-1]
    parts = [
        f"Teams per level, week by week, {len(weeks)} week{'s' if len(weeks) != 1 else ''} "
        f"from {_day(weeks[0].start)} to the week of {_day(now.start)}.",
        f"This week: {_counts(now, levels, names)} ({counted(sum(now.counts.values()), 'team')}).",
    ]
    if len(weeks) > 1:
        first = weeks[0]
        parts.append(
            f"First week: {_counts(first, levels, names)} "
            f"({counted(sum(first.counts.values()), 'team')})."
        )
        shown = weeks[-ALT_WEEKS:]
        label = "/".join(f"L{lvl}" for lvl in levels)
        parts.append(
            f"Each week ({label}): "
            + "; ".join(
                f"{w.start.day} {w.start:%b} "
                + "/".join(str(w.counts.get(lvl, 0)) for lvl in levels)
                for w in shown
            )
            + "."
        )
    return " ".join(parts)
