"""A workspace may call the command something else (SLASH_COMMAND): every text names it so."""

import ast
import re
from pathlib import Path

from tests.driver import text_of

ROOT = Path(__file__).resolve().parent.parent


def test_replies_and_errors_name_the_configured_command(make_bot):
    bot = make_bot(slash_command="/maturity")
    replies = []
    for text in ("help", "status Nope", "snooze", "snooze 60w", "remind weekly", "nonsense"):
        before = len(bot.slack.calls_to("response_url"))
        response = bot.client.command(text, command="/maturity", user_id="U1", channel_id="C1")
        assert response.status == 200
        message = bot.slack.wait_for("response_url", count=before + 1)[-1].args
        replies.append(message.get("text", "") + "\n" + text_of(message))
    help_text, unknown_team, snooze, too_long, no_team, unknown = replies
    assert "`/maturity assess [team]`" in help_text
    assert "`/maturity assess Nope` creates it; `/maturity teams` lists every team" in unknown_team
    assert "`/maturity snooze 2w`" in snooze
    assert "`/maturity remind off`" in too_long
    assert "`/maturity remind weekly Fraud ML`" in no_team
    assert "/maturity" in unknown
    for reply in replies:
        assert "/mlops" not in reply and "{slash_command}" not in reply


def _string_literals(path: Path) -> list[tuple[int, str]]:
    """Every string constant in a module except docstrings (those may name the default)."""
    tree = ast.parse(path.read_text())
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if id(node) not in docstrings
    ]


def test_no_user_facing_text_hard_codes_the_default_command():
    """Services and handlers write errors.COMMAND; templates get `command`."""
    found = []
    for path in [*(ROOT / "bot" / "services").glob("*.py"), *(ROOT / "handlers").glob("*.py")]:
        literals = _string_literals(path)
        found += [f"{path.name}:{line}" for line, text in literals if "/mlops" in text]
    for path in (ROOT / "messages").glob("*.j2"):
        code = re.sub(r"\{#.*?#\}", "", path.read_text(), flags=re.S)
        found += [path.name] if "/mlops" in code else []
    assert found == []
