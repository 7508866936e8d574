"""The public port as a stranger meets it, through real HTTP against `mlops-bot web` run as
Procfile platforms run it: one waitress process, and gunicorn with two workers.

Oversized bodies (declared or chunked) are refused with 413 before they are read, so the
process's peak memory barely moves; a request that stalls is dropped after HTTP_TIMEOUT;
/metrics is not served on the public port, only on the operator's address (METRICS_PORT) or
with METRICS_TOKEN; and under gunicorn one scrape counts every worker's requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.migrate import upgrade
from bot.sandbox.slack_api import FakeSlack
from tests.conftest import BOT_TOKEN, free_port, fresh_sqlite_url
from tests.public_port import MB, WebProcess, open_stalled, peak_kb, rise_kb, send_body, wait_closed
from tests.signed_client import SlackClient

pytestmark = pytest.mark.slow  # mlops-bot web as its own process, under attack

SECRET = "public-port-secret"
METRICS_TOKEN = "operator-token-0123456789"
TIMEOUT = 2  # HTTP_TIMEOUT for these servers, in seconds


@pytest.fixture(params=[1, 2], ids=["waitress", "gunicorn"])
def web(request, slack, tmp_path) -> Iterator[tuple[WebProcess, int]]:
    """A fresh `mlops-bot web` (its peak memory and its counters are its own) and its
    metrics port."""
    yield from _web(request.param, slack, tmp_path)


@pytest.fixture(scope="module")
def module_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture(scope="module", params=[1, 2], ids=["waitress", "gunicorn"])
def shared_web(request, module_slack, tmp_path_factory) -> Iterator[tuple[WebProcess, int]]:
    """One `mlops-bot web` per kind for the tests that neither measure its memory nor
    count its requests: what one of them does cannot change what the next one checks."""
    yield from _web(request.param, module_slack, tmp_path_factory.mktemp("web"))


def _web(workers: int, slack: FakeSlack, tmp_path) -> Iterator[tuple[WebProcess, int]]:
    url = fresh_sqlite_url(tmp_path)
    upgrade(url)
    metrics_port = free_port()
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "DATABASE_URL": url,
        "HTTP_TIMEOUT": str(TIMEOUT),
        "METRICS_PORT": str(metrics_port),
        "LOG_LEVEL": "INFO",
    }
    server = WebProcess(env, free_port(), tmp_path, workers=workers)
    try:
        yield server.wait_ready(workers), metrics_port
    finally:
        server.stop()


def signed_help_answers(server: WebProcess, slack) -> bool:
    return SlackClient(server.url, SECRET, fake_slack=slack).command("help").status == 200


def test_large_bodies_get_413_without_being_read(web, slack):
    server, _ = web
    before = peak_kb(server.process.pid)
    for chunked in (False, True):
        answer = send_body("127.0.0.1", server.port, 50 * MB, chunked=chunked)
        assert answer.status == 413, (chunked, answer, server.log())
        assert answer.seconds < 20, answer  # a bound, not a benchmark: see benchmarks/
    rise = rise_kb(before, peak_kb(server.process.pid))
    assert rise < 50 * 1024, f"peak memory rose by {rise} kB"
    assert signed_help_answers(server, slack)
    log = server.log()
    assert "over MAX_REQUEST_BYTES=1048576" in log
    assert "Traceback" not in log


def test_twenty_large_bodies_at_once_leave_the_bot_answering(web, slack):
    server, _ = web
    before = peak_kb(server.process.pid)
    with ThreadPoolExecutor(20) as pool:
        answers = list(
            pool.map(
                lambda n: send_body("127.0.0.1", server.port, 50 * MB, chunked=n % 2 == 1),
                range(20),
            )
        )
    assert [a.status for a in answers] == [413] * 20, answers
    rise = rise_kb(before, peak_kb(server.process.pid))
    assert rise < 50 * 1024, f"peak memory rose by {rise} kB"
    assert signed_help_answers(server, slack)
    # one line for the first refusal; the rest are counted, not logged, for a minute
    assert server.log().count("over MAX_REQUEST_BYTES") <= 2


def test_a_body_within_the_limit_is_still_read(shared_web, module_slack):
    """The cap refuses only what is over it: a signed command padded near 1 MB arrives."""
    server, _ = shared_web
    slack = module_slack
    client = SlackClient(server.url, SECRET, fake_slack=slack)
    assert client.command("help " + "x" * (MB - 2000)).status == 200


def test_a_request_that_stalls_is_dropped_after_the_timeout(shared_web, module_slack):
    server, _ = shared_web
    slack = module_slack
    for body in (True, False):  # headers then no body; half the headers then nothing
        sock = open_stalled("127.0.0.1", server.port, body=body)
        seconds, _answer = wait_closed(sock, TIMEOUT + 30)
        sock.close()
        assert TIMEOUT * 0.5 <= seconds < TIMEOUT + 30, (body, seconds)
    assert signed_help_answers(server, slack)


def scrape(port: int, headers: dict[str, str] | None = None):
    return SlackClient(f"http://127.0.0.1:{port}", SECRET).get("/metrics", headers)


def samples(text: str, name: str) -> dict[tuple, float]:
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def test_metrics_are_not_on_the_public_port(shared_web):
    server, metrics_port = shared_web
    public = scrape(server.port)
    assert public.status == 404 and "mlops_bot" not in public.body
    operator = scrape(metrics_port)
    assert operator.status == 200
    assert samples(operator.body, "mlops_bot_requests_refused_total")


def test_metrics_add_up_across_workers_on_every_scrape(web, slack):
    """Issue 19: N requests are N on any scrape, whichever worker answers it, and
    requests refused for their signature are counted too."""
    server, metrics_port = web
    client = SlackClient(server.url, SECRET, fake_slack=slack)
    assert all(client.command("help").status == 200 for _ in range(24))
    forged = SlackClient(server.url, "not-the-secret", fake_slack=slack)
    assert all(forged.command("help").status == 401 for _ in range(10))
    for _ in range(8):  # each scrape reaches some worker; all must agree
        text = scrape(metrics_port).body
        counted = samples(text, "mlops_bot_requests_total")
        assert counted == {(("kind", "command"), ("status", "200")): 24.0}, text
        refused = samples(text, "mlops_bot_requests_refused_total")
        assert refused[(("reason", "signature"),)] == 10.0, text
    warnings = [line for line in server.log().splitlines() if "bad or missing Slack" in line]
    assert 1 <= len(warnings) <= 2, warnings  # rate-limited: one a minute per process
    assert all("WARNING" in line for line in warnings)


def test_metrics_token_opens_public_metrics_to_its_holder(slack, tmp_path):
    url = fresh_sqlite_url(tmp_path)
    upgrade(url)
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "DATABASE_URL": url,
        "METRICS_TOKEN": METRICS_TOKEN,
    }
    server = WebProcess(env, free_port(), tmp_path).wait_ready()
    try:
        assert scrape(server.port).status == 401
        wrong = scrape(server.port, {"Authorization": "Bearer operator-token-0123456780"})
        assert wrong.status == 401
        right = scrape(server.port, {"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert right.status == 200
        assert samples(right.body, "mlops_bot_requests_refused_total")
    finally:
        server.stop()


def test_web_serves_no_sandbox_route_and_no_public_metrics(bot):
    """In process, on both databases: what `web` must never answer on its public port."""
    for path in ("/", "/sandbox/state", "/sandbox/files/F1", "/metrics"):
        response = bot.client.get(path)
        assert response.status == 404, path
        assert "mlops_bot" not in response.body and "sandbox" not in response.body
    posted = bot.client.post(
        '{"user": "U1", "text": "hi"}', "application/json", path="/sandbox/send"
    )
    assert posted.status == 404
