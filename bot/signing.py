"""Slack request signatures, with a previous signing secret accepted during a rotation.

Slack signs every request with the app's signing secret. Regenerating it in Slack takes
effect at once, so with a single secret every request between that click and the redeploy
would be refused. During a rotation the operator sets SLACK_SIGNING_SECRET to the new secret
and SLACK_SIGNING_SECRET_PREVIOUS to the old one; a request signed with either is accepted,
and each use of the old one is logged (at most a line a minute, with a count), so the
operator knows when Slack has stopped using it and the variable can go. Once it is removed,
a request signed with the old secret is refused like any other forgery.

Verification stays Bolt's: `RotatingRequestVerification` is Bolt's own RequestVerification
middleware, in the place Bolt puts it (before authorization), refusing with Bolt's answer;
it only asks a verifier that knows both secrets first. Nothing private of Bolt's is touched.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from logging import Logger

from slack_bolt.middleware.request_verification import RequestVerification
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import Clock, SignatureVerifier

log = logging.getLogger(__name__)

PREVIOUS_VARIABLE = "SLACK_SIGNING_SECRET_PREVIOUS"
LOG_EVERY_SECONDS = 60.0


class _UseOfPrevious:
    """Counts requests signed with the previous secret; logs the first, then once a minute.

    One per process, shared by every verifier in it, so the log line is rate limited however
    many verifiers a process builds.
    """

    def __init__(self, every: float = LOG_EVERY_SECONDS) -> None:
        self.every = every
        self.lock = threading.Lock()
        self.unlogged = 0
        self.logged_at: float | None = None

    def note(self) -> None:
        with self.lock:
            self.unlogged += 1
            now = time.monotonic()
            if self.logged_at is not None and now - self.logged_at < self.every:
                return
            count, self.unlogged, self.logged_at = self.unlogged, 0, now
        log.warning(
            "a request was signed with %s (%s since the last line): Slack still uses the old "
            "signing secret; remove %s once these lines stop",
            PREVIOUS_VARIABLE,
            count,
            PREVIOUS_VARIABLE,
        )


PREVIOUS_USED = _UseOfPrevious()


class RotatingSignatureVerifier(SignatureVerifier):
    """slack_sdk's verifier for the current secret, falling back to the previous one."""

    def __init__(self, current: str, previous: str | None = None, clock: Clock | None = None):
        clock = clock or Clock()
        super().__init__(current, clock)
        self.previous = SignatureVerifier(previous, clock) if previous else None

    def is_valid(self, body: str | bytes, timestamp: str | None, signature: str | None) -> bool:
        try:
            if super().is_valid(body, timestamp, signature):
                return True
            if self.previous is not None and self.previous.is_valid(body, timestamp, signature):
                PREVIOUS_USED.note()
                return True
        except ValueError:  # a timestamp that is not a number: not signed by Slack
            return False
        return False


class RotatingRequestVerification(RequestVerification):
    """Bolt's request verification, asking a verifier that may know two secrets.

    The verifier is built on first use, as Bolt builds its own, so an app made without a
    signing secret (Socket Mode needs none) still starts.
    """

    def __init__(self, current: str, previous: str | None, base_logger: Logger | None = None):
        super().__init__(current, base_logger=base_logger)
        self.secrets = (current, previous)
        self._signatures: RotatingSignatureVerifier | None = None

    @property
    def signatures(self) -> RotatingSignatureVerifier:
        if self._signatures is None:
            self._signatures = RotatingSignatureVerifier(*self.secrets)
        return self._signatures

    def process(
        self,
        *,
        req: BoltRequest,
        resp: BoltResponse,
        next: Callable[[], BoltResponse],  # noqa: A002 - Bolt passes `next` by name
    ) -> BoltResponse:
        if req.mode != "socket_mode" and self.signatures.is_valid(
            req.raw_body,
            req.headers.get("x-slack-request-timestamp", ["0"])[0],
            req.headers.get("x-slack-signature", [""])[0],
        ):
            return next()
        # Socket Mode (Bolt skips it) or a bad signature: Bolt decides, and answers as usual.
        return super().process(req=req, resp=resp, next=next)
