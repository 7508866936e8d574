"""A team's timeline: its level over time, each finished assessment marked, for history."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from matplotlib.ticker import FixedLocator

from bot.pictures.common import (
    Picture,
    level_colours,
    level_name,
    level_names_of,
    new_figure,
    plain_text,
    save,
    spoken,
)

__all__ = ["TimelinePoint", "render_timeline"]

WIDTH, HEIGHT = 8.0, 3.0
ALT_POINTS = 20


@dataclass(frozen=True)
class TimelinePoint:
    """A finished assessment: when it finished and the level it gave the team."""

    at: datetime
    level: int


def _day(value: datetime) -> str:
    return f"{value.day} {value:%b %Y}"


def render_timeline(
    team: str,
    points: Sequence[TimelinePoint],
    *,
    now: datetime | None = None,
    level_names: Mapping[int, str] | None = None,
    fmt: str = "png",
) -> Picture:
    """The team's level as steps from its first assessment to `now`, a dot per assessment."""
    names = dict(level_names_of() if level_names is None else level_names)
    levels = sorted(set(names) | {p.level for p in points})
    colours = level_colours(levels)
    points = sorted(points, key=lambda p: p.at)
    name = plain_text(team, 60)
    figure = new_figure(WIDTH, HEIGHT)
    axes = figure.add_axes((0.31, 0.2, 0.65, 0.62))
    figure.text(0.02, 0.92, f"{name}: level over time", fontsize=12, fontweight="bold", va="center")

    if points:
        start = points[0].at.timestamp()
        end = max((now or points[-1].at).timestamp(), points[-1].at.timestamp())
        span = max(end - start, 86400.0)
        xs = [(p.at.timestamp() - start) / span for p in points] + [(end - start) / span]
        ys = [p.level for p in points] + [points[-1].level]
        axes.step(xs, ys, where="post", color="#444444", linewidth=2)
        axes.scatter(
            xs[:-1],
            ys[:-1],
            s=42,
            zorder=3,
            edgecolors="black",
            linewidths=0.8,
            c=[colours[p.level] for p in points],
        )
        axes.set_xlim(-0.03, 1.03)
        ticks = sorted({0.0, 1.0} | {round(i / 4, 2) for i in range(1, 4)})
        axes.xaxis.set_major_locator(FixedLocator(ticks))
        axes.set_xticklabels(
            [_day(datetime.fromtimestamp(start + t * span, UTC)) for t in ticks], fontsize=8
        )
    else:
        axes.text(0.5, 0.5, "Not assessed yet", transform=axes.transAxes, ha="center")
        axes.set_xticks([])
    axes.set_ylim(min(levels) - 0.4, max(levels) + 0.4)
    axes.yaxis.set_major_locator(FixedLocator(levels))
    axes.set_yticklabels([plain_text(level_name(lvl, names), 30) for lvl in levels], fontsize=8)
    axes.grid(axis="y", color="#DDDDDD")
    axes.spines[["top", "right"]].set_visible(False)
    return Picture(
        data=save(figure, fmt),
        format=fmt,
        filename=f"level-timeline.{fmt}",
        title=f"{name}: level over time",
        alt_text=_alt_text(spoken(team), points, names),
        width=round(WIDTH * 100),
        height=round(HEIGHT * 100),
    )


def _alt_text(name: str, points: list[TimelinePoint], names: Mapping[int, str]) -> str:
    if not points:
        return f"{name}: level over time. Not assessed yet."
    count = len(points)
    parts = [
        f"{name}: level over time, {count} assessment{'s' if count != 1 else ''} from "
        f"{_day(points[0].at)} to {_day(points[-1].at)}; now {level_name(points[-1].level, names)}."
    ]
    shown = points[-ALT_POINTS:]
    if len(shown) < count:
        parts.append(f"The latest {len(shown)}:")
    parts.append("; ".join(f"{_day(p.at)} L{p.level}" for p in shown) + ".")
    return " ".join(parts)
