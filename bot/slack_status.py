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
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

CHECKING = "checking"
OK = "ok"
_CREDENTIAL_ERRORS = ("invalid_auth", "not_authed", "token_revoked", "account_inactive")


def describe_slack_error(error: BaseException) -> str:
    """One line naming what to fix: the API's error code, or why it could not be reached."""
    if isinstance(error, SlackApiError):
        code = str(error.response.get("error") or error.response.status_code)
        if code in _CREDENTIAL_ERRORS:
            return f"Slack refused the token: {code} (check SLACK_BOT_TOKEN)"
        return f"Slack answered with an error: {code}"
    reason = error.reason if isinstance(error, URLError) else error
    text = " ".join(str(reason).split()) or type(error).__name__
    return f"Slack's Web API is not reachable ({text}); check SLACK_API_URL"


class SlackStatus:
    """The result of the background check of the bot token (auth.test): `CHECKING`, `OK`,
    or a one-line problem. With OAuth each workspace's token is checked on its own
    requests, so there is nothing to check at start."""

    def __init__(
        self,
        client: WebClient,
        *,
        first_delay: float = 1.0,
        max_delay: float = 300.0,
    ) -> None:
        self.client = client
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.state = CHECKING
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="slack-check", daemon=True)

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
        """Ask Slack once; True when it answered our credentials."""
        try:
            self.client.auth_test()
        except (SlackApiError, URLError, OSError) as error:
            self.state = describe_slack_error(error)
            return False
        self.state = OK
        return True

    def _run(self) -> None:
        delay, failures, since = self.first_delay, 0, time.monotonic()
        while not self._stop.is_set():
            if self.check_once():
                if failures:
                    log.info(
                        "Slack's Web API answers again after %.0f s (%s failed check%s)",
                        time.monotonic() - since,
                        failures,
                        "" if failures == 1 else "s",
                    )
                return
            failures += 1
            if failures == 1:
                log.error("%s; serving anyway and checking again with backoff", self.state)
            self._stop.wait(delay)
            delay = min(self.max_delay, delay * 2)
