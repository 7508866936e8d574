"""What every picture shares: the Picture value, fonts, colours, safe text and saving.

matplotlib draws off-screen through its Agg (PNG) and SVG canvases on a plain `Figure`,
never through pyplot, so no global figure state exists and threads can render side by side.
Its settings are set once, the same for every picture:

- The DejaVu Sans font matplotlib ships, so the same data gives the same bytes on every
  machine, and no file metadata that changes (no date, no software version).
- Mathtext off: a `$` in a team name is a dollar sign, not the start of a formula.
- Text that the font cannot draw (most emoji) becomes a white square, as a missing glyph
  would look anyway, but without matplotlib's warning for each one; control and formatting
  characters (including right-to-left marks) are dropped, so a name is always one line.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import matplotlib
from matplotlib import font_manager, ft2font
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from bot.domain import DEFAULT_CHECKLIST, Answer, Checklist

__all__ = [
    "ANSWER_COLOURS",
    "DPI",
    "FORMATS",
    "Picture",
    "answer_label",
    "level_colours",
    "level_name",
    "plain_text",
    "save",
    "spoken",
]

DPI = 100
"""Pixels per inch: sizes below are in inches, so a 8-inch-wide picture is 800 pixels."""

FORMATS = ("png", "svg")

FONT = "DejaVu Sans"

UNANSWERED = "unanswered"

ANSWER_COLOURS: Mapping[str, str] = {
    # Okabe and Ito's palette, chosen to stay apart for the common colour-vision deficiencies.
    Answer.YES.value: "#009E73",  # bluish green
    Answer.PARTLY.value: "#F0E442",  # yellow
    Answer.NO.value: "#D55E00",  # vermillion
    Answer.NOT_SURE.value: "#CC79A7",  # reddish purple
    UNANSWERED: "#DDDDDD",  # light grey
}

_ANSWER_LABELS = {
    Answer.YES.value: "yes",
    Answer.PARTLY.value: "partly",
    Answer.NO.value: "no",
    Answer.NOT_SURE.value: "not sure",
    UNANSWERED: "unanswered",
}

_SETTINGS = {
    "font.family": [FONT],
    "font.size": 9,
    "text.parse_math": False,
    "text.usetex": False,
    "svg.fonttype": "path",
    "svg.hashsalt": "mlops-bot",
    "axes.unicode_minus": True,
    "path.simplify": True,
}


@dataclass(frozen=True)
class Picture:
    """One rendered image: the file's bytes, what to call it, and what it says in words."""

    data: bytes
    format: str
    filename: str
    title: str
    alt_text: str
    width: int
    height: int


def configure() -> None:
    """Apply the shared settings (idempotent; every renderer calls it first)."""
    _configure_once()


@cache
def _configure_once() -> None:
    matplotlib.rcParams.update(_SETTINGS)


@cache
def _glyphs() -> frozenset[int]:
    path = font_manager.findfont(
        font_manager.FontProperties(family=FONT), fallback_to_default=False
    )
    return frozenset(ft2font.FT2Font(path).get_charmap())


_SPACES = re.compile(r"\s+")


def plain_text(text: str, limit: int) -> str:
    """`text` as one drawable line of at most `limit` characters (an ellipsis marks a cut)."""
    glyphs = _glyphs()
    out = []
    for char in unicodedata.normalize("NFC", str(text)):
        category = unicodedata.category(char)
        if char.isspace():
            out.append(" ")
        elif category.startswith("C"):
            continue  # control, format (bidi marks, zero-width joiners), unassigned
        elif ord(char) in glyphs:
            out.append(char)
        elif category.startswith("M") or category == "Sk":
            continue  # a combining mark or emoji modifier the font lacks: nothing to show
        else:
            out.append("\N{WHITE SQUARE}")
    line = _SPACES.sub(" ", "".join(out)).strip()
    if len(line) > limit:
        line = line[: limit - 1].rstrip() + "\N{HORIZONTAL ELLIPSIS}"
    return line


def spoken(text: str, limit: int = 80) -> str:
    """`text` for alt text: every character a screen reader can say, on one line."""
    kept = "".join(
        " " if c.isspace() else c
        for c in unicodedata.normalize("NFC", str(text))
        if c.isspace() or unicodedata.category(c) not in ("Cc", "Cs", "Co", "Cn")
    )
    line = _SPACES.sub(" ", kept).strip()
    return line if len(line) <= limit else line[: limit - 1] + "\N{HORIZONTAL ELLIPSIS}"


def level_names_of(checklist: Checklist | None = None) -> dict[int, str]:
    """Level number -> name, from the maturity model (the default one unless given)."""
    return dict(enumerate((checklist or DEFAULT_CHECKLIST).level_names))


def counted(count: int, noun: str, many: str | None = None) -> str:
    """ "1 team", "2 teams": a count with its noun in the right number."""
    return f"{count} {noun if count == 1 else (many or noun + 's')}"


def answer_label(value: str | None) -> str:
    return _ANSWER_LABELS.get(value or UNANSWERED, str(value))


def level_name(level: int | None, names: Mapping[int, str] | None = None) -> str:
    """ "L1 · ML pipeline", or "not assessed" for a team without a level."""
    if level is None:
        return "not assessed"
    names = level_names_of() if names is None else names
    name = names.get(level)
    return f"L{level} · {name}" if name else f"L{level}"


def level_colours(levels: list[int]) -> dict[int, tuple[float, float, float]]:
    """One colour per level from viridis (ordered, and readable without full colour vision)."""
    cmap = matplotlib.colormaps["viridis"]
    count = len(levels)
    return {
        level: to_rgb(cmap(0.15 + 0.7 * (index / (count - 1) if count > 1 else 0.5)))
        for index, level in enumerate(levels)
    }


def readable(colour: tuple[float, float, float]) -> tuple[float, float, float]:
    """`colour` darkened where it is too light to read as text on white."""
    red, green, blue = colour
    if 0.299 * red + 0.587 * green + 0.114 * blue <= 0.45:
        return colour
    return (red * 0.55, green * 0.55, blue * 0.55)


def save(figure: Figure, fmt: str) -> bytes:
    """The figure's bytes, the same for the same figure on any run."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown picture format {fmt!r}; choose one of {', '.join(FORMATS)}")
    buffer = io.BytesIO()
    if fmt == "png":
        # Level 3 of zlib: a few per cent larger than the default 6, and a third faster.
        FigureCanvasAgg(figure).print_png(
            buffer, metadata={"Software": None}, pil_kwargs={"compress_level": 3}
        )
    else:
        FigureCanvasSVG(figure).print_svg(buffer, metadata={"Date": None, "Creator": None})
    return buffer.getvalue()


def new_figure(width: float, height: float) -> Figure:
    configure()
    figure = Figure(figsize=(width, height), dpi=DPI, facecolor="white")
    FigureCanvasAgg(figure)  # a canvas that can measure text
    return figure
