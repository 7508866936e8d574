"""The pictures where people see them: `/mlops report` and `/mlops history`, typed as signed
slash commands, uploaded through files_upload_v2 to the Slack stand-in, and read back from
the bytes the stand-in received (size, alt text, the colour at a team's cell).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from PIL import Image

from bot.domain import DEFAULT_CHECKLIST
from bot.pictures import HeatmapRow, render_heatmap
from bot.pictures.common import ANSWER_COLOURS
from tests.conftest import TEAM_ID
from tests.driver import Person, run_assessment, text_of

L1 = {c.id: "yes" for c in DEFAULT_CHECKLIST.capabilities if c.level == 1}


def uploads(bot, count: int, before: int = 0) -> list[tuple[dict, list[dict]]]:
    """(completeUploadExternal's arguments, the stand-in's file records) per upload message."""
    calls = bot.slack.wait_for("files.completeUploadExternal", count=before + count)[before:]
    result = []
    for call in calls:
        entries = json.loads(call.args["files"])
        result.append((dict(call.args), [bot.slack.files[e["id"]] for e in entries]))
    return result


def said(message: dict) -> str:
    """Everything a person reads in a reply: the blocks, or the plain text of an error."""
    return text_of(message) + "\n" + message.get("text", "")


def pixels(record: dict) -> Image.Image:
    picture = Image.open(io.BytesIO(record["content"]))
    picture.load()
    return picture.convert("RGB")


def two_teams(person: Person) -> None:
    run_assessment(person, "Fraud ML", L1)  # L1
    run_assessment(person, "Vision", {"data_versioning": "partly"})  # L0


def test_report_sends_the_heatmap_and_the_trend_to_the_askers_dm(bot):
    person = Person(bot)
    two_teams(person)
    reply = person.command("report")
    assert "I posted the maturity heatmap and the trend in your DM with me" in said(reply)
    assert reply["response_type"] == "ephemeral"
    ((args, files),) = uploads(bot, 1)
    assert args["channel_id"] == bot.slack.dm_channel_id("U1")
    assert "2 teams" in args["initial_comment"]
    heatmap, trend = files
    assert [f["name"] for f in files] == ["maturity-heatmap.png", "maturity-trend.png"]
    assert all(f["filetype"] == "png" and f["channels"] == [args["channel_id"]] for f in files)
    # The alt text Slack keeps says the numbers in words.
    assert "2 teams by 9 capabilities" in heatmap["alt_txt"]
    assert "1 at L1 · ML pipeline, 1 at L0 · Manual" in heatmap["alt_txt"]
    assert "Data versioning: 1 yes, 1 partly." in heatmap["alt_txt"]
    assert "Drift monitoring: 2 no." in heatmap["alt_txt"]
    assert "This week: 1 at L0 · Manual, 1 at L1 · ML pipeline, 0 at L2" in trend["alt_txt"]
    # Slack reads the size from the PNG; the image is the one a person sees.
    image = pixels(heatmap)
    assert (heatmap["original_w"], heatmap["original_h"]) == image.size
    assert image.size[0] >= 800
    # The colour at a team's cell is its answer (run_assessment answers "no" where not told).
    (layout,) = render_heatmap([HeatmapRow("Fraud ML", 1, {}), HeatmapRow("Vision", 0, {})])
    x, y = layout.cell_centre("Vision", "data_versioning")
    assert "#{:02X}{:02X}{:02X}".format(*image.getpixel((x - 12, y))) == ANSWER_COLOURS["partly"]
    x, y = layout.cell_centre("Fraud ML", "model_registry")
    assert "#{:02X}{:02X}{:02X}".format(*image.getpixel((x - 12, y))) == ANSWER_COLOURS["yes"]
    x, y = layout.cell_centre("Vision", "cicd")
    assert "#{:02X}{:02X}{:02X}".format(*image.getpixel((x - 12, y))) == ANSWER_COLOURS["no"]
    assert pixels(trend).size == (800, 420)


def test_report_in_a_channel_is_for_admins(bot):
    person = Person(bot)
    two_teams(person)
    bot.slack.add_channel("CLEADS", name="ml-leads")
    reply = person.command("report <#CLEADS|ml-leads>")
    assert "Only workspace admins" in said(reply)
    assert bot.slack.calls_to("files.getUploadURLExternal") == []

    bot.slack.add_user("UADMIN", is_admin=True)
    admin = Person(bot, user_id="UADMIN")
    reply = admin.command("report <#CLEADS|ml-leads>")
    assert "in <#CLEADS>" in said(reply)
    ((args, files),) = uploads(bot, 1)
    assert args["channel_id"] == "CLEADS"
    (message,) = [m for m in bot.slack.messages["CLEADS"] if m.get("upload")]
    assert [f["name"] for f in message["files"]] == [f["name"] for f in files]
    assert "2 teams" in message["text"]


def test_report_where_slack_refuses_says_why_and_shares_nothing(bot):
    person = Person(bot)
    two_teams(person)
    bot.slack.add_user("UADMIN", is_admin=True)
    admin = Person(bot, user_id="UADMIN")
    bot.slack.add_channel("GSECRET", name="secret", is_private=True, is_member=False)
    reply = admin.command("report <#GSECRET|secret>")
    assert "Slack said `channel_not_found`" in said(reply)
    assert "Invite me to <#GSECRET>" in said(reply)
    assert all(not f["channels"] for f in bot.slack.files.values())

    bot.slack.scopes.discard("files:write")
    reply = person.command("report")
    assert "Slack said `missing_scope`" in said(reply)
    assert "`files:write`" in said(reply)


def test_report_with_no_teams_and_with_bad_arguments(bot):
    person = Person(bot)
    assert "No teams yet" in text_of(person.command("report"))
    reply = person.command("report everything please")
    assert "report #channel" in said(reply)
    assert bot.slack.calls_to("files.getUploadURLExternal") == []


def test_a_hundred_and_twenty_teams_make_three_heatmap_pages_in_one_message(bot):
    from bot.services import teams as team_service

    with bot.session() as session:
        for index in range(120):
            team_service.create_team(session, "T0TEST", f"Team {index:03d}", "U1")
        session.commit()
    run_assessment(Person(bot), "Team 000", L1)
    Person(bot).command("report")
    ((args, files),) = uploads(bot, 1)
    assert [f["name"] for f in files] == [
        "maturity-heatmap-1.png",
        "maturity-heatmap-2.png",
        "maturity-heatmap-3.png",
        "maturity-trend.png",
    ]
    assert "page 3 of 3 (teams 101 to 120 of 120)" in files[2]["alt_txt"]


def test_history_sends_the_teams_timeline_picture(bot):
    person = Person(bot)
    run_assessment(person, "Fraud ML", L1)
    run_assessment(person, "Fraud ML", {**L1, "feature_store": "no"})
    reply = person.command("history Fraud ML")
    assert "History of Fraud ML" in said(reply)
    assert "The timeline picture is in your DM with me" in said(reply)
    ((args, (record,)),) = uploads(bot, 1)
    assert args["channel_id"] == bot.slack.dm_channel_id("U1")
    assert "Level timeline of *Fraud ML*" in args["initial_comment"]
    assert record["name"] == "level-timeline.png"
    assert record["alt_txt"].startswith("Fraud ML: level over time, 2 assessments from ")
    assert "now L0 · Manual" in record["alt_txt"]
    assert (record["original_w"], record["original_h"]) == (800, 300)


def test_history_without_an_assessment_sends_no_picture_and_a_refusal_is_explained(bot):
    person = Person(bot)
    person.command("assess Quiet team")  # created, never finished
    reply = person.command("history Quiet team")
    assert "has not finished an assessment" in said(reply)
    assert bot.slack.calls_to("files.getUploadURLExternal") == []

    run_assessment(person, "Fraud ML", L1)
    bot.slack.fail("files.completeUploadExternal", "not_in_channel")
    reply = person.command("history Fraud ML")
    assert "History of Fraud ML" in said(reply)
    assert "could not send you the timeline picture (Slack said `not_in_channel`)" in said(reply)


def test_help_lists_report(bot):
    assert "/mlops report [#channel]" in text_of(Person(bot).command("help"))


# --- command line ----------------------------------------------------------------------


def mlops_bot(*args: str, database_url: str, cwd) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SLACK_") and k not in ("DATABASE_URL", "PORT")
    }
    env["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "report", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        timeout=120,
    )


@pytest.mark.slow
def test_cli_writes_the_same_pictures_as_slack_gets(bot, database_url, tmp_path):
    person = Person(bot)
    two_teams(person)
    person.command("report")
    ((_, files),) = uploads(bot, 1)
    result = mlops_bot(
        "--workspace",
        TEAM_ID,
        "--output",
        str(tmp_path / "out"),
        database_url=database_url,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    progress = result.stderr.decode()
    assert "2 teams: 1 heatmap page and the trend" in progress
    assert "[1/2] wrote" in progress and "[2/2] wrote" in progress
    heatmap = (tmp_path / "out" / "maturity-heatmap.png").read_bytes()
    assert heatmap == files[0]["content"]  # the same data gives the same bytes
    assert (tmp_path / "out" / "maturity-trend.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    svg = mlops_bot(
        "--workspace",
        TEAM_ID,
        "--output",
        str(tmp_path / "svg"),
        "--format",
        "svg",
        database_url=database_url,
        cwd=tmp_path,
    )
    assert svg.returncode == 0, svg.stderr
    assert (tmp_path / "svg" / "maturity-heatmap.svg").read_text().lstrip().startswith("<?xml")

    unknown = mlops_bot(
        "--workspace",
        "T0NOPE",
        "--output",
        str(tmp_path / "x"),
        database_url=database_url,
        cwd=tmp_path,
    )
    assert unknown.returncode == 1
    assert "no workspace T0NOPE" in unknown.stderr.decode()
    assert "Traceback" not in unknown.stderr.decode()
