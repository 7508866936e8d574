"""Reading `connect` and `disconnect` as Slack sends them: links wrapped, `&` escaped, team
names with spaces, credentials refused before anything else."""

from __future__ import annotations

import pytest

from bot.errors import UserError
from bot.services.evidence_requests import parse_connect, parse_disconnect, unwrap_links


@pytest.mark.parametrize(
    ("sent", "typed"),
    [
        ("<https://mlflow.example.com>", "https://mlflow.example.com"),
        ("<https://mlflow.example.com|mlflow.example.com>", "https://mlflow.example.com"),
        ("<mailto:git@git.example.com|git@git.example.com>:ml/fraud.git",
         "git@git.example.com:ml/fraud.git"),
        ("R&amp;D &lt;ML&gt;", "R&D <ML>"),
        ("<@U123> stays", "<@U123> stays"),
    ],
)  # fmt: skip
def test_slack_escaping_is_undone(sent, typed):
    assert unwrap_links(sent) == typed


def test_the_team_name_ends_at_the_kind_followed_by_an_address():
    request = parse_connect("Data repo mlflow team repo <https://git.example.com/x.git> main ml")
    assert request.team == "Data repo mlflow team"
    assert (request.kind, request.url) == ("repo", "https://git.example.com/x.git")
    assert request.options == {"branch": "main", "path": "ml"}
    request = parse_connect("mlflow https://mlflow.example.com experiments=fraud")
    assert (request.team, request.options) == ("", {"experiments": "fraud"})
    scp = parse_connect("Fraud ML repo git@git.example.com:ml/fraud.git")
    assert scp.url == "git@git.example.com:ml/fraud.git"


@pytest.mark.parametrize(
    "text",
    [
        "Fraud ML mlflow https://user:secret@mlflow.example.com",
        "Fraud ML repo https://secret@git.example.com/x.git",
        "Fraud ML repo user:secret@git.example.com:x.git",
        "Fraud ML mlflow https://mlflow.example.com/?access_token=secret",
        "Fraud ML repo ssh://git:secret@git.example.com/x.git",
    ],
)
def test_credentials_are_refused_without_repeating_them(text):
    with pytest.raises(UserError) as refused:
        parse_connect(text)
    assert "credential" in str(refused.value) and "secret" not in str(refused.value)


def test_ssh_user_names_are_not_credentials():
    assert parse_connect("X repo ssh://git@git.example.com/x.git").url.startswith("ssh://git@")


def test_disconnect_takes_the_kind_last():
    assert parse_disconnect("Fraud ML MLflow").kind == "mlflow"
    assert parse_disconnect("Fraud ML repo").team == "Fraud ML"
    with pytest.raises(UserError, match="What should I disconnect"):
        parse_disconnect("Fraud ML")
