"""Reading an MLflow tracking server over its REST API (2.0 paths, MLflow 2.x and 3.x).

Plain HTTP with the standard library: a few read-only calls do not justify the mlflow
client (about 21 dependencies and 1.5 s to import). Each connection goes to an address
that `hosts.resolve` passed, so a name cannot be re-resolved elsewhere between the check
and the request; redirects are not followed off the host. Every failure (refused, timed
out, 401, a 5xx, something that is not MLflow) raises `SourceError` with a reason safe to
show: the caller records it and the capability is unknown, never "no".

What is read (`observe`):
- experiments whose names start with the `experiments` prefix (all, without one);
- runs started in the last RUN_WINDOW_DAYS days in those experiments, paged and capped
  at MAX_RUNS (there is no count endpoint), counted per experiment; with none, the
  newest run's start, to tell "not lately" from "never";
- registered models whose names start with the `models` prefix, with their aliases, the
  stages of their latest versions and their highest version number.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from bot.domain.evidence import RUN_WINDOW_DAYS
from bot.evidence import SourceError, hosts
from bot.evidence.credentials import Credentials

API = "/api/2.0/mlflow"
PAGE = 1000
MAX_EXPERIMENTS = 5000
MAX_RUNS = 5000
MAX_MODELS = 1000
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
EXPERIMENT_BATCH = 100


@dataclass
class Client:
    """A few JSON calls to one MLflow server, over addresses that passed the guard."""

    target: hosts.Target
    addresses: list[str]
    authorization: str | None = None
    timeout: float = 15.0
    calls: int = 0
    _conn: http.client.HTTPConnection | None = field(default=None, repr=False)

    @property
    def base(self) -> str:
        return self.target.path.rstrip("/")

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is not None:
            return self._conn
        last: OSError | None = None
        for address in self.addresses:
            if self.target.scheme == "https":
                conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                    self.target.host,
                    self.target.port,
                    timeout=self.timeout,
                    context=ssl.create_default_context(),
                )
            else:
                conn = http.client.HTTPConnection(
                    self.target.host, self.target.port, timeout=self.timeout
                )
            pinned = address

            def connect(addr, timeout=None, source_address=None, _ip=pinned):
                return socket.create_connection((_ip, addr[1]), timeout, source_address)

            conn._create_connection = connect  # type: ignore[attr-defined]
            try:
                conn.connect()
            except OSError as error:
                last = error
                conn.close()
                continue
            self._conn = conn
            return conn
        raise SourceError(f"could not connect to {self.target.host}: {_reason(last)}")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def call(
        self, method: str, path: str, body: Mapping[str, Any] | None = None, query=None
    ) -> dict:
        url = f"{self.base}{API}/{path}"
        if query:
            url += "?" + urlencode(query, quote_via=quote)
        headers = {"Accept": "application/json", "User-Agent": "mlops-maturity-bot"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.authorization:
            headers["Authorization"] = self.authorization
        for attempt in (1, 2):  # once more on a kept-alive connection the server closed
            conn = self._connection()
            try:
                conn.request(method, url, body=payload, headers=headers)
                response = conn.getresponse()
                data = response.read(MAX_RESPONSE_BYTES + 1)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt == 2:
                    raise SourceError(f"{self.target.host} closed the connection") from None
                continue
            except TimeoutError:
                self.close()
                raise SourceError(
                    f"{self.target.host} did not answer within {self.timeout:g} s"
                ) from None
            except OSError as error:
                self.close()
                raise SourceError(f"{self.target.host}: {_reason(error)}") from None
            break
        self.calls += 1
        if response.will_close:
            self.close()
        status = response.status
        if 300 <= status < 400:
            hosts.check_redirect(self.target, response.getheader("Location") or "")
            raise SourceError(
                f"{self.target.host} answered with a redirect (HTTP {status}); give the "
                "tracking server's own URL"
            )
        if status in (401, 403):
            raise SourceError(
                f"HTTP {status} from {self.target.host}: the bot's credentials for this host "
                "are missing or refused (operators set them, see the README)"
            )
        if len(data) > MAX_RESPONSE_BYTES:
            raise SourceError(f"{self.target.host} sent more than {MAX_RESPONSE_BYTES} bytes")
        try:
            parsed = json.loads(data or b"{}")
        except ValueError:
            raise SourceError(
                f"{self.target.host} did not answer like MLflow (HTTP {status}, not JSON)"
            ) from None
        if status >= 400:
            message = str(parsed.get("message") or parsed.get("error_code") or "")[:200]
            raise SourceError(f"HTTP {status} from {self.target.host}: {message}".rstrip(": "))
        if not isinstance(parsed, dict):
            raise SourceError(f"{self.target.host} did not answer like MLflow")
        return parsed


def _reason(error: BaseException | None) -> str:
    if error is None:
        return "no address"
    if isinstance(error, TimeoutError | socket.timeout):
        return "timed out"
    return getattr(error, "strerror", None) or error.__class__.__name__


def _like(prefix: str | None) -> str | None:
    return f"name LIKE '{prefix}%'" if prefix else None


def _experiments(client: Client, prefix: str | None) -> list[dict]:
    found: list[dict] = []
    token = None
    while len(found) < MAX_EXPERIMENTS:
        body: dict[str, Any] = {"max_results": PAGE}
        if prefix:
            body["filter"] = _like(prefix)
        if token:
            body["page_token"] = token
        page = client.call("POST", "experiments/search", body)
        for experiment in page.get("experiments", []):
            name = str(experiment.get("name", ""))
            if not prefix or name.startswith(prefix):  # LIKE's _ and % are wildcards
                found.append({"id": str(experiment.get("experiment_id")), "name": name})
        token = page.get("next_page_token")
        if not token:
            break
    return found[:MAX_EXPERIMENTS]


def _recent_runs(
    client: Client, experiment_ids: list[str], since_ms: int
) -> tuple[dict[str, int], bool]:
    counts: dict[str, int] = {}
    total = 0
    for start in range(0, len(experiment_ids), EXPERIMENT_BATCH):
        batch = experiment_ids[start : start + EXPERIMENT_BATCH]
        token = None
        while True:
            body: dict[str, Any] = {
                "experiment_ids": batch,
                "filter": f"attributes.start_time >= {since_ms}",
                "max_results": PAGE,
                "run_view_type": "ACTIVE_ONLY",
            }
            if token:
                body["page_token"] = token
            page = client.call("POST", "runs/search", body)
            for run in page.get("runs", []):
                eid = str(run.get("info", {}).get("experiment_id"))
                counts[eid] = counts.get(eid, 0) + 1
                total += 1
            token = page.get("next_page_token")
            if total >= MAX_RUNS:
                return counts, True
            if not token:
                break
    return counts, False


def _last_run_at(client: Client, experiment_ids: list[str]) -> str | None:
    newest = None
    for start in range(0, len(experiment_ids), EXPERIMENT_BATCH):
        page = client.call(
            "POST",
            "runs/search",
            {
                "experiment_ids": experiment_ids[start : start + EXPERIMENT_BATCH],
                "max_results": 1,
                "order_by": ["attributes.start_time DESC"],
            },
        )
        for run in page.get("runs", []):
            started = int(run.get("info", {}).get("start_time") or 0)
            newest = max(newest or 0, started)
    if not newest:
        return None
    return datetime.fromtimestamp(newest / 1000, UTC).isoformat(timespec="minutes")


def _models(client: Client, prefix: str | None) -> list[dict]:
    found: list[dict] = []
    token = None
    while len(found) < MAX_MODELS:
        query: dict[str, Any] = {"max_results": PAGE}
        if prefix:
            query["filter"] = _like(prefix)
        if token:
            query["page_token"] = token
        page = client.call("GET", "registered-models/search", query=query)
        for model in page.get("registered_models", []):
            name = str(model.get("name", ""))
            if prefix and not name.startswith(prefix):
                continue
            latest = model.get("latest_versions") or []
            versions = max((int(v.get("version") or 0) for v in latest), default=0)
            found.append(
                {
                    "name": name,
                    "versions": versions,
                    "aliases": sorted(
                        str(a.get("alias")) for a in model.get("aliases") or [] if a.get("alias")
                    ),
                    "stages": sorted({str(v.get("current_stage") or "None") for v in latest}),
                }
            )
        token = page.get("next_page_token")
        if not token:
            break
    return found[:MAX_MODELS]


def observe(
    target: hosts.Target,
    options: Mapping[str, str],
    credentials: Credentials,
    now: datetime,
    *,
    timeout: float = 15.0,
    resolver=None,
) -> dict[str, Any]:
    """What the MLflow server at `target` shows now, for `bot.domain.evidence.mlflow_findings`.

    Raises SourceError (or hosts.HostRefused) when it cannot be read.
    """
    addresses = hosts.resolve(target, resolver) if resolver else hosts.resolve(target)
    credential = credentials.for_host(target.host, target.port)
    client = Client(target, addresses, credential.authorization if credential else None, timeout)
    try:
        experiments = _experiments(client, options.get("experiments"))
        ids = [e["id"] for e in experiments]
        since = int((now - timedelta(days=RUN_WINDOW_DAYS)).timestamp() * 1000)
        counts, capped = _recent_runs(client, ids, since) if ids else ({}, False)
        names = {e["id"]: e["name"] for e in experiments}
        active = sorted(
            ({"id": eid, "name": names.get(eid, eid), "runs": n} for eid, n in counts.items()),
            key=lambda e: (-e["runs"], e["name"]),
        )
        base = target.url.rstrip("/")
        for experiment in active:
            experiment["link"] = f"{base}/#/experiments/{experiment['id']}"
        observed: dict[str, Any] = {
            "url": base,
            "experiments": len(experiments),
            "runs_30d": sum(counts.values()),
            "runs_capped": capped,
            "experiments_with_runs": active[:20],
        }
        if not counts and ids:
            observed["last_run_at"] = _last_run_at(client, ids)
        models = _models(client, options.get("models"))
        for model in models:
            model["link"] = f"{base}/#/models/{quote(model['name'], safe='')}"
        observed["models"] = models
        observed["calls"] = client.calls
        return observed
    finally:
        client.close()
