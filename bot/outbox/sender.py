"""The sender: drains the outbox, paced, sending each row once and recording how it ended.

- send: rendered at send time from current data, by the renderer registered for the row's
  kind (passed in at start-up, see `Sender`), with Slack message metadata carrying the key.
  A row whose previous attempt may have reached Slack (a worker died holding it, or the
  answer was lost) is checked against conversations.history first (the crash check), so a
  crash between Slack's reply and our commit neither loses nor, normally, repeats it.
- outcome: sent (only while the lease is still ours); 429 -> available again after
  Retry-After, without the thread sleeping; transient errors -> exponential backoff, dead
  after `max_attempts`; permanent errors -> failed with the reason, and admins are told once
  per channel and reason (itself an outbox row, so "once" is the key's job).
- pace: `Pacer` books each message's send time before it is rendered.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import queue
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.models import Delivery, DeliveryState
from bot.outbox import pacing, slack_errors
from bot.outbox.crash_check import METADATA_EVENT, CheckFailed, CheckLater, CrashCheck
from bot.outbox.kinds import DeliveryKind
from bot.outbox.pacing import Pacer
from bot.outbox.queue import (
    Claimed,
    book,
    claim,
    db_now,
    enqueue,
    finish,
    mark_sending,
    next_due_in,
)

log = logging.getLogger(__name__)

TOKEN_SECONDS = 60.0  # how long a workspace's bot token is reused before looking again
CLAIM_IDLE = 0.5  # after a claim came back short, how long before asking the table again
FLUSH_SECONDS = 0.2  # how long sends may wait to be recorded in one batched transaction
FLOOR_MARGIN = 600.0  # seconds: enqueueing and recording clocks may differ this much
MARK_AHEAD = 0.2  # rows due within this many seconds are marked sending in one write
TIDY_SECONDS = 600.0  # how often a sender drops idle channel budgets


@dataclass(frozen=True)
class Upload:
    """A file to share instead of a plain message (files_upload_v2); `text` is its comment.

    `filename` must be unique in its channel for the row: the crash check recognises an
    earlier attempt by it, since a file share carries no message metadata.
    """

    data: bytes
    filename: str
    title: str
    alt_text: str


@dataclass
class Rendered:
    """A message ready to post; `on_sent` runs in the transaction that records the send.

    With `upload`, the row is a file shared into its channel with `text` as the comment;
    `file_id` holds Slack's id for the file once shared (for `on_sent` to keep).
    """

    text: str
    blocks: list[dict[str, Any]]
    on_sent: Callable[[Session, datetime], None] | None = None
    upload: Upload | None = None
    file_id: str | None = None


Renderer = Callable[[Session, list[Claimed], Settings], "dict[int, Rendered | None]"]
"""Builds the messages for rows of one kind from current data, by row id, in one go (one
query beats one per row); None for a row means there is nothing to say any more."""

Renderers = Mapping[DeliveryKind, Renderer]
"""What the sender can send: one renderer per kind, given to it at start-up."""


def one_by_one(
    render: Callable[[Session, Claimed, Settings], Rendered | None],
) -> Renderer:
    """A `Renderer` from a function that renders one row at a time."""

    def each(session: Session, rows: list[Claimed], settings: Settings) -> dict:
        return {row.id: render(session, row, settings) for row in rows}

    return each


@dataclass
class DrainResult:
    """What one drain did, by outcome."""

    sent: int = 0
    already_sent: int = 0  # found in Slack by the metadata check: not posted again
    rescheduled: int = 0
    failed: int = 0
    dead: int = 0
    cancelled: int = 0
    lost_lease: int = 0
    errors: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, outcome: str, count: int = 1) -> None:
        with self._lock:  # sender threads report at once
            setattr(self, outcome, getattr(self, outcome) + count)


class Sender:
    """Drains the outbox: claims, paces, sends and records, from a small thread pool.

    Several senders (threads or processes) may drain one database at once; claims and leases
    keep each row with one of them at a time. `renderers` says how each kind of row becomes
    a message; the outbox knows no kind's content itself (see `bot.worker.make_sender`).
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        client: WebClient,
        settings: Settings,
        *,
        renderers: Renderers,
        admins: Callable[[Session, str], list[str]] | None = None,
        pacer: Pacer | None = None,
        threads: int = 8,
        batch: int = 200,
        horizon: float = 5.0,
        lease_seconds: float = 60.0,
        max_attempts: int = 8,
        backoff_base: float = 5.0,
        owner: str | None = None,
        token_for: Callable[[str], str | None] | None = None,
    ) -> None:
        self.renderers = dict(renderers)
        self.session_factory = session_factory
        self.read_factory = _read_sessions(session_factory)
        self.client = client
        self.settings = settings
        self.admins = admins or (lambda session, workspace_id: [])
        self.pacer = pacer or Pacer()
        self.threads = threads
        self.batch = batch
        self.horizon = horizon
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.owner = owner or f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="outbox")
        self.token_for = token_for
        self._clients: dict[str, tuple[float, WebClient]] = {}
        self._clients_lock = threading.Lock()
        self._sent_queue: queue.SimpleQueue = queue.SimpleQueue()
        self._last_flush = 0.0
        self._last_tidy = 0.0
        self._feed_limit = batch
        self.crash_check = CrashCheck(self.client_for, self._floor)

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def client_for(self, workspace_id: str) -> WebClient:
        """The Web API client with `workspace_id`'s own bot token (OAuth installs), else ours.

        Looked up at most once a minute per workspace: a token revoked meanwhile fails with
        `token_revoked`, which marks the message failed without retrying.
        """
        if self.token_for is None:
            return self.client
        with self._clients_lock:
            cached = self._clients.get(workspace_id)
            if cached is not None and time.monotonic() - cached[0] < TOKEN_SECONDS:
                return cached[1]
        token = self.token_for(workspace_id)
        client = self.client
        if token and token != self.client.token:
            client = WebClient(
                token=token,
                base_url=self.client.base_url,
                timeout=self.client.timeout,
                retry_handlers=[],
            )
        with self._clients_lock:
            self._clients[workspace_id] = (time.monotonic(), client)
        return client

    # -- the loop

    def drain(self, stop: threading.Event | None = None, linger: float = 0.0) -> DrainResult:
        """Send everything available now, and whatever becomes available while we work.

        Rows wait for their booked send time in a heap here, not in a pool thread, so a
        channel waiting for its pace never holds up another channel that could go now.
        Shortly before a row's time it is marked `sending` (with the others due then, in one
        write), then posted at its time. Returns when nothing is claimable and nothing is in
        flight, unless a waiting row is due within `linger` seconds: the worker's loop
        lingers for rows the pace deferred a moment ago, rather than sleeping its interval
        and starting cold. Rows waiting longer (a long Retry-After, a backoff) stay for a
        later drain; no thread waits for them.
        """
        result = DrainResult()
        inflight: set[Future] = set()
        feeding: Future | None = None  # claiming, rendering and booking the next rows
        ready: list[tuple[float, int, Claimed, Rendered]] = []  # (slot, seq, row, message)
        marked: list[tuple[float, int, Claimed, Rendered]] = []  # the same, marked sending
        seq = itertools.count()
        cap = max(2 * self.batch, 4 * self.threads)
        exhausted, rechecked, last_claim = False, False, 0.0
        while stop is None or not stop.is_set():
            if feeding is not None and feeding.done():
                claimed, items = feeding.result()
                feeding = None
                exhausted = claimed < self._feed_limit
                if claimed:
                    rechecked = False
                for row, message in items:
                    heapq.heappush(ready, (row.slot, next(seq), row, message))
            held = len(ready) + len(marked) + len(inflight)
            if (
                feeding is None
                and held < cap
                and (not exhausted or time.monotonic() - last_claim >= CLAIM_IDLE)
            ):
                self._feed_limit = min(self.batch, cap - held)
                feeding = self._pool.submit(self._feed, self._feed_limit, result)
                last_claim = time.monotonic()
            now = time.monotonic()
            self._mark(ready, marked, now + MARK_AHEAD, result)
            while marked and marked[0][0] <= now:
                _slot, _, row, message = heapq.heappop(marked)
                inflight.add(self._pool.submit(self._deliver, row, message, result))
            self._flush(result)
            self._tidy()
            if not ready and not marked and not inflight and feeding is None:
                if not exhausted:
                    continue  # the last claim was full: there may be more right away
                pause = self._next_due_in()
                if pause is not None and pause <= 0 and not rechecked:
                    rechecked, exhausted = True, False  # sending queued more (an admin alert)
                    continue
                if pause is None or pause > linger or (rechecked and linger <= 0):
                    break
                (stop.wait if stop is not None else time.sleep)(max(0.01, pause))
                rechecked, exhausted = False, False
                continue
            waits = [CLAIM_IDLE]
            if marked:
                waits.append(marked[0][0] - now)
            if ready:
                waits.append(ready[0][0] - MARK_AHEAD - now)
            timeout = max(0.0, min(waits))
            busy = inflight | ({feeding} if feeding is not None else set())
            if busy:
                done, _ = wait(busy, timeout=timeout, return_when=FIRST_COMPLETED)
                for future in done - {feeding}:
                    inflight.discard(future)
                    future.result()
            elif timeout > 0:
                (stop.wait if stop is not None else time.sleep)(timeout)
        if feeding is not None:
            for row, message in feeding.result()[1]:
                heapq.heappush(ready, (row.slot, next(seq), row, message))
        if ready or marked:  # stopped early: what was claimed and not begun can go at once
            self._give_back([item[2] for item in ready], [item[2] for item in marked])
        if inflight:
            wait(inflight)
        self._flush(result, force=True)
        return result

    def _feed(self, limit: int, result: DrainResult) -> tuple[int, list[tuple[Claimed, Rendered]]]:
        """Claim rows, render them and book their send times in the shared pace.

        Runs on a pool thread while the loop keeps posting what is booked already; booking
        after rendering means a slot is never spent while its message is still being built.
        Returns how many rows were claimed, and the rows ready to go with their messages.
        """
        rows = claim(
            self.session_factory,
            self.owner,
            limit=limit,
            lease_seconds=self.lease_seconds,
            pacer=self.pacer,
            horizon=self.horizon,
        )
        if not rows:
            return 0, []
        messages = self._render(rows, result)  # rows without a message are settled already
        booked = book(
            self.session_factory,
            [row for row in rows if row.id in messages],
            pacer=self.pacer,
            horizon=self.horizon,
        )
        return len(rows), [(row, messages[row.id]) for row in booked]

    def _mark(self, ready: list, marked: list, until: float, result: DrainResult) -> None:
        """Mark the rows due by `until` as sending, in one write, and move them to `marked`."""
        due = []
        while ready and ready[0][0] <= until:
            due.append(heapq.heappop(ready))
        if not due:
            return
        with self.session_factory.begin() as session:
            ours = mark_sending(session, [item[2] for item in due])
        for item in due:
            if item[2].id in ours:
                heapq.heappush(marked, item)
            else:  # the lease ran out and someone else has the row now
                log.warning("lost the lease on %s before sending it", item[2].key)
                result.add("lost_lease")

    def _give_back(self, waiting: list[Claimed], marked: list[Claimed]) -> None:
        """Rows claimed but not posted when the drain was stopped: available again now.

        A row this drain marked `sending` and never posted goes back to `pending`, unless an
        earlier attempt left it uncertain; the others keep their state.
        """
        with self.session_factory.begin() as session:
            now = db_now(session)
            for row in waiting:
                finish(session, row, attempts=row.attempts - 1, available_at=now)
            for row in marked:
                finish(
                    session,
                    row,
                    state=DeliveryState.SENDING if row.uncertain else DeliveryState.PENDING,
                    attempts=row.attempts - 1,
                    available_at=now,
                )

    def _tidy(self) -> None:
        """Now and then, drop channel budgets nobody has used for an hour."""
        if time.monotonic() - self._last_tidy < TIDY_SECONDS:
            return
        self._last_tidy = time.monotonic()
        with self.session_factory.begin() as session:
            pacing.forget_idle(session, db_now(session).timestamp())

    def _next_due_in(self) -> float | None:
        """Seconds until the next waiting row becomes available (database clock)."""
        with self.read_factory() as session:
            return next_due_in(session)

    def _render(self, rows: list[Claimed], result: DrainResult) -> dict[int, Rendered]:
        """Messages for the rows about to go, from current data, one batch per kind.

        Rendered here, seconds before sending (the pace books at most `horizon` ahead), so
        a snooze or an unsubscribe pressed after the tick still wins. A row with nothing
        left to say is cancelled; a renderer that breaks fails only its own rows.
        """
        messages: dict[int, Rendered] = {}
        by_kind: dict[str, list[Claimed]] = {}
        for row in rows:
            by_kind.setdefault(row.kind, []).append(row)
        for kind, group in by_kind.items():
            render = self.renderers.get(kind)
            if render is None:
                for row in group:
                    self._fail(row, f"unknown delivery kind {kind!r}", DeliveryState.DEAD, result)
                continue
            try:
                with self.read_factory() as session:
                    rendered = render(session, group, self.settings)
            except Exception as error:
                log.exception("rendering %s deliveries failed", kind)
                for row in group:
                    result.errors.append(f"{row.key}: {error!r}")
                    self._transient(row, f"bug {error!r}"[:500], result, uncertain=False)
                continue
            for row in group:
                message = rendered.get(row.id)
                if message is None:
                    self._record(row, result, "cancelled", state=DeliveryState.CANCELLED)
                else:
                    messages[row.id] = message
        return messages

    def _deliver(self, row: Claimed, message: Rendered, result: DrainResult) -> None:
        try:
            self._deliver_now(row, message, result)
        except Exception as error:  # a bug must not kill the drain; the row retries later
            log.exception("delivering %s failed unexpectedly", row.key)
            result.errors.append(f"{row.key}: {error!r}")
            self._transient(row, f"bug {error!r}"[:500], result, uncertain=True)

    def _deliver_now(self, row: Claimed, message: Rendered, result: DrainResult) -> None:
        if row.uncertain:
            try:
                found = self.crash_check.posted(row)
            except CheckLater as wait_for:  # never post instead: the message may be there
                why = f"uncertain: crash check waits, {wait_for}"  # still uncertain
                self._wait(row, wait_for.retry_after, why, result)
                return
            except CheckFailed as error:
                self._transient(row, f"crash check: {error}"[:500], result, uncertain=True)
                return
            if found is not None:
                self._sent(row, message, found, outcome="already_sent")
                return
        try:
            ts = self._post(row, message)
        except SlackApiError as error:
            self._slack_error(row, error, result)
            return
        except (URLError, TimeoutError, OSError, SlackRequestError) as error:
            # SlackRequestError: files_upload_v2's raw upload step was refused (not 200).
            self._transient(row, f"uncertain: {error!r}"[:500], result, uncertain=True)
            return
        self._sent(row, message, ts)

    def _post(self, row: Claimed, message: Rendered) -> str | None:
        if message.upload is not None:
            return self._share(row, message)
        client = self.client_for(row.workspace_id)
        args = dict(
            channel=row.channel_id,
            text=message.text,
            blocks=message.blocks,
            metadata={"event_type": METADATA_EVENT, "event_payload": {"key": row.key}},
            unfurl_links=False,
            unfurl_media=False,
        )
        try:
            return client.chat_postMessage(**args)["ts"]
        except SlackApiError as error:
            if slack_errors.reason(error) != "not_in_channel" or row.channel_id[:1] not in "CG":
                raise
        # Public channels can be joined without an invitation (channels:join).
        try:
            client.conversations_join(channel=row.channel_id)
        except SlackApiError as error:
            log.info("could not join %s: %s", row.channel_id, slack_errors.reason(error))
            raise
        return client.chat_postMessage(**args)["ts"]

    def _share(self, row: Claimed, message: Rendered) -> str | None:
        """Upload and share a file (three calls in slack_sdk's files_upload_v2).

        Sharing needs membership even in a public channel the bot may post to, so a public
        channel is joined on `not_in_channel`, as for messages. Slack completes the share
        asynchronously: the message's ts is often not in the answer, and then None.
        """
        client = self.client_for(row.workspace_id)
        upload = message.upload
        assert upload is not None

        def share():
            return client.files_upload_v2(
                channel=row.channel_id,
                content=upload.data,
                filename=upload.filename,
                title=upload.title,
                alt_txt=upload.alt_text,
                initial_comment=message.text,
            )

        try:
            answer = share()
        except SlackApiError as error:
            if slack_errors.reason(error) != "not_in_channel" or row.channel_id[:1] not in "CG":
                raise
            client.conversations_join(channel=row.channel_id)
            answer = share()
        file = answer.get("file") or {}
        message.file_id = file.get("id")
        shares = file.get("shares") or {}
        for where in ("public", "private"):
            for share_info in (shares.get(where) or {}).get(row.channel_id) or []:
                if share_info.get("ts"):
                    return str(share_info["ts"])
        return None

    # -- outcomes

    def _record(self, row: Claimed, result: DrainResult, outcome: str, **values) -> bool:
        with self.session_factory.begin() as session:
            ok = finish(session, row, **values)
        result.add(outcome if ok else "lost_lease")
        return ok

    def _sent(self, row: Claimed, message: Rendered, ts: str | None, outcome: str = "sent") -> None:
        """Queue the send for the next batched write (see `_flush`)."""
        self._sent_queue.put((row, message, ts, outcome))

    def _flush(self, result: DrainResult, force: bool = False) -> None:
        """Record queued sends in one transaction, only where the lease is still ours.

        One write per message would make SQLite's single writer the bottleneck; a few
        hundred milliseconds of delay is harmless, because a crash in between is exactly
        the case the metadata check after a restart covers.
        """
        if not force and time.monotonic() - self._last_flush < FLUSH_SECONDS:
            return
        self._last_flush = time.monotonic()
        done = []
        while True:
            try:
                done.append(self._sent_queue.get_nowait())
            except queue.Empty:
                break
        if not done:
            return
        with self.session_factory.begin() as session:
            now = db_now(session)
            outcomes = []
            for row, message, ts, outcome in done:
                ok = finish(
                    session,
                    row,
                    state=DeliveryState.SENT,
                    sent_at=now,
                    message_ts=ts,
                    last_error=None,
                )
                if ok and message.on_sent is not None:
                    message.on_sent(session, now)
                outcomes.append(outcome if ok else "lost_lease")
        for outcome in outcomes:
            result.add(outcome)

    def _floor(self, row: Claimed) -> str | None:
        """The ts of the last message we sent to `row`'s channel well before the row existed:
        the crash check need not read further back than that."""
        with self.read_factory() as session:
            return session.scalar(
                select(Delivery.message_ts)
                .where(
                    Delivery.workspace_id == row.workspace_id,
                    Delivery.channel_id == row.channel_id,
                    Delivery.state == DeliveryState.SENT,
                    Delivery.message_ts.is_not(None),
                    Delivery.sent_at < row.created_at - timedelta(seconds=FLOOR_MARGIN),
                )
                .order_by(Delivery.sent_at.desc())
                .limit(1)
            )

    def _wait(self, row: Claimed, seconds: float, why: str, result: DrainResult) -> None:
        """Slack asked us to wait: the row goes back for `seconds`, no attempt spent."""
        with self.session_factory.begin() as session:
            ok = finish(
                session,
                row,
                state=DeliveryState.PENDING,
                attempts=row.attempts - 1,
                available_at=db_now(session) + timedelta(seconds=seconds),
                last_error=why[:500],
            )
        result.add("rescheduled" if ok else "lost_lease")

    def _slack_error(self, row: Claimed, error: SlackApiError, result: DrainResult) -> None:
        reason, status = slack_errors.reason(error), slack_errors.status(error)
        if slack_errors.is_rate_limited(error):
            retry_after = slack_errors.retry_after(error)
            why = f"{reason or 'ratelimited'}: retry after {retry_after}s"
            self._wait(row, retry_after, why, result)
            return
        if reason in slack_errors.PERMANENT_ERRORS:
            self._fail(row, reason, DeliveryState.FAILED, result)
            return
        uncertain = status >= 500 or reason in slack_errors.UNCERTAIN_ERRORS
        label = f"uncertain: {reason or status}" if uncertain else f"{reason or status}"
        self._transient(row, label, result, uncertain=uncertain)

    def _transient(self, row: Claimed, error: str, result: DrainResult, *, uncertain: bool):
        if uncertain and not error.startswith("uncertain:"):
            error = f"uncertain: {error}"
        if row.attempts >= self.max_attempts:
            self._fail(row, f"gave up after {row.attempts} attempts: {error}", None, result)
            return
        delay = min(3600.0, self.backoff_base * 2 ** (row.attempts - 1))
        delay *= random.uniform(0.8, 1.2)  # so a burst of failures does not retry in lockstep
        with self.session_factory.begin() as session:
            now = db_now(session)
            ok = finish(
                session,
                row,
                state=DeliveryState.PENDING,
                available_at=now + timedelta(seconds=delay),
                last_error=error,
            )
        result.add("rescheduled" if ok else "lost_lease")

    def _fail(
        self, row: Claimed, reason: str, state: DeliveryState | None, result: DrainResult
    ) -> None:
        state = state or DeliveryState.DEAD
        with self.session_factory.begin() as session:
            ok = finish(session, row, state=state, last_error=reason)
            if ok and row.kind != DeliveryKind.ALERT and reason not in slack_errors.UNREPORTABLE:
                self._alert(session, row, reason)
        log.warning("delivery %s %s: %s", row.key, state, reason)
        result.add(("failed" if state == DeliveryState.FAILED else "dead") if ok else "lost_lease")

    def _alert(self, session: Session, row: Claimed, reason: str) -> None:
        """Tell each admin once per channel and reason (the key makes it once)."""
        short = reason.split(":")[0][:60]
        for admin in self.admins(session, row.workspace_id):
            enqueue(
                session,
                workspace_id=row.workspace_id,
                key=f"alert:{row.workspace_id}:{row.channel_id}:{short}:{admin}"[:255],
                kind=DeliveryKind.ALERT,
                channel_id=admin,
                payload={"channel_id": row.channel_id, "reason": reason, "key": row.key},
            )


def _read_sessions(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """Sessions for reading only (rendering messages, peeking at the queue).

    Our SQLite engine opens every transaction with BEGIN IMMEDIATE, the write lock, which is
    right for writers but would queue sixteen renders behind one another. A plain pysqlite
    engine reads without a transaction (WAL gives each statement a consistent snapshot).
    PostgreSQL readers never block writers, so there the usual sessions do.
    """
    engine = session_factory.kw["bind"]
    if engine.dialect.name != "sqlite":
        return session_factory
    with _READERS_LOCK:  # one reader engine per database, however many senders come and go
        reader = _READERS.get(str(engine.url))
        if reader is None:
            reader = _READERS[str(engine.url)] = create_engine(
                engine.url,
                connect_args={"check_same_thread": False, "timeout": 10},
                pool_size=16,
                max_overflow=16,
            )
    return sessionmaker(reader, expire_on_commit=False)


_READERS: dict[str, Any] = {}
_READERS_LOCK = threading.Lock()
