"""The production topology, end to end: gunicorn with two web processes and two worker
processes on one PostgreSQL database, assessments from parallel clients while digests fall
due. Nothing may be lost, nothing delivered twice, and no request may fail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.db import make_engine
from bot.domain import DEFAULT_CHECKLIST
from bot.migrate import upgrade
from bot.models import AnswerRecord, Delivery, DeliveryState, DigestSubscription, Team
from bot.services import workspaces
from tests.conftest import BOT_TOKEN, free_port, fresh_postgres_schema, postgres_url_or_skip
from tests.driver import Person, eventually, run_assessment
from tests.signed_client import SlackClient

pytestmark = pytest.mark.slow  # gunicorn, workers and PostgreSQL as separate processes

SECRET = "topology-secret"
TEAMS = 8
L1 = {c.id: "yes" for c in DEFAULT_CHECKLIST.capabilities if c.level == 1}


class Deployment:
    """What a person drives in tests/driver.py: a URL, a client, the stand-in, a session."""

    def __init__(self, url: str, slack, engine):
        self.url = url
        self.slack = slack
        self.engine = engine
        self.client = SlackClient(url, SECRET, fake_slack=slack)

    def session(self):
        from sqlalchemy.orm import Session

        return Session(self.engine)


@pytest.fixture
def deployment(slack, tmp_path):
    url = fresh_postgres_schema(postgres_url_or_skip(), f"mlops_topology_{os.getpid()}")
    upgrade(url)
    engine = make_engine(url)
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SLACK_")},
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "DATABASE_URL": url,
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "bot.cli"]
    logs = [(tmp_path / f"{name}.log").open("w") for name in ("web", "worker1", "worker2")]  # noqa: SIM115
    processes = [
        subprocess.Popen(
            [
                *command,
                "web",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "2",
                "--threads",
                "8",
            ],
            env=env,
            cwd=tmp_path,
            stdout=logs[0],
            stderr=subprocess.STDOUT,
        ),
        # one worker ticks and drains, the other only drains
        *(
            subprocess.Popen(
                [*command, "worker", *extra],
                env=env,
                cwd=tmp_path,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            for log, extra in zip(logs[1:], ([], ["--drain-only"]), strict=True)
        ),
    ]
    base = f"http://127.0.0.1:{port}"
    try:
        client = SlackClient(base, SECRET)
        deadline = time.monotonic() + 30
        while True:
            try:
                if client.get("/healthz").status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "web processes did not start"
            time.sleep(0.1)
        yield Deployment(base, slack, engine), env, tmp_path
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)
        for log in logs:
            log.close()
        engine.dispose()


def test_parallel_assessments_and_due_digests_lose_nothing_and_send_once(deployment):
    bot, env, workdir = deployment
    with bot.session() as session:
        workspaces.ensure(session, "T0TEST")
        session.add(
            DigestSubscription(
                workspace_id="T0TEST",
                channel_id="CDIGEST",
                weekday=0,
                local_time="09:00",
                timezone="UTC",
                created_by="UADMIN",
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
                updated_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )
        session.commit()
    now = datetime.now(UTC)
    monday = (now + timedelta(days=7 - now.weekday())).replace(
        hour=9, minute=5, second=0, microsecond=0
    )

    def assess(number: int):
        client = SlackClient(bot.url, SECRET, fake_slack=bot.slack)
        person = Person(bot, user_id=f"U{number}", channel_id=f"C{number}", client=client)
        return run_assessment(person, f"Team {number}", L1)

    def digests_due():
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", "jobs", "due", "--at", monday.isoformat()],
            env=env,
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=120,
        )

    with ThreadPoolExecutor(TEAMS + 2) as pool:
        cards = pool.map(assess, range(TEAMS))
        due_runs = [pool.submit(digests_due) for _ in range(2)]
        cards = list(cards)
        for run in due_runs:
            result = run.result()
            assert result.returncode == 0, result.stderr
    for card in cards:
        assert "L1 · ML pipeline" in str(card)

    def outbox_settled():
        with bot.session() as session:
            rows = session.execute(select(Delivery.state, func.count()).group_by(Delivery.state))
            states = {state: count for state, count in rows}
        busy = states.get(DeliveryState.PENDING, 0) + states.get(DeliveryState.SENDING, 0)
        return states if states and not busy else None

    states = eventually(outbox_settled, timeout=60)
    assert states, "the outbox did not drain"
    assert set(states) == {DeliveryState.SENT}, states

    with bot.session() as session:
        assert session.scalar(select(func.count()).select_from(AnswerRecord)) == TEAMS * 9
        assert sorted(session.scalars(select(Team.level))) == [1] * TEAMS
        keys = list(session.scalars(select(Delivery.idempotency_key)))
    # one announcement per team to its home channel and one to the digest channel
    assert sum(k.startswith("level:") for k in keys) == TEAMS * 2
    # the digest due at --at; the workers' own ticks may also send this week's as a catch-up
    week = monday.isocalendar()
    assert f"digest:T0TEST:CDIGEST:{week.year}-W{week.week:02d}" in keys

    posted = Counter(
        ((call.args.get("metadata") or {}).get("event_payload") or {}).get("key")
        for call in bot.slack.calls_to("chat.postMessage")
        if not call.failed
    )
    # A digest's trend picture is a file share (files_upload_v2), not a posted message.
    pictures = {k for k in keys if k.startswith("picture:")}
    assert set(posted) == set(keys) - pictures
    assert max(posted.values()) == 1, [k for k, n in posted.items() if n > 1]
    uploaded = Counter(
        bot.slack.files[entry["id"]]["name"]
        for call in bot.slack.calls_to("files.completeUploadExternal")
        if not call.failed
        for entry in json.loads(call.args["files"])
    )
    assert sorted(uploaded) == sorted(f"maturity-trend-{k.rsplit(':', 1)[1]}.png" for k in pictures)
    assert max(uploaded.values(), default=1) == 1, uploaded
    replies = bot.slack.calls_to("response_url")
    assert replies and all(call.status == 200 for call in replies)
