"""Does Slack's Web API answer us? Checked in the background, reported on /healthz.

A web or Socket Mode process used to call auth.test while starting and exit when Slack did
not answer within seconds: during a Slack incident, the platform restarted it over and over.
Now the process starts regardless; this check runs on its own thread, retries with backoff
until Slack answers, logs one line when it cannot and one when it can again, and /healthz
shows the current state, so an operator sees the cause without a restart loop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from urllib.error import URLError

from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger(__name__)

CHECKING = "checking"
OK = "ok"
_CREDENTIAL_ERRORS = ("invalid_auth", "not_authed", "token_revoked", "account_inactive")


def describe_slack_error(error: BaseException, token_name: str = "SLACK_BOT_TOKEN") -> str:
    """One line naming what to fix: the API's error code, or why it could not be reached."""
    if isinstance(error, SlackApiError):
        code = str(error.response.get("error") or error.response.status_code)
        if code in _CREDENTIAL_ERRORS:
            return f"Slack refused the token: {code} (check {token_name})"
        return f"Slack answered with an error: {code}"
    reason = error.reason if isinstance(error, URLError) else error
    text = " ".join(str(reason).split()) or type(error).__name__
    return f"Slack's Web API is not reachable ({text}); check SLACK_API_URL"


class SlackStatus:
    """Keeps trying `check` (a call to Slack) with backoff until it succeeds.

    `state` is `CHECKING`, `OK`, or the one-line problem. `start()` runs it on a thread (the
    web process checks its bot token with auth.test and serves meanwhile); `run()` blocks
    (Socket Mode cannot serve before its connection is open). The first failure is logged
    once, the recovery once; the attempts between are quiet.
    """

    def __init__(
        self,
        check: Callable[[], object],
        *,
        doing: str = "checking the bot token",
        token_name: str = "SLACK_BOT_TOKEN",
        first_delay: float = 1.0,
        max_delay: float = 300.0,
    ) -> None:
        self.check = check
        self.doing = doing
        self.token_name = token_name
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.state = CHECKING
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.run, name="slack-check", daemon=True)

    @property
    def ok(self) -> bool:
        return self.state == OK

    @property
    def failing(self) -> bool:
        return self.state not in (OK, CHECKING)

    def start(self) -> SlackStatus:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def check_once(self) -> bool:
        """Ask Slack once; True when it answered."""
        try:
            self.check()
        except (SlackClientError, URLError, OSError) as error:
            self.state = describe_slack_error(error, self.token_name)
            return False
        self.state = OK
        return True

    def run(self) -> None:
        delay, failures, since = self.first_delay, 0, time.monotonic()
        while not self._stop.is_set():
            if self.check_once():
                if failures:
                    log.info(
                        "Slack answers again after %.0f s (%s failed attempt%s at %s)",
                        time.monotonic() - since,
                        failures,
                        "" if failures == 1 else "s",
                        self.doing,
                    )
                return
            failures += 1
            if failures == 1:
                log.error("%s while %s; retrying with backoff", self.state, self.doing)
            self._stop.wait(delay)
            delay = min(self.max_delay, delay * 2)
