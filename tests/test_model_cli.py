"""`mlops-bot model ...` as an operator runs it, and CHECKLIST_FILE.

The commands run in-process through `bot.cli.main` with the environment an operator would
set (DATABASE_URL); they print one line per mistake and change nothing when anything is
wrong.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from bot.config import ConfigError, load_settings
from bot.db import make_engine, make_session_factory
from bot.migrate import upgrade
from bot.models import WorkspaceModel
from bot.services import maturity
from tests.conftest import fresh_sqlite_url
from tests.driver import Person, text_of

GOOD = """\
extends: microsoft
name: acme
title: ACME's MLOps maturity model
version: "1"
capabilities:
  - id: model_cards
    title: Model cards
    question: Does every model in production have an up-to-date model card?
    help: A short page says what the model is for and its known limits.
    level: 2
    step: 3
"""


@pytest.fixture
def operator(tmp_path, monkeypatch):
    """A migrated SQLite database and an operator's shell in `tmp_path`."""
    url = fresh_sqlite_url(tmp_path)
    upgrade(url)
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "CHECKLIST_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", url)
    yield url
    maturity.configure_default(None)


def installed(url: str) -> list[tuple[str, str, bool]]:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            rows = session.scalars(select(WorkspaceModel).order_by(WorkspaceModel.name))
            return [(r.name, r.version, r.is_primary) for r in rows]
    finally:
        engine.dispose()


def test_validate_a_good_file(tmp_path, capsys):
    path = tmp_path / "acme.yaml"
    path.write_text(GOOD, encoding="utf-8")
    assert main(["model", "validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "ACME's MLOps maturity model (acme, version 1) is valid: 5 levels (L0 to L4)" in out
    assert "13 capabilities, 5 steps" in out


def test_validate_names_every_mistake_on_its_own_line(tmp_path, capsys):
    path = tmp_path / "acme.yaml"
    path.write_text(GOOD.replace("level: 2", "level: 9").replace('"1"', "''"), encoding="utf-8")
    assert main(["model", "validate", str(path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "acme.yaml:4: version: must not be empty",
        "acme.yaml:10: capabilities[0].level: must be between 1 and 4, got 9",
        f"mlops-bot: {path} has 2 mistakes",
    ]


def test_install_list_use_update_and_remove(operator, tmp_path, capsys):
    assert main(["model", "install", "--workspace", "T0OPS", "microsoft"]) == 0
    assert "installed: Microsoft's MLOps maturity model (microsoft, version 1)" in (
        capsys.readouterr().out
    )
    # the default stays primary; the new one is shown beside it
    assert installed(operator) == [("google", "default-1", True), ("microsoft", "1", False)]

    path = tmp_path / "acme.yaml"
    path.write_text(GOOD, encoding="utf-8")
    assert main(["model", "install", "--workspace", "T0OPS", str(path), "--use"]) == 0
    assert installed(operator)[0] == ("acme", "1", True)
    path.write_text(GOOD.replace('version: "1"', 'version: "2"'), encoding="utf-8")
    assert main(["model", "install", "--workspace", "T0OPS", str(path)]) == 0
    assert "updated to ACME's MLOps maturity model (acme, version 2)" in capsys.readouterr().out
    assert installed(operator)[0] == ("acme", "2", True)

    assert main(["model", "list", "--workspace", "T0OPS"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[:3] for line in lines] == [
        ["acme", "2", "primary"],
        ["google", "default-1", "also shown"],
        ["microsoft", "1", "also shown"],
    ]

    assert main(["model", "remove", "--workspace", "T0OPS", "acme"]) == 1
    assert "acme is the primary model" in capsys.readouterr().err
    assert main(["model", "remove", "--workspace", "T0OPS", "microsoft"]) == 0
    assert [name for name, _, _ in installed(operator)] == ["acme", "google"]


def test_a_bad_file_installs_nothing(operator, tmp_path, capsys):
    path = tmp_path / "acme.yaml"
    path.write_text(GOOD.replace("step: 3", "step: 30"), encoding="utf-8")
    assert main(["model", "install", "--workspace", "T0OPS", str(path)]) == 1
    err = capsys.readouterr().err
    assert "acme.yaml:11: capabilities[0].step: no step 30" in err
    assert "nothing installed" in err
    assert installed(operator) == []


def test_checklist_file_must_be_valid_and_names_the_mistake(tmp_path):
    path = tmp_path / "acme.yaml"
    path.write_text(GOOD.replace("level: 2", "level: 0"), encoding="utf-8")
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "CHECKLIST_FILE": str(path)}
    with pytest.raises(ConfigError) as error:
        load_settings(env)
    message = str(error.value)
    assert "CHECKLIST_FILE" in message and "capabilities[0].level" in message
    assert "\n" not in message
    path.write_text(GOOD, encoding="utf-8")
    assert load_settings(env).checklist_file == str(path)
    assert load_settings({**env, "CHECKLIST_FILE": "microsoft"}).checklist_file == "microsoft"


def test_checklist_file_is_the_model_of_a_workspace_that_installed_none(make_bot, tmp_path):
    path = tmp_path / "acme.yaml"
    path.write_text(GOOD, encoding="utf-8")
    try:
        bot = make_bot(checklist_file=str(path))
        text = text_of(Person(bot).command("model"))
        assert "ACME's MLOps maturity model" in text and "version 1" in text
        card = text_of(Person(bot).command("assess Fraud ML"))
        assert "Source control" in card  # Microsoft's first question, through the extension
    finally:
        maturity.configure_default(None)


def test_no_file_is_needed_for_the_built_ins(tmp_path):
    assert not Path(tmp_path / "google").exists()
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "CHECKLIST_FILE": "google"}
    assert load_settings(env).checklist_file == "google"
