"""`mlops-bot web --workers N`: several web processes under gunicorn's threaded workers.

One waitress process serves a workspace of hundreds of teams; beyond one core, gunicorn
forks N workers that each build their own app and engine after the fork (no connection is
ever shared across processes) and run `threads` requests at once. PostgreSQL is needed
then: SQLite's single writer would make the processes wait on each other.

The public port is open to the internet, so gunicorn's own limits are set (request line,
header count and size, idle keep-alive), and each connection gets a deadline: gunicorn's
threaded worker reads a request with a blocking socket and no timeout, so a client that sent
half its headers, or its headers and no body, would hold a thread for ever. Metrics use
prometheus-client's multiprocess mode, so a scrape answered by any worker covers all.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import tempfile
import time
from pathlib import Path

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger
from gunicorn.workers.gthread import ThreadWorker

from bot.config import Settings

# Never import prometheus_client (or bot.web, bot.observability) at this module's top: the
# directory must be in the environment before prometheus_client is first imported.
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

log = logging.getLogger(__name__)


class _DeadlineSocket:
    """A client socket whose reads for one request must all finish within `seconds`.

    gunicorn calls `setblocking(True)` when a thread takes a request on; that starts the
    clock. Every read then waits at most what is left, so a slow drip cannot stretch it
    either; a write waits at most `seconds`. Everything else goes to the real socket.
    """

    def __init__(self, sock: socket.socket, seconds: float):
        self._sock = sock
        self._seconds = seconds
        self._deadline: float | None = None

    def setblocking(self, flag: bool) -> None:
        self._sock.setblocking(flag)
        self._deadline = time.monotonic() + self._seconds if flag else None

    def _bound_read(self) -> None:
        if self._deadline is None:
            return
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request took longer than HTTP_TIMEOUT to arrive")
        self._sock.settimeout(left)

    def recv(self, size: int, *flags: int) -> bytes:
        self._bound_read()
        return self._sock.recv(size, *flags)

    def recv_into(self, buffer, *args: int) -> int:
        self._bound_read()
        return self._sock.recv_into(buffer, *args)

    def sendall(self, data, *flags: int) -> None:
        if self._deadline is not None:
            self._sock.settimeout(self._seconds)
        self._sock.sendall(data, *flags)

    def __getattr__(self, name: str):
        return getattr(self._sock, name)


class BoundedThreadWorker(ThreadWorker):
    """gunicorn's gthread worker, with a deadline on every connection's reads."""

    def enqueue_req(self, conn) -> None:
        if not isinstance(conn.sock, _DeadlineSocket):
            conn.sock = _DeadlineSocket(conn.sock, self.app.settings.http_timeout)
        super().enqueue_req(conn)


class _StalledClientFilter(logging.Filter):
    """gunicorn logs a dropped stalled connection as a socket error with a traceback; it is
    a client that went quiet, worth one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, TimeoutError):
            record.msg = "dropped a connection that stalled past HTTP_TIMEOUT"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def _worker_started(worker) -> None:
    logging.getLogger("gunicorn.error").addFilter(_StalledClientFilter())


def _worker_gone(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def remove_when_children_exited(path: Path, timeout: float) -> bool:
    """Remove `path` once this process has no child process left; True if removed.

    The master's cleanup of the shared metrics directory: a worker that is still alive (one
    gunicorn gave up on, a replacement still booting when a halt cut the shutdown short)
    would find the directory gone and fail with "PROMETHEUS_MULTIPROC_DIR is not set or not
    a directory". If a child outlives `timeout`, the directory is left in place: a stale
    temporary directory is harmless, a worker without one is not.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:  # no child left
            shutil.rmtree(path, ignore_errors=True)
            return True
        if pid:
            continue  # reaped one; look again at once
        if time.monotonic() >= deadline:
            log.warning("left the metrics directory %s: a web worker is still running", path)
            return False
        time.sleep(0.05)


def prepare_multiprocess_metrics() -> Path | None:
    """Give the workers a fresh shared metrics directory; None when the operator set one.

    Must run before prometheus_client is imported anywhere in this process: it picks its
    value store at import. An operator's own PROMETHEUS_MULTIPROC_DIR is emptied of the
    files a previous run left, as prometheus-client's documentation asks.
    """
    given = os.environ.get(MULTIPROCESS_DIR)
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        for stale in Path(given).glob("*.db"):
            stale.unlink()
        return None
    made = Path(tempfile.mkdtemp(prefix="mlops-bot-metrics-"))
    os.environ[MULTIPROCESS_DIR] = str(made)
    return made


class RootLogger(Logger):
    """gunicorn's own lines (start, worker boot and exit, timeouts) through our root handler.

    gunicorn gives its loggers their own text handlers; these hand the records to the root
    logger instead, which `mlops-bot` has configured, so LOG_FORMAT=json covers every line
    the process writes and text mode shares one layout.
    """

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
            logger.propagate = True


class GunicornServer(BaseApplication):
    """gunicorn configured in code, so the Procfile needs only `mlops-bot web`."""

    def __init__(self, settings: Settings, host: str, port: int, workers: int, threads: int):
        self.settings = settings
        self.metrics_dir = prepare_multiprocess_metrics()
        binds = [f"{host}:{port}"]
        if settings.metrics_port is not None:
            binds.append(f"{settings.metrics_host}:{settings.metrics_port}")
        self.options = {
            "bind": binds,
            "workers": workers,
            "threads": threads,
            "worker_class": BoundedThreadWorker,
            "timeout": 30,
            "graceful_timeout": 10,
            # an idle kept-alive connection is closed after this; Slack reconnects cheaply
            "keepalive": min(5, settings.http_timeout),
            # Slack's request line is short and it sends about 15 headers
            "limit_request_line": 4094,
            "limit_request_fields": 50,
            "limit_request_field_size": 8190,
            "accesslog": None,  # one structured line per request comes from the app itself
            "proc_name": "mlops-bot-web",
            "post_worker_init": _worker_started,
            "child_exit": _worker_gone,
            "on_starting": self._arbiter_started,
            "logger_class": RootLogger,
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        """Runs in each worker after the fork: a fresh engine and app per process."""
        from bot.web import build_web_app

        web = build_web_app(self.settings)
        web.operator_port = self.settings.metrics_port
        return web

    def _arbiter_started(self, arbiter) -> None:
        self.arbiter = arbiter

    def run(self) -> None:
        master = os.getpid()
        self.arbiter = None
        try:
            super().run()
        finally:
            # A worker is forked inside run() and leaves it by SystemExit through this very
            # block: only the master may remove the directory every worker writes to, and
            # only once every worker has exited. gunicorn's halt can end before that (a
            # worker failing to boot during the shutdown raises out of it), so the workers
            # it still knows are asked to stop and every child is waited for.
            if self.metrics_dir is not None and os.getpid() == master:
                for pid in list(getattr(self.arbiter, "WORKERS", {})):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGTERM)
                remove_when_children_exited(self.metrics_dir, timeout=self.cfg.graceful_timeout)
