"""What an operator sees: request log lines, /metrics, and /healthz with the worker's age."""

import logging

from prometheus_client.parser import text_string_to_metric_families

from bot.logs import JsonFormatter
from bot.observability import record_tick
from bot.outbox import enqueue
from bot.services import workspaces
from tests.conftest import BOT_TOKEN
from tests.driver import Person
from tests.signed_client import SlackClient


def operator(bot) -> SlackClient:
    """A client for the operator's address, where /metrics is served."""
    return bot.operator_client()


def metric(text: str, name: str) -> float:
    """The value of one sample, e.g. `name{label="x"}`, in Prometheus' text format."""
    for line in text.splitlines():
        key, _, value = line.rpartition(" ")
        if key == name:
            return float(value)
    raise AssertionError(f"{name} not in metrics:\n{text}")


def test_metrics_count_requests_outbox_and_levels(bot):
    person = Person(bot)
    person.command("help")
    person.command("assess Fraud ML")
    with bot.session() as session:
        workspaces.ensure(session, "T0TEST")
        enqueue(session, workspace_id="T0TEST", key="k1", kind="test", channel_id="C1")
        session.commit()
    response = operator(bot).get("/metrics")
    assert response.status == 200
    text = response.body
    assert {family.name for family in text_string_to_metric_families(text)} >= {
        "mlops_bot_requests",
        "mlops_bot_requests_refused",
        "mlops_bot_deliveries",
    }
    assert metric(text, 'mlops_bot_requests_total{kind="command",status="200"}') == 2
    assert metric(text, 'mlops_bot_request_seconds_count{kind="command"}') == 2
    assert metric(text, 'mlops_bot_deliveries{state="pending"}') == 1
    assert metric(text, "mlops_bot_outbox_due") == 1
    assert metric(text, 'mlops_bot_teams{level="none"}') == 1
    assert "mlops_bot_outbox_oldest_due_seconds" in text


def test_healthz_reports_the_worker_tick_age_to_the_operator_only(bot):
    assert operator(bot).get("/healthz").json()["worker_last_tick_age_seconds"] is None
    record_tick(bot.runtime.engine, "worker-1")
    record_tick(bot.runtime.engine, "worker-1")
    age = operator(bot).get("/healthz").json()["worker_last_tick_age_seconds"]
    assert 0 <= age < 5
    assert "mlops_bot_worker_last_tick_age_seconds" in operator(bot).get("/metrics").body
    assert bot.client.get("/healthz").json() == {"status": "ok", "database": True}


def test_one_log_line_per_request_with_fields_and_never_a_token(bot, caplog):
    caplog.set_level(logging.DEBUG)
    person = Person(bot)
    message = person.command("assess Fraud ML")
    person.answer(message, "Yes")
    lines = [r for r in caplog.records if r.name == "mlops_bot.requests"]
    assert [(r.kind, r.action) for r in lines] == [
        ("command", "assess"),
        ("block_actions", "answer_yes"),
    ]
    for record in lines:
        assert record.workspace == "T0TEST" and record.status == 200 and record.duration_ms >= 0
    formatted = JsonFormatter().format(lines[0])
    assert '"kind": "command"' in formatted and '"duration_ms"' in formatted
    for record in caplog.records:
        assert BOT_TOKEN not in record.getMessage()
        assert BOT_TOKEN not in str(record.args)


def test_database_down_gives_503_and_a_friendly_reply(slack):
    from bot.app import Runtime, create_app
    from bot.web import Server, WebApp
    from tests.conftest import make_settings

    # nothing listens on port 1: every connection attempt is refused at once
    settings = make_settings(slack, "postgresql+psycopg://postgres@127.0.0.1:1/test")
    runtime = Runtime.from_settings(settings)
    server = Server(
        WebApp(create_app(settings, runtime), runtime), host="127.0.0.1", port=0, operator_port=0
    )
    server.start()
    try:
        client = SlackClient(server.url, settings.slack_signing_secret, fake_slack=slack)
        health = client.get("/healthz")
        assert health.status == 503 and health.json()["database"] is False
        assert client.command("assess Fraud ML").status == 200
        (reply,) = slack.wait_for("response_url")
        assert "can't reach my database" in reply.args["text"]
        assert "Traceback" not in reply.args["text"]
        scrape = SlackClient(server.operator_url, settings.slack_signing_secret).get("/metrics")
        assert scrape.status == 200  # a scrape still answers
    finally:
        server.stop()
        runtime.engine.dispose()


def test_refusal_warnings_are_rate_limited_and_count_what_they_held(caplog):
    from bot.observability import RateLimitedWarning

    now = [1000.0]
    warning = RateLimitedWarning(interval=60, clock=lambda: now[0])
    caplog.set_level(logging.WARNING, logger="mlops_bot.refused")
    assert [warning.warn("signature", "refused %s", n) for n in range(3)] == [True, False, False]
    assert warning.warn("too_large", "too large")  # each reason has its own window
    now[0] += 61
    assert warning.warn("signature", "refused %s", 3)
    lines = [r.getMessage() for r in caplog.records if r.name == "mlops_bot.refused"]
    assert lines == [
        "refused 0",
        "too large",
        "refused 3 (2 more like it since the last such line were not logged)",
    ]
    assert all(r.levelname == "WARNING" for r in caplog.records)
