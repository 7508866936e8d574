"""Engine and session factory.

SQLite is the embedded default and is tuned so that several threads (web requests and the
worker in one process) can write without "database is locked": WAL lets readers run beside
the writer, `busy_timeout` makes a writer wait instead of failing, and every transaction
starts with `BEGIN IMMEDIATE` because a deferred transaction that reads and then writes
cannot wait for the lock and fails at once. This follows SQLAlchemy's documented pysqlite
recipe (take over BEGIN from the driver).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from bot.config import normalise_database_url

SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_BEGIN = "sqlite_begin"


def make_engine(url: str, **kwargs) -> Engine:
    """Create the engine for `url`, with the SQLite tuning above where it applies."""
    url = normalise_database_url(url)
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {}).update(
            {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        )
        if ":memory:" not in url and url.rstrip("/") != "sqlite:":
            # Enough connections for every listener thread: a connection made per request
            # (pool overflow) repeats the PRAGMAs and costs more than the query.
            kwargs.setdefault("pool_size", 20)
            kwargs.setdefault("max_overflow", 10)
        engine = create_engine(url, **kwargs)
        _tune_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let us issue BEGIN ourselves; pysqlite's own BEGIN is deferred and too late.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")


def read_only(session: Session) -> None:
    """Mark a session's first transaction as read-only, before its first query.

    On SQLite it then starts with a deferred BEGIN and takes no write lock, so lookups run
    beside writers (WAL) instead of queueing behind them; elsewhere it changes nothing.
    """
    if session.get_bind().dialect.name == "sqlite" and not session.in_transaction():
        session.connection(execution_options={SQLITE_BEGIN: "DEFERRED"})


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions keep loaded values after commit, so a handler can render what it saved."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error, always close."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def database_ok(engine: Engine) -> bool:
    """True when the database answers a trivial query; used by /healthz."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


def describe_database_error(error: BaseException) -> str:
    """One line for a person: the driver's own words, without SQL, URLs or a traceback.

    SQLAlchemy's text carries the statement and a link; psycopg's spans several lines. The
    driver's first sentence ("database "x" does not exist", "Connection refused") is the
    part that tells an operator what to fix.
    """
    cause = getattr(error, "orig", None) or error
    text = " ".join(str(cause).split()) or type(cause).__name__
    return text[:300]


def is_outage(error: BaseException) -> bool:
    """True for errors that mean "the database is not answering", not a bug in our code."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    return isinstance(error, OperationalError) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    )


class DatabaseOutage:
    """Turns a database outage into three log lines instead of a traceback a second.

    The first failure is logged once as an error (one line); further failures only count and
    lengthen the wait before the next try (`delay()`: 1, 2, 4 ... up to `max_delay` seconds);
    the first success after that logs how long it lasted. Shared by a process's threads.
    """

    def __init__(self, logger: logging.Logger, max_delay: float = 30.0) -> None:
        self.log = logger
        self.max_delay = max_delay
        self._lock = threading.Lock()
        self._since: float | None = None
        self._failures = 0

    @property
    def ongoing(self) -> bool:
        return self._since is not None

    def failed(self, error: BaseException, doing: str) -> None:
        with self._lock:
            self._failures += 1
            if self._since is None:
                self._since = time.monotonic()
                self.log.error(
                    "database unavailable while %s: %s; retrying with backoff",
                    doing,
                    describe_database_error(error),
                )

    def delay(self, normal: float) -> float:
        """How long to wait before the next try: `normal`, or the backoff during an outage."""
        with self._lock:
            if self._since is None:
                return normal
            return min(self.max_delay, max(normal, 2.0 ** min(self._failures - 1, 10)))

    def succeeded(self) -> None:
        with self._lock:
            if self._since is None:
                return
            lasted, failures = time.monotonic() - self._since, self._failures
            self._since, self._failures = None, 0
        self.log.info(
            "database is back after %.0f s of outage (%s failed attempt%s)",
            lasted,
            failures,
            "" if failures == 1 else "s",
        )


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names (relative to the working directory), else None."""
    parsed = make_url(normalise_database_url(url))
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    return Path(database)
