"""Many workspaces: OAuth install into our own tables, uninstall and token revocation stop
everything at once, and purge removes a workspace's data (and only that workspace's)."""

import subprocess
import sys
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from bot.models import Delivery, DeliveryState, Installation, OAuthState, Team, Workspace
from bot.outbox import enqueue
from bot.services import workspaces
from tests.conftest import TOKEN_KEY
from tests.driver import Person, eventually, run_assessment, text_of
from tests.oauth import NEW_TOKEN, install, running_oauth_bot


@pytest.fixture
def oauth_bot(engine, database_url):
    with running_oauth_bot(engine, database_url) as running:
        yield running


def test_install_stores_the_workspace_and_serves_it(oauth_bot):
    client, slack, runtime = oauth_bot
    status, _ = install(client)
    assert status == 200
    (call,) = slack.oauth_calls
    assert call["code"] == "good-code"
    with runtime.session_factory() as session:
        row = session.get(Installation, "T2")
        assert row.installer_user_id == "U9"
        assert NEW_TOKEN not in row.bot_token  # stored encrypted (see test_secrets)
    # a command from the new workspace is answered with that workspace's own token
    response = client.command("assess Search", team_id="T2", user_id="U9")
    assert response.status == 200
    (reply,) = slack.wait_for("response_url")
    assert "question 1 of 9" in text_of(reply.args)
    with runtime.session_factory() as session:
        assert session.scalar(select(Team.workspace_id)) == "T2"


def test_install_with_a_forged_state_stores_nothing(oauth_bot):
    client, slack, runtime = oauth_bot
    done = client.get(
        "/slack/oauth_redirect?code=good-code&state=forged",
        {"Cookie": "slack-app-oauth-state=forged"},
    )
    assert done.status >= 400
    assert slack.oauth_calls == []
    with runtime.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Installation)) == 0


def test_the_public_install_page_does_not_pile_up_states(oauth_bot):
    """Anyone may open /slack/install, and each visit stores a one-time state: expired
    ones are deleted as new ones are issued, so the table holds only the last minutes'."""
    client, slack, runtime = oauth_bot
    with runtime.session_factory.begin() as session:
        session.add_all(
            OAuthState(state=f"old-{n}", expires_at=datetime(2020, 1, 1, tzinfo=UTC))
            for n in range(50)
        )
    for _ in range(3):
        assert client.get("/slack/install").status == 200
    with runtime.session_factory() as session:
        states = list(session.scalars(select(OAuthState.state)))
    assert len(states) == 3 and not any(s.startswith("old-") for s in states)
    status, _ = install(client)  # the newest state still completes an install
    assert status == 200


def test_a_workspace_that_never_installed_is_told_to_install(oauth_bot):
    client, slack, runtime = oauth_bot
    assert client.command("assess X", team_id="T404").status == 200
    (reply,) = slack.wait_for("response_url")
    assert "reinstall this app" in reply.args["text"]
    with runtime.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Team)) == 0


def test_uninstall_cancels_deliveries_and_forgets_the_token(oauth_bot):
    client, slack, runtime = oauth_bot
    install(client)
    with runtime.session_factory() as session:
        workspaces.ensure(session, "T2")
        enqueue(session, workspace_id="T2", key="digest:T2:x", kind="digest", channel_id="C1")
        session.commit()
    response = client.event({"type": "app_uninstalled"}, team_id="T2")
    assert response.status == 200

    def cancelled():
        with runtime.session_factory() as session:
            return session.scalar(select(Delivery.state)) == DeliveryState.CANCELLED

    assert eventually(cancelled)
    with runtime.session_factory() as session:
        assert session.get(Installation, "T2") is None
        assert session.get(Workspace, "T2").uninstalled_at is not None
        assert session.scalar(select(Delivery.state)) == DeliveryState.CANCELLED


def test_bot_token_revoked_stops_the_workspace(bot):
    with bot.session() as session:
        workspaces.ensure(session, "T0TEST")
        enqueue(session, workspace_id="T0TEST", key="k", kind="nudge", channel_id="U1")
        session.commit()

    def state():
        with bot.session() as session:
            return session.scalar(select(Delivery.state))

    bot.client.event({"type": "tokens_revoked", "tokens": {"oauth": ["U1"]}})
    bot.client.event({"type": "tokens_revoked", "tokens": {"bot": ["UBOT"]}})
    assert eventually(lambda: state() == DeliveryState.CANCELLED)
    with bot.session() as session:
        assert session.get(Workspace, "T0TEST").uninstalled_at is not None


def seed_two_workspaces(bot):
    run_assessment(Person(bot), "Shared Name", {"data_versioning": "yes"})
    bot.client.team_id = "T2"
    run_assessment(Person(bot, user_id="U2"), "Shared Name", {})
    bot.client.team_id = "T0TEST"


def test_purge_deletes_one_workspace_and_nothing_else(bot):
    seed_two_workspaces(bot)
    with bot.session() as session:
        deleted = workspaces.purge(session, "T2")
        session.commit()
        assert deleted["teams"] == 1 and deleted["answers"] == 9 and deleted["workspaces"] == 1
        assert session.scalars(select(Team.workspace_id)).all() == ["T0TEST"]
    assert "Shared Name · L0" in text_of(Person(bot).command("status Shared Name"))


def test_retention_purges_uninstalled_workspaces_after_the_limit(bot):
    from datetime import timedelta

    from bot.models import utcnow

    seed_two_workspaces(bot)
    with bot.session() as session:
        workspaces.mark_uninstalled(session, "T2")
        session.commit()
        assert workspaces.purge_expired(session, 30, now=utcnow() + timedelta(days=29)) == []
        assert workspaces.purge_expired(session, 30, now=utcnow() + timedelta(days=31)) == ["T2"]
        session.commit()
        assert session.scalars(select(Workspace.id)).all() == ["T0TEST"]


@pytest.mark.slow
def test_purge_command(bot, database_url, tmp_path):
    seed_two_workspaces(bot)
    env = {"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}
    run = [sys.executable, "-m", "bot.cli", "workspace", "purge"]
    result = subprocess.run([*run, "T2"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "purged workspace T2" in result.stdout and "answers 9" in result.stdout
    again = subprocess.run([*run, "T2"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert again.returncode == 1 and "no data for workspace T2" in again.stderr


def test_oauth_needs_both_client_settings():
    from bot.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="SLACK_CLIENT_SECRET"):
        load_settings({"SLACK_CLIENT_ID": "1", "SLACK_SIGNING_SECRET": "s"})
    settings = load_settings(
        {
            "SLACK_CLIENT_ID": "1",
            "SLACK_CLIENT_SECRET": "2",
            "SLACK_SIGNING_SECRET": "s",
            "TOKEN_ENCRYPTION_KEYS": TOKEN_KEY,
        }
    )
    assert settings.oauth and settings.slack_bot_token == ""


def test_the_worker_tick_purges_after_the_retention(bot):
    from datetime import timedelta

    from bot.models import utcnow
    from bot.worker import tick

    seed_two_workspaces(bot)
    with bot.session() as session:
        workspaces.mark_uninstalled(session, "T2")
        session.commit()
    assert "purged" not in tick(bot.runtime, utcnow() + timedelta(days=1))
    assert tick(bot.runtime, utcnow() + timedelta(days=31))["purged"] == 1
    with bot.session() as session:
        assert session.scalars(select(Workspace.id)).all() == ["T0TEST"]
        assert session.scalar(select(func.count()).select_from(Team)) == 1


def test_first_contact_from_two_requests_at_once_creates_the_workspace_once(engine):
    """Two first requests from a new workspace race to create its row; neither fails.

    On PostgreSQL the second insert waits for the first transaction and then hits the
    primary key: the loser must carry on with the winner's row, not raise.
    """
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers, so the two inserts cannot race there")
    first = Session(engine)
    workspaces.ensure(first, "TRACE")  # inserted, not yet committed
    outcome: dict = {}

    def second_request() -> None:
        with Session(engine) as session:
            try:
                outcome["row"] = workspaces.ensure(session, "TRACE").id
                session.commit()
            except Exception as error:  # the failure this test is about
                outcome["error"] = error

    thread = threading.Thread(target=second_request)
    thread.start()
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND query ILIKE 'INSERT INTO workspaces%'"
    )

    def second_is_blocked() -> bool:
        # a transaction of its own each time: pg_stat_activity is a snapshot per transaction
        with engine.connect() as probe:
            return bool(probe.execute(waiting).scalar())

    assert eventually(second_is_blocked, timeout=10)  # the second insert waits on the first
    first.commit()
    first.close()
    thread.join(timeout=10)
    assert outcome == {"row": "TRACE"}
    with Session(engine) as session:
        assert session.scalar(select(func.count()).where(Workspace.id == "TRACE")) == 1


def test_an_uninstall_cancels_only_that_workspaces_unsent_deliveries(bot):
    """Uninstalling in T2 stops T2's queue; another company's queue and what was already
    sent stay as they are (found by mutation testing: both filters could be dropped)."""
    with bot.session() as session:
        for workspace in ("T2", "T3"):
            workspaces.ensure(session, workspace)
            for key in ("pending", "sending", "sent"):
                enqueue(
                    session,
                    workspace_id=workspace,
                    key=f"{workspace}:{key}",
                    kind="nudge",
                    channel_id="C1",
                )
        session.flush()
        for row in session.scalars(select(Delivery)):
            row.state = DeliveryState(row.idempotency_key.split(":")[1])
            row.lease_owner = "worker-1" if row.state == DeliveryState.SENDING else None
        session.commit()
    assert bot.client.event({"type": "app_uninstalled"}, team_id="T2").status == 200

    def states():
        with bot.session() as session:
            return {
                row.idempotency_key: (row.state, row.last_error, row.lease_owner)
                for row in session.scalars(select(Delivery))
            }

    cancelled = (DeliveryState.CANCELLED, "app uninstalled", None)
    assert eventually(lambda: states()["T2:pending"] == cancelled)
    assert states() == {
        "T2:pending": cancelled,
        "T2:sending": cancelled,  # the lease is dropped: no worker may finish it now
        "T2:sent": (DeliveryState.SENT, None, None),
        "T3:pending": (DeliveryState.PENDING, None, None),
        "T3:sending": (DeliveryState.SENDING, None, "worker-1"),
        "T3:sent": (DeliveryState.SENT, None, None),
    }
