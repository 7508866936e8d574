"""The heatmap: one row per team, one column per capability, cells coloured by the answer.

Rows are sorted by level (highest first, teams not yet assessed last), then by name ignoring
case. Columns follow the checklist's asking order, grouped by the level that first requires
them. Each cell is the team's current answer; where evidence exists for it, a mark says so
(a tick for verified, an exclamation mark for a contradiction). At most `per_page` teams go
in one image, so 500 teams are ten readable pages rather than one unreadable strip.

Every position is laid out in inches from fixed sizes, never from the text, so no name can
move the grid: a name that would not fit its column is shortened with an ellipsis.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from matplotlib.colors import BoundaryNorm, ListedColormap, to_rgba
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.path import Path

from bot.domain import DEFAULT_CHECKLIST, Checklist
from bot.pictures.common import (
    ANSWER_COLOURS,
    DPI,
    UNANSWERED,
    Picture,
    answer_label,
    counted,
    level_colours,
    level_name,
    level_names_of,
    new_figure,
    plain_text,
    save,
)

__all__ = [
    "EVIDENCE_MARKS",
    "HeatmapPage",
    "HeatmapRow",
    "heatmap_pages",
    "page_count",
    "render_heatmap",
    "sort_rows",
]

PER_PAGE = 50

EVIDENCE_MARKS: Mapping[str, str] = {"verified": "\N{CHECK MARK}", "contradiction": "\N{BALLOT X}"}
"""How each evidence state is named in the legend (the cells carry the matching marker)."""

_CHECK = Path([(-0.8, 0.05), (-0.25, -0.55), (0.85, 0.7)], [Path.MOVETO, Path.LINETO, Path.LINETO])
_MARKERS: Mapping[str, dict] = {
    "verified": {
        "marker": _CHECK,
        "s": 70,
        "facecolors": "none",
        "edgecolors": "black",
        "linewidths": 2.0,
    },
    "contradiction": {"marker": "X", "s": 55, "c": "black", "linewidths": 0},
}

# The layout, in inches.
LABEL_WIDTH = 2.7  # level badge and team name
STRIP_WIDTH = 0.12
NAME_LEFT = 0.3
CELL_WIDTH = 0.56
CELL_HEIGHT = 0.24
TITLE_HEIGHT = 0.45
HEADER_HEIGHT = 1.45  # capability titles, slanted
FOOTER_HEIGHT = 0.95  # level groups and the legend
RIGHT_MARGIN = 1.0  # room for the last slanted title
NAME_CHARS = 34
TITLE_CHARS = 26


@dataclass(frozen=True)
class HeatmapRow:
    """One team: its name, level (None if never assessed), answers and optional evidence.

    `answers` maps capability id to an answer value ("yes", "partly", "no", "not_sure");
    a capability missing from it is unanswered. `evidence` maps capability id to "verified"
    or "contradiction" where evidence exists; anything else is ignored.
    """

    team: str
    level: int | None
    answers: Mapping[str, str]
    evidence: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HeatmapPage:
    """A page of the heatmap and where its cells are, for anyone checking the pixels."""

    picture: Picture
    rows: tuple[HeatmapRow, ...]
    columns: tuple[str, ...]

    def cell_centre(self, team: str, capability_id: str) -> tuple[int, int]:
        """Pixel (x, y) from the top-left of the image at the middle of a team's cell."""
        row = next(i for i, r in enumerate(self.rows) if r.team == team)
        column = self.columns.index(capability_id)
        x = (LABEL_WIDTH + (column + 0.5) * CELL_WIDTH) * DPI
        y = (TITLE_HEIGHT + HEADER_HEIGHT + (row + 0.5) * CELL_HEIGHT) * DPI
        return round(x), round(y)


def sort_rows(rows: Sequence[HeatmapRow]) -> list[HeatmapRow]:
    """Highest level first, teams without a level last, then by name ignoring case."""
    return sorted(
        rows,
        key=lambda r: (r.level is None, -(r.level or 0), r.team.casefold(), r.team),
    )


def _columns(checklist: Checklist) -> list[tuple[str, str, int]]:
    """(id, title, level) in asking order, grouped by level (a stable sort keeps the order)."""
    caps = sorted(checklist.capabilities, key=lambda c: c.level)
    return [(c.id, c.title, c.level) for c in caps]


def render_heatmap(
    rows: Sequence[HeatmapRow],
    checklist: Checklist = DEFAULT_CHECKLIST,
    *,
    level_names: Mapping[int, str] | None = None,
    per_page: int = PER_PAGE,
    fmt: str = "png",
    title: str = "Maturity heatmap",
) -> list[HeatmapPage]:
    """The heatmap as pages of at most `per_page` teams (one empty page for no teams)."""
    return list(
        heatmap_pages(
            rows, checklist, level_names=level_names, per_page=per_page, fmt=fmt, title=title
        )
    )


def page_count(rows: int, per_page: int = PER_PAGE) -> int:
    return max(1, -(-rows // per_page))


def heatmap_pages(
    rows: Sequence[HeatmapRow],
    checklist: Checklist = DEFAULT_CHECKLIST,
    *,
    level_names: Mapping[int, str] | None = None,
    per_page: int = PER_PAGE,
    fmt: str = "png",
    title: str = "Maturity heatmap",
) -> Iterator[HeatmapPage]:
    """`render_heatmap` a page at a time, for a caller that reports progress."""
    names = dict(level_names_of(checklist) if level_names is None else level_names)
    ordered = sort_rows(rows)
    pages = [ordered[i : i + per_page] for i in range(0, len(ordered), per_page)] or [[]]
    for number, page in enumerate(pages, start=1):
        yield _page(page, number, len(pages), len(ordered), per_page, checklist, names, fmt, title)


_ORDER = ("yes", "partly", "no", "not_sure", UNANSWERED)
_INDEX = {value: index for index, value in enumerate(_ORDER)}
_CMAP = ListedColormap([ANSWER_COLOURS[value] for value in _ORDER])
_NORM = BoundaryNorm([i - 0.5 for i in range(len(_ORDER) + 1)], len(_ORDER))


def _page(
    rows: list[HeatmapRow],
    number: int,
    pages: int,
    total: int,
    per_page: int,
    checklist: Checklist,
    names: dict[int, str],
    fmt: str,
    title: str,
) -> HeatmapPage:
    columns = _columns(checklist)
    n_rows, n_cols = max(1, len(rows)), len(columns)
    grid_width = n_cols * CELL_WIDTH
    width = LABEL_WIDTH + grid_width + RIGHT_MARGIN
    height = TITLE_HEIGHT + HEADER_HEIGHT + n_rows * CELL_HEIGHT + FOOTER_HEIGHT
    figure = new_figure(width, height)

    def fx(inches: float) -> float:
        return inches / width

    def fy(inches_from_top: float) -> float:
        return 1 - inches_from_top / height

    grid_top = TITLE_HEIGHT + HEADER_HEIGHT
    axes = figure.add_axes(
        (
            fx(LABEL_WIDTH),
            fy(grid_top + n_rows * CELL_HEIGHT),
            fx(grid_width),
            n_rows * CELL_HEIGHT / height,
        )
    )
    axes.set_axis_off()
    values = [
        [
            _INDEX.get(row.answers.get(cap_id) or UNANSWERED, _INDEX[UNANSWERED])
            for cap_id, _, _ in columns
        ]
        for row in rows
    ] or [[_INDEX[UNANSWERED]] * n_cols]
    axes.pcolormesh(
        values, cmap=_CMAP, norm=_NORM, edgecolors="white", linewidth=1.5, antialiased=False
    )
    axes.set_xlim(0, n_cols)
    axes.set_ylim(n_rows, 0)

    # Evidence marks: one scatter per kind (markers, not text: a page can hold hundreds).
    for state, marker in _MARKERS.items():
        spots = [
            (c + 0.5, r + 0.5)
            for r, row in enumerate(rows)
            for c, (cap_id, _, _) in enumerate(columns)
            if row.evidence.get(cap_id) == state
        ]
        if spots:
            axes.scatter(*zip(*spots, strict=True), **marker)

    # At each row's start: a strip in the level's colour, then the level and the name as one
    # text (one text a row keeps 500 teams fast; the colour is never the only sign).
    colours = level_colours(sorted(names))
    strip = figure.add_axes(
        (
            fx(0.1),
            fy(grid_top + n_rows * CELL_HEIGHT),
            fx(STRIP_WIDTH),
            n_rows * CELL_HEIGHT / height,
        )
    )
    strip.set_axis_off()
    strip.pcolormesh(
        [
            [to_rgba(colours[row.level]) if row.level in colours else (1.0, 1.0, 1.0, 1.0)]
            for row in rows
        ]
        or [[(1.0, 1.0, 1.0, 1.0)]],
        edgecolors="white",
        linewidth=1.5,
        antialiased=False,
    )
    strip.set_xlim(0, 1)
    strip.set_ylim(n_rows, 0)
    renderer = figure.canvas.get_renderer()
    name_room = (LABEL_WIDTH - NAME_LEFT - 0.1) * DPI
    for r, row in enumerate(rows):
        y = fy(grid_top + (r + 0.5) * CELL_HEIGHT)
        level = f"L{row.level}" if row.level is not None else "\N{EN DASH}"
        text = f"{level}  {plain_text(row.team, NAME_CHARS)}"
        label = figure.text(fx(NAME_LEFT), y, text, ha="left", va="center", fontsize=9.5)
        _fit(label, text, name_room, renderer)

    # Capability titles above their columns, slanted; level groups below the grid.
    for c, (_, cap_title, _) in enumerate(columns):
        figure.text(
            fx(LABEL_WIDTH + (c + 0.5) * CELL_WIDTH),
            fy(grid_top - 0.06),
            plain_text(cap_title, TITLE_CHARS),
            rotation=50,
            rotation_mode="anchor",
            ha="left",
            va="center",
            fontsize=8.5,
        )
    groups: dict[int, list[int]] = {}
    for c, (_, _, level) in enumerate(columns):
        groups.setdefault(level, []).append(c)
    below = grid_top + n_rows * CELL_HEIGHT
    for level, cols in groups.items():
        left = LABEL_WIDTH + cols[0] * CELL_WIDTH + 0.05
        right = LABEL_WIDTH + (cols[-1] + 1) * CELL_WIDTH - 0.05
        figure.add_artist(
            _line(figure, fx(left), fx(right), fy(below + 0.08), colours.get(level, (0, 0, 0)))
        )
        label = figure.text(
            fx((left + right) / 2),
            fy(below + 0.2),
            f"needed for {level_name(level, names)}",
            ha="center",
            va="center",
            fontsize=7.5,
        )
        for shorter in (level_name(level, names), f"L{level}"):
            if label.get_window_extent(renderer).width <= (right - left) * DPI:
                break
            label.set_text(shorter)

    # The legend, laid out by hand at fixed places (matplotlib's legend measures everything).
    legend_y = fy(height - 0.3)
    x = 0.1
    for value in _ORDER:
        figure.patches.append(
            Rectangle(
                (fx(x), legend_y - 0.06 / height),
                fx(0.16),
                0.12 / height,
                transform=figure.transFigure,
                facecolor=ANSWER_COLOURS[value],
                edgecolor="#999999",
                linewidth=0.5,
            )
        )
        figure.text(fx(x + 0.22), legend_y, answer_label(value), va="center", fontsize=8)
        x += 0.3 + 0.065 * len(answer_label(value))
    for state in EVIDENCE_MARKS:
        figure.add_artist(
            Line2D(
                [fx(x + 0.08)],
                [legend_y],
                transform=figure.transFigure,
                linestyle="none",
                marker=_MARKERS[state]["marker"],
                markersize=7,
                markerfacecolor="black" if state == "contradiction" else "none",
                markeredgecolor="black",
                markeredgewidth=1.5 if state == "verified" else 0,
            )
        )
        figure.text(fx(x + 0.22), legend_y, f"evidence {state}", va="center", fontsize=8)
        x += 0.3 + 0.065 * len(f"evidence {state}")

    first = (number - 1) * per_page + 1 if rows else 0
    heading = f"{plain_text(title, 60)} · {total} team{'s' if total != 1 else ''}"
    if pages > 1:
        heading += f" · page {number} of {pages}"
    figure.text(fx(0.1), fy(TITLE_HEIGHT / 2), heading, fontsize=12, fontweight="bold", va="center")
    data = save(figure, fmt)
    suffix = f"-{number}" if pages > 1 else ""
    picture = Picture(
        data=data,
        format=fmt,
        filename=f"maturity-heatmap{suffix}.{fmt}",
        title=f"{plain_text(title, 60)}" + (f" ({number} of {pages})" if pages > 1 else ""),
        alt_text=_alt_text(rows, columns, names, number, pages, total, first),
        width=round(width * DPI),
        height=round(height * DPI),
    )
    return HeatmapPage(picture, tuple(rows), tuple(cap_id for cap_id, _, _ in columns))


def _line(figure, x0: float, x1: float, y: float, colour) -> Line2D:
    return Line2D([x0, x1], [y, y], transform=figure.transFigure, color=colour, linewidth=3)


def _fit(label, text: str, room: float, renderer) -> None:
    """Shorten `label` until it is at most `room` pixels wide (a safety net for wide glyphs)."""
    if len(text) * label.get_fontsize() * 1.05 * DPI / 72 <= room:
        return  # short enough even in the widest glyphs: no need to measure
    if label.get_window_extent(renderer).width <= room:
        return
    low, high = 1, len(text)
    while low < high:  # the longest prefix that fits, with its ellipsis
        middle = (low + high + 1) // 2
        label.set_text(text[: middle - 1].rstrip() + "\N{HORIZONTAL ELLIPSIS}")
        if label.get_window_extent(renderer).width <= room:
            low = middle
        else:
            high = middle - 1
    label.set_text(text[: low - 1].rstrip() + "\N{HORIZONTAL ELLIPSIS}")


def _alt_text(
    rows: list[HeatmapRow],
    columns: list[tuple[str, str, int]],
    names: dict[int, str],
    number: int,
    pages: int,
    total: int,
    first: int,
) -> str:
    """The page's numbers in words: teams per level, then each capability's answers."""
    if not rows:
        return "Maturity heatmap: no teams yet."
    where = f", page {number} of {pages} (teams {first} to {first + len(rows) - 1} of {total})"
    parts = [
        f"Maturity heatmap{where if pages > 1 else ''}: {counted(len(rows), 'team')} by "
        f"{counted(len(columns), 'capability', 'capabilities')}, highest level first."
    ]
    levels = Counter(row.level for row in rows)
    ordered = sorted((lvl for lvl in levels if lvl is not None), reverse=True)
    counts = [f"{levels[lvl]} at {level_name(lvl, names)}" for lvl in ordered]
    if levels.get(None):
        counts.append(f"{levels[None]} not assessed")
    parts.append("Teams: " + ", ".join(counts) + ".")
    for cap_id, cap_title, _ in columns:
        tally = Counter(row.answers.get(cap_id) or UNANSWERED for row in rows)
        said = ", ".join(f"{tally[v]} {answer_label(v)}" for v in _ORDER if tally.get(v))
        parts.append(f"{cap_title}: {said}.")
    evidence = Counter(
        state for row in rows for state in row.evidence.values() if state in EVIDENCE_MARKS
    )
    if evidence:
        parts.append(
            "Evidence: "
            + ", ".join(f"{evidence[s]} {s}" for s in EVIDENCE_MARKS if s in evidence)
            + "."
        )
    return " ".join(parts)
