"""The crash check: did an earlier attempt already post this row's message?

A row is "uncertain" when an attempt may have reached Slack without our recording it (the
sender died after marking it `sending`, or Slack's answer was lost). Before posting it again
we read the channel's history for a message whose metadata carries the row's key. Two facts
of real Slack shape this (docs/decisions/0011-crash-check.md):

- `conversations.history` answers `not_in_channel` for a bot that is not a member, and with
  `chat:write.public` the bot posts into public channels it never joined. So on
  `not_in_channel` in a public channel we join it (`channels:join`) and read again; a public
  channel's members see its whole history, messages from before they joined included.
- history is rate limited hard (for new commercially distributed apps outside the
  Marketplace, about one call a minute per workspace and 15 messages a call). A 429 here
  must never turn into a re-post: the row waits (`CheckLater`) and the scan resumes where it
  stopped, one page per call, so even a busy channel is read to the end eventually.

One scan per channel serves every uncertain row of that channel: a crash with fifty
messages in flight to one channel costs a few pages, not fifty reads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.outbox import slack_errors
from bot.outbox.queue import Claimed

log = logging.getLogger(__name__)

METADATA_EVENT = "mlops_bot_delivery"
FILE_PREFIX = "file:"
"""A shared file carries no metadata: a row that shares one is found by its file name."""
MAX_PAGES = 30
"""Beyond this many pages the scan gives up and the row is posted (at least once)."""
SCAN_SECONDS = 900.0
"""A scan nobody waits for is forgotten after this long (a later crash needs a new one)."""


def sought(row: Claimed) -> str:
    """What marks the row's message in the history: its key in the message metadata, or,
    for a row that shares a file (payload `filename`), that file's name."""
    filename = row.payload.get("filename")
    return FILE_PREFIX + str(filename) if filename else row.key


class CheckLater(Exception):
    """Slack asked us to wait before we could finish looking: retry the row, do not post."""

    def __init__(self, retry_after: int, reason: str) -> None:
        super().__init__(f"{reason}: retry after {retry_after}s")
        self.retry_after = retry_after
        self.reason = reason


class CheckFailed(Exception):
    """Looking failed in a way that may pass (a 5xx, a timeout): a transient error."""


@dataclass
class _Scan:
    """A channel's history read newest first, page by page, down to `oldest`."""

    started: float  # monotonic; messages posted after this are not seen by it
    floor: str | None  # a Slack ts the scan stops at (older messages cannot be ours)
    channel: str  # the conversation id read (a DM's D..., not the user's U...)
    cursor: str | None = None
    pages: int = 0
    done: bool = False
    found: dict[str, str] = field(default_factory=dict)  # key -> ts, for our messages


class CrashCheck:
    """Answers "was this row's message posted already?" for one sender, sharing scans."""

    def __init__(
        self,
        client_for: Callable[[str], WebClient],
        floor_for: Callable[[Claimed], str | None],
    ) -> None:
        """`floor_for(row)` is the Slack ts of a message known to be older than any attempt
        at the row (the last one sent to that channel before the row existed), or None:
        a bound in Slack's own clock, so no clock of ours is compared with Slack's."""
        self.client_for = client_for
        self.floor_for = floor_for
        self._scans: dict[tuple[str, str], _Scan] = {}
        self._waiting: dict[str, float] = {}  # key -> the scan it waits for (its start)
        self._dms: dict[tuple[str, str], str] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._lock = threading.Lock()

    def posted(self, row: Claimed) -> str | None:
        """The ts of the message carrying `row.key`, or None when it is not in the channel
        (or the channel cannot be read, where the bot could not have posted either).

        Raises CheckLater when Slack rate-limits the look (never post then), CheckFailed
        when looking failed otherwise.
        """
        where = (row.workspace_id, row.channel_id)
        with self._lock:
            lock = self._locks.setdefault(where, threading.Lock())
        with lock:  # one scan per channel at a time; the others wait for its answer
            floor = self.floor_for(row)
            scan = self._scans.get(where)
            if scan is not None and not self._serves(scan, row, floor):
                scan = None
            if scan is None:
                channel = self._conversation(row)
                if channel is None:
                    return None
                self._forget_old()
                scan = _Scan(
                    started=time.monotonic(),
                    floor=floor,
                    channel=channel,
                )
                self._scans[where] = scan
            wanted = sought(row)
            while wanted not in scan.found and not scan.done:
                try:
                    self._read_page(row, scan)
                except CheckLater:
                    self._waiting[row.key] = scan.started
                    raise
            self._waiting.pop(row.key, None)
            if scan.done and scan.pages >= MAX_PAGES and wanted not in scan.found:
                log.warning("gave up looking for %s after %s pages; sending", row.key, MAX_PAGES)
            return scan.found.get(wanted)

    def _forget_old(self) -> None:
        waited_for = set(self._waiting.values())
        old = time.monotonic() - SCAN_SECONDS
        with self._lock:
            for where, scan in list(self._scans.items()):
                if scan.started < old and scan.started not in waited_for:
                    del self._scans[where]

    def _serves(self, scan: _Scan, row: Claimed, floor: str | None) -> bool:
        """Whether `scan` can tell about `row`: it reaches back far enough, and it started
        after the row's last attempt (after this claim, or it is the scan the row waited
        for: then nobody has posted it since)."""
        if scan.floor is not None and (floor is None or Decimal(scan.floor) > Decimal(floor)):
            return False
        return scan.started >= row.claimed_at or self._waiting.get(row.key) == scan.started

    def _conversation(self, row: Claimed) -> str | None:
        """The conversation to read: the channel, or the DM with a person (opened once)."""
        if row.channel_id[:1] not in "UW":
            return row.channel_id
        where = (row.workspace_id, row.channel_id)
        if where not in self._dms:
            client = self.client_for(row.workspace_id)
            answer = self._call(lambda: client.conversations_open(users=row.channel_id))
            if answer is None:
                return None
            self._dms[where] = answer["channel"]["id"]
        return self._dms[where]

    def _read_page(self, row: Claimed, scan: _Scan) -> None:
        client = self.client_for(row.workspace_id)

        def read():
            return client.conversations_history(
                channel=scan.channel,
                include_all_metadata=True,
                oldest=scan.floor,
                limit=200,
                cursor=scan.cursor,
            )

        public = scan.channel[:1] == "C"
        page = self._call(
            read, join=(lambda: client.conversations_join(channel=scan.channel)) if public else None
        )
        if page is None:  # cannot read it: the bot could not have posted there either
            scan.done = True
            return
        scan.pages += 1
        for message in page.get("messages", []):
            meta = message.get("metadata") or {}
            if meta.get("event_type") == METADATA_EVENT:
                key = (meta.get("event_payload") or {}).get("key")
                if key:
                    scan.found.setdefault(key, message.get("ts"))
            for file in message.get("files") or []:
                if file.get("name"):
                    scan.found.setdefault(FILE_PREFIX + file["name"], message.get("ts") or "")
        scan.cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        scan.done = scan.cursor is None or scan.pages >= MAX_PAGES

    def _call(self, call: Callable, join: Callable | None = None):
        """Run a Web API call for the check; None when Slack says it cannot be done here.

        `join`, for a public channel, is how to become a member when Slack answers
        `not_in_channel` (a bot that posted with chat:write.public is not one).
        """
        for _ in range(2):
            try:
                return call()
            except SlackApiError as error:
                reason = slack_errors.reason(error)
                if slack_errors.is_rate_limited(error):
                    retry_after = slack_errors.retry_after(error)
                    raise CheckLater(retry_after, reason or "ratelimited") from error
                if reason == "not_in_channel" and join is not None:
                    joined, join = self._call(join), None
                    if joined is None:
                        return None
                    continue  # a member now: read again, once
                if slack_errors.status(error) >= 500 or reason in slack_errors.UNCERTAIN_ERRORS:
                    raise CheckFailed(reason or str(slack_errors.status(error))) from error
                log.info("cannot check for earlier posts (%s); sending", reason)
                return None
            except (URLError, TimeoutError, OSError) as error:
                raise CheckFailed(repr(error)) from error
        return None
