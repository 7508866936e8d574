"""The heatmap marks what connected tools say about an answer: verified or contradicted,
read from the evidence service (issue 10) for every team at once."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from PIL import Image

from bot.config import Settings
from bot.domain import DEFAULT_CHECKLIST
from bot.domain.evidence import mlflow_findings
from bot.pictures import render_heatmap
from bot.sandbox.seed import seed_finished_assessment
from bot.services import evidence
from bot.services import pictures as picture_service
from bot.services import teams as team_service

WS = "T0MARKS"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SETTINGS = Settings(
    slack_bot_token="xoxb-unused",
    slack_signing_secret="unused",
    evidence_allowed_hosts=frozenset({"mlflow.example.com"}),
)


def test_verified_and_contradicted_answers_are_marked_and_others_are_not(session):
    fraud = team_service.create_team(session, WS, "Fraud ML", "UOWNER")
    vision = team_service.create_team(session, WS, "Vision", "UOWNER")
    yes = {c.id: "yes" for c in DEFAULT_CHECKLIST.capabilities}
    seed_finished_assessment(session, fraud, yes, by="UOWNER", at=NOW - timedelta(days=1))
    seed_finished_assessment(session, vision, yes, by="UOWNER", at=NOW - timedelta(days=1))
    source = evidence.connect_source(
        session, SETTINGS, fraud, "mlflow", "https://mlflow.example.com", {}, "UOWNER", NOW
    )
    evidence.record_findings(
        session,
        source,
        mlflow_findings({"runs_30d": 142, "experiments_with_runs": [{}, {}, {}], "models": []}),
        NOW - timedelta(hours=2),
    )
    rows = {r.team: r for r in picture_service.heatmap_rows(session, WS, now=NOW)}
    assert rows["Fraud ML"].evidence == {
        "experiment_tracking": "verified",
        "model_registry": "contradiction",
    }
    assert rows["Vision"].evidence == {}  # no tools connected: nothing to mark

    (page,) = render_heatmap(list(rows.values()))
    pixels = Image.open(io.BytesIO(page.picture.data)).convert("RGB")

    def dark(team, capability):
        x, y = page.cell_centre(team, capability)
        box = [pixels.getpixel((x + dx, y + dy)) for dx in range(-6, 7) for dy in range(-6, 7)]
        return sum(1 for r, g, b in box if r + g + b < 120)

    assert dark("Fraud ML", "experiment_tracking") > 5
    assert dark("Fraud ML", "model_registry") > 5
    assert dark("Fraud ML", "cicd") == 0 and dark("Vision", "experiment_tracking") == 0
    assert "Evidence: 1 verified, 1 contradiction." in page.picture.alt_text
