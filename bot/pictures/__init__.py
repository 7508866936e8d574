"""Pictures for Slack: the maturity heatmap, the weekly trend and a team's timeline.

Pure functions from plain data to image bytes and alt text, with no database or Slack in
sight; `bot/services/pictures.py` gathers the data and the handlers and outbox upload them.
"""

from bot.pictures.common import FORMATS, Picture, plain_text
from bot.pictures.heatmap import EVIDENCE_MARKS, HeatmapPage, HeatmapRow, render_heatmap
from bot.pictures.timeline import TimelinePoint, render_timeline
from bot.pictures.trend import TrendWeek, render_trend

__all__ = [
    "EVIDENCE_MARKS",
    "FORMATS",
    "HeatmapPage",
    "HeatmapRow",
    "Picture",
    "TimelinePoint",
    "TrendWeek",
    "plain_text",
    "render_heatmap",
    "render_timeline",
    "render_trend",
]
