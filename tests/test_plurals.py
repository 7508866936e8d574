"""Counts read as English: "1 question", "2 questions", never "question(s)" or "1 days"."""

from __future__ import annotations

import ast
import json
import re
from datetime import UTC, datetime
from pathlib import Path

from bot.domain import Answer
from bot.models import Cadence, Team
from bot.services.history import AnswerChange
from messages import plural, render
from messages.outbox import _controls
from tests.driver import Person, run_assessment, text_of
from tests.test_message_limits import SETTINGS

ROOT = Path(__file__).resolve().parents[1]
# What a person reads: the templates, the Python that writes messages, the command line.
SOURCES = [
    *sorted((ROOT / "messages").glob("*.j2")),
    *sorted((ROOT / "messages").glob("*.py")),
    *sorted((ROOT / "handlers").glob("*.py")),
    *sorted((ROOT / "bot" / "services").glob("*.py")),
    *sorted((ROOT / "bot").glob("*.py")),  # the command line and the operators' log lines
]
HEDGED = re.compile(r"\b(?!https?\()\w+\(s\)")
ONE_MANY = re.compile(
    r"\b1 (days|weeks|teams|questions|answers|answer changes|level changes|older ones|tokens"
    r"|installations|owners)\b"
)


def texts(path: Path) -> list[str]:
    """The words in a file: a template's whole text, the string literals of Python code (so
    `[_status(s) for s in sources]` is code, not a hedged plural)."""
    source = path.read_text(encoding="utf-8")
    if path.suffix != ".py":
        return source.splitlines()
    return [
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def test_no_hedged_plural_in_what_the_bot_says():
    found = [
        f"{path.relative_to(ROOT)}: {text.strip()[:100]}"
        for path in SOURCES
        for text in texts(path)
        if HEDGED.search(text)
    ]
    assert not found, "write the count's own form instead of (s):\n" + "\n".join(found)
    assert any("question" in text for text in texts(ROOT / "handlers" / "assess.py"))


def test_plural():
    assert plural(1, "question") == "1 question"
    assert plural(2, "question") == "2 questions"
    assert plural(0, "day") == "0 days"
    assert plural(1, "person", "people") == "1 person"
    assert plural(3, "person", "people") == "3 people"


def test_done_on_a_one_question_step_says_one_question(bot):
    person = Person(bot)
    run_assessment(
        person,
        "Vision",
        {
            "data_versioning": "yes",
            "experiment_tracking": "yes",
            "model_registry": "yes",
            "automated_training": "yes",
        },
    )
    detail = person.command("next Vision")
    assert "Add a feature store" in text_of(detail)
    first = person.click(detail, "Done, update my answers")
    text = text_of(first)
    assert "1 question." in text and "(s)" not in text
    assert "question 1 of 1" in text


def test_counts_of_one_and_two_in_the_rendered_messages():
    for days in (1, 2):
        reminder = json.dumps(
            render(
                "reminder",
                **_controls(1, "Vision", Cadence.WEEKLY, SETTINGS),
                days=days,
                last_assessed="01 Jan",
                level="L0",
            )
        )
        assert f"{plural(days, 'day')} ago" in reminder
        assert not ONE_MANY.search(reminder)
    teams = render(
        "teams",
        command="/mlops",
        rows=[],
        counts={0: 1, 1: 0, 2: 0, None: 0},
        total=1,
        page=1,
        pages=1,
    )
    assert teams["text"] == "MLOps maturity of 1 team"
    edit = AnswerChange(
        "feature_store", None, Answer.YES, "U1", datetime(2026, 11, 30, tzinfo=UTC), None
    )
    for more in (1, 2):
        history = json.dumps(
            render(
                "history",
                command="/mlops",
                team=Team(name="Vision"),
                changes=[],
                edits=[edit],
                more_edits=more,
            )
        )
        assert "latest 1 answer change;" in history
        assert (" older one is " if more == 1 else " older ones are ") in history
        assert not ONE_MANY.search(history)
