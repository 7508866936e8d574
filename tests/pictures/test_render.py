"""The pictures as a person would check them: the colour at a team's cell, the order of the
rows, the size of the image, what the alt text says, and the same bytes for the same data.

The PNGs are read back with Pillow (which comes with matplotlib), so these tests look at the
pixels a person would see, not at matplotlib's objects.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from PIL import Image

from bot.domain import DEFAULT_CHECKLIST
from bot.pictures import (
    HeatmapRow,
    TimelinePoint,
    TrendWeek,
    plain_text,
    render_heatmap,
    render_timeline,
    render_trend,
)
from bot.pictures.common import ANSWER_COLOURS, level_colours
from bot.pictures.heatmap import LABEL_WIDTH

CAPS = DEFAULT_CHECKLIST.ids
HOSTILE = [
    "<b>Fraud</b> *ML* <!channel>",
    "$\\frac{1$",  # broken TeX: with mathtext on, matplotlib refuses to draw it at all
    "Recs 🚀🔥👩‍👩‍👧",
    "צוות המלצות عربي",
    "W" * 80,
]


def image(data: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(data))
    picture.load()
    return picture.convert("RGB")


def hex_colour(rgb: tuple[int, int, int]) -> str:
    return "#{:02X}{:02X}{:02X}".format(*rgb)


def cell_colour(page, team: str, capability: str) -> str:
    """The colour a little left of the cell's middle (the middle may carry an evidence mark)."""
    x, y = page.cell_centre(team, capability)
    return hex_colour(image(page.picture.data).getpixel((x - 12, y)))


def org() -> list[HeatmapRow]:
    return [
        HeatmapRow("payments", 1, {"data_versioning": "yes", "experiment_tracking": "no"}),
        HeatmapRow("Ads", 1, {"data_versioning": "partly", "model_registry": "not_sure"}),
        HeatmapRow("Zeta", 2, dict.fromkeys(CAPS, "yes"), {"cicd": "verified"}),
        HeatmapRow("New team", None, {}),
        HeatmapRow("Fraud", 0, {"feature_store": "no"}, {"feature_store": "contradiction"}),
    ]


def test_each_cell_has_the_colour_of_the_teams_answer():
    (page,) = render_heatmap(org())
    assert cell_colour(page, "payments", "data_versioning") == ANSWER_COLOURS["yes"]
    assert cell_colour(page, "payments", "experiment_tracking") == ANSWER_COLOURS["no"]
    assert cell_colour(page, "Ads", "data_versioning") == ANSWER_COLOURS["partly"]
    assert cell_colour(page, "Ads", "model_registry") == ANSWER_COLOURS["not_sure"]
    assert cell_colour(page, "Ads", "drift_monitoring") == ANSWER_COLOURS["unanswered"]
    assert cell_colour(page, "Zeta", "drift_monitoring") == ANSWER_COLOURS["yes"]
    assert cell_colour(page, "New team", "cicd") == ANSWER_COLOURS["unanswered"]


def test_evidence_is_marked_in_its_cell_and_nowhere_else():
    (page,) = render_heatmap(org())
    pixels = image(page.picture.data)

    def dark_pixels(team, capability):
        x, y = page.cell_centre(team, capability)
        box = [pixels.getpixel((x + dx, y + dy)) for dx in range(-6, 7) for dy in range(-6, 7)]
        return sum(1 for r, g, b in box if r + g + b < 120)

    assert dark_pixels("Zeta", "cicd") > 5  # verified: a tick
    assert dark_pixels("Fraud", "feature_store") > 5  # contradiction: a cross
    assert dark_pixels("Zeta", "ab_testing") == 0
    assert dark_pixels("payments", "data_versioning") == 0


def test_rows_go_by_level_then_name_and_columns_in_asking_order_grouped_by_level():
    (page,) = render_heatmap(org())
    assert [row.team for row in page.rows] == ["Zeta", "Ads", "payments", "Fraud", "New team"]
    ys = [page.cell_centre(row.team, CAPS[0])[1] for row in page.rows]
    assert ys == sorted(ys)  # top to bottom on the image too
    assert list(page.columns) == list(CAPS)
    levels = [DEFAULT_CHECKLIST.capability(c).level for c in page.columns]
    assert levels == sorted(levels)
    xs = [page.cell_centre("Zeta", c)[0] for c in page.columns]
    assert xs == sorted(xs)


def test_the_level_strip_at_a_rows_start_has_the_levels_colour():
    (page,) = render_heatmap(org())
    pixels = image(page.picture.data)
    colours = level_colours([0, 1, 2])
    for row in page.rows:
        y = page.cell_centre(row.team, CAPS[0])[1]
        got = pixels.getpixel((16, y))
        want = (255, 255, 255) if row.level is None else colours[row.level]
        if row.level is not None:
            want = tuple(round(c * 255) for c in want)
        assert max(abs(a - b) for a, b in zip(got, want, strict=True)) <= 1, row.team


def test_the_image_is_the_size_it_says_and_the_alt_text_has_the_numbers():
    (page,) = render_heatmap(org())
    picture = page.picture
    assert image(picture.data).size == (picture.width, picture.height)
    assert 800 <= picture.width <= 1000
    alt = picture.alt_text
    assert "5 teams by 9 capabilities" in alt
    assert "1 at L2 · CI/CD + continuous training" in alt
    assert "2 at L1 · ML pipeline" in alt
    assert "1 at L0 · Manual" in alt and "1 not assessed" in alt
    assert "Data versioning: 2 yes, 1 partly, 2 unanswered." in alt
    assert "Evidence: 1 verified, 1 contradiction." in alt
    assert len(alt) <= 1000  # Slack's alt text for an image is kept short


def test_more_than_fifty_teams_make_several_readable_pages():
    rows = [HeatmapRow(f"Team {i:03d}", i % 3, {"data_versioning": "yes"}) for i in range(120)]
    pages = render_heatmap(rows)
    assert [len(p.rows) for p in pages] == [50, 50, 20]
    first, second, last = (p.picture for p in pages)
    assert first.height == second.height > last.height
    assert first.width == last.width
    assert first.filename == "maturity-heatmap-1.png"
    assert "page 2 of 3 (teams 51 to 100 of 120)" in second.alt_text
    assert "20 teams by 9 capabilities" in last.alt_text
    # Every team is on exactly one page, in order.
    assert [r.team for p in pages for r in p.rows] == [
        r.team for r in sorted(rows, key=lambda r: (-r.level, r.team))
    ]


def test_the_same_data_gives_the_same_bytes_and_no_dates():
    for fmt in ("png", "svg"):
        one = [p.picture.data for p in render_heatmap(org(), fmt=fmt)]
        two = [p.picture.data for p in render_heatmap(list(reversed(org())), fmt=fmt)]
        assert one == two
    png = render_heatmap(org())[0].picture.data
    assert b"Software" not in png and b"matplotlib" not in png.lower()
    svg = render_heatmap(org(), fmt="svg")[0].picture.data.decode()
    assert "<dc:date>" not in svg and str(date.today().year) not in svg
    changed = org()
    changed[0] = HeatmapRow("payments", 1, {"data_versioning": "no"})
    assert render_heatmap(changed)[0].picture.data != png


def test_hostile_names_are_drawn_as_text_and_never_move_the_grid():
    plain = render_heatmap([HeatmapRow(f"Team {i}", 1, {"cicd": "yes"}) for i in range(5)])[0]
    hostile = render_heatmap([HeatmapRow(name, 1, {"cicd": "yes"}) for name in HOSTILE])[0]
    assert (hostile.picture.width, hostile.picture.height) == (
        plain.picture.width,
        plain.picture.height,
    )
    pixels = image(hostile.picture.data)
    gap_right = round(LABEL_WIDTH * 100) - 2
    for row in hostile.rows:
        x, y = hostile.cell_centre(row.team, "cicd")
        assert hex_colour(pixels.getpixel((x - 12, y))) == ANSWER_COLOURS["yes"]
        # The columns just left of the grid stay blank: no name runs into the cells.
        for dx in range(6):
            assert pixels.getpixel((gap_right - dx, y)) == (255, 255, 255), row.team
    # The alt text keeps the names as typed; the drawn text is one line, cut with an ellipsis.
    assert plain_text("W" * 80, 40) == "W" * 39 + "…"
    assert plain_text("a\u202eb\nc\u200dd", 40) == "ab cd"
    assert "□" in plain_text("Recs 🚀", 40)


def test_mathtext_is_off_so_dollar_signs_are_plain_text():
    # "$\frac{1$" is invalid TeX: were mathtext on, drawing it would raise ValueError.
    (page,) = render_heatmap([HeatmapRow("$\\frac{1$", 0, {}), HeatmapRow("$5 $10", 1, {})])
    assert page.picture.data.startswith(b"\x89PNG")
    trend = render_trend([TrendWeek(date(2026, 11, 30), {0: 1})], title="$\\frac{ trend$")
    assert trend.data.startswith(b"\x89PNG")


def weeks(n: int) -> list[TrendWeek]:
    start = date(2026, 6, 1)
    return [
        TrendWeek(start + timedelta(weeks=i), {0: 10 - i // 3, 1: 2 + i // 4, 2: i // 6})
        for i in range(n)
    ]


def test_trend_stacks_the_levels_and_labels_the_current_week():
    data = weeks(26)
    picture = render_trend(data)
    assert image(picture.data).size == (picture.width, picture.height) == (800, 420)
    alt = picture.alt_text
    assert "26 weeks from 1 Jun 2026 to the week of 23 Nov 2026" in alt
    assert "This week: 2 at L0 · Manual, 8 at L1 · ML pipeline, 4 at L2" in alt
    assert "(14 teams)" in alt
    assert "1 Jun 10/2/0" in alt and "23 Nov 2/8/4" in alt
    # Just left of the right edge, bottom to top: L0's band, then L1's, then L2's.
    pixels = image(picture.data)
    colours = {k: tuple(round(c * 255) for c in v) for k, v in level_colours([0, 1, 2]).items()}
    column = [pixels.getpixel((620, y)) for y in range(60, 340)]
    seen = [
        level
        for colour in column
        for level, want in colours.items()
        if max(abs(a - b) for a, b in zip(colour, want, strict=True)) <= 2
    ]
    assert seen and seen[0] == 2 and seen[-1] == 0 and 1 in seen
    assert render_trend(data).data == picture.data


def test_trend_since_the_first_assessment_and_an_empty_one():
    one = render_trend(weeks(1))
    assert "1 week from 1 Jun 2026" in one.alt_text
    empty = render_trend([])
    assert "no assessments yet" in empty.alt_text
    assert image(empty.data).size == (800, 420)


def test_levels_come_from_the_model_not_a_fixed_three():
    names = {0: "Ad hoc", 1: "Repeatable", 2: "Automated", 3: "Self-healing"}
    picture = render_trend(
        [TrendWeek(date(2026, 11, 30), {0: 1, 1: 2, 2: 3, 3: 4})], level_names=names
    )
    assert "4 at L3 · Self-healing" in picture.alt_text
    (page,) = render_heatmap([HeatmapRow("A", 3, {})], level_names=names)
    assert "1 at L3 · Self-healing" in page.picture.alt_text


def test_timeline_marks_each_assessment_and_says_it_in_words():
    points = [
        TimelinePoint(datetime(2026, 6, 1, tzinfo=UTC), 0),
        TimelinePoint(datetime(2026, 8, 3, tzinfo=UTC), 1),
        TimelinePoint(datetime(2026, 9, 1, tzinfo=UTC), 1),
        TimelinePoint(datetime(2026, 11, 2, tzinfo=UTC), 2),
    ]
    picture = render_timeline("Fraud ML 🚀", points, now=datetime(2026, 11, 30, tzinfo=UTC))
    assert image(picture.data).size == (picture.width, picture.height) == (800, 300)
    assert picture.alt_text == (
        "Fraud ML 🚀: level over time, 4 assessments from 1 Jun 2026 to 2 Nov 2026; now "
        "L2 · CI/CD + continuous training. 1 Jun 2026 L0; 3 Aug 2026 L1; 1 Sep 2026 L1; "
        "2 Nov 2026 L2."
    )
    # One dot per assessment, in the level's colour.
    pixels = image(picture.data)
    colours = {k: tuple(round(c * 255) for c in v) for k, v in level_colours([0, 1, 2]).items()}
    found = {
        level
        for x in range(0, 800, 2)
        for y in range(0, 300, 2)
        for level, want in colours.items()
        if pixels.getpixel((x, y)) == want
    }
    assert found == {0, 1, 2}
    empty = render_timeline("Nobody", [])
    assert empty.alt_text == "Nobody: level over time. Not assessed yet."


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match=re.escape("png, svg")):
        render_trend(weeks(2), fmt="gif")


def test_a_five_level_model_gets_its_own_columns_groups_and_names():
    from bot.domain.model_file import builtin_model

    microsoft = builtin_model("microsoft")
    rows = [
        HeatmapRow("Ops", 4, dict.fromkeys(microsoft.ids, "yes")),
        HeatmapRow("Starter", 1, {"source_control": "yes", "app_ci": "yes"}),
    ]
    (page,) = render_heatmap(rows, microsoft)
    assert list(page.columns) == sorted(microsoft.ids, key=lambda c: microsoft.capability(c).level)
    alt = page.picture.alt_text
    assert "2 teams by 12 capabilities" in alt
    assert "1 at L4 · Full MLOps automated operations" in alt and "1 at L1 · DevOps but no" in alt
    assert cell_colour(page, "Starter", "app_ci") == ANSWER_COLOURS["yes"]
    assert cell_colour(page, "Starter", "drift_monitoring") == ANSWER_COLOURS["unanswered"]
    weeks_of_five = [TrendWeek(date(2026, 11, 30), {0: 1, 4: 2})]
    names = dict(enumerate(microsoft.level_names))
    trend = render_trend(weeks_of_five, level_names=names)
    assert "2 at L4 · Full MLOps automated operations" in trend.alt_text
    assert "(L0/L1/L2/L3/L4)" not in trend.alt_text  # one week: no week-by-week list
