"""Read-only credentials per host, given by operators; never typed into Slack, never logged.

Two places, both JSON objects keyed by host (or host:port), the file winning:

- the file named by EVIDENCE_CREDENTIALS_FILE, read at each refresh (so rotating a token
  needs no restart);
- EVIDENCE_CREDENTIALS, the same JSON inline, for platforms that give secrets as variables.

```json
{
  "mlflow.internal": {"token": "..."},
  "mlflow.example.com:8443": {"username": "bot", "password": "..."},
  "git.example.com": {"username": "x-access-token", "password": "..."}
}
```

A token is sent as `Authorization: Bearer`, a username and password as HTTP basic auth.
Git may also use its own credential helpers (the worker's git configuration).
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

FILE_VARIABLE = "EVIDENCE_CREDENTIALS_FILE"
INLINE_VARIABLE = "EVIDENCE_CREDENTIALS"


@dataclass(frozen=True)
class Credential:
    token: str | None = None
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:  # never print a secret, even in a traceback's locals
        return "Credential(***)"

    @property
    def authorization(self) -> str:
        """The value of an Authorization header."""
        if self.token:
            return f"Bearer {self.token}"
        raw = f"{self.username or ''}:{self.password or ''}".encode()
        return "Basic " + base64.b64encode(raw).decode()


class Credentials:
    """Lookup by host and port; `for_host` answers None when nothing is configured."""

    def __init__(self, entries: Mapping[str, Credential] | None = None) -> None:
        self._entries = dict(entries or {})

    def __repr__(self) -> str:
        return f"Credentials({len(self._entries)} hosts)"

    def for_host(self, host: str, port: int | None) -> Credential | None:
        host = host.lower()
        return self._entries.get(f"{host}:{port}") or self._entries.get(host)


def _parse(text: str, where: str) -> dict[str, Credential]:
    try:
        data = json.loads(text)
    except ValueError as error:
        # the position only: the text may be a secret
        raise ValueError(f"{where} is not valid JSON (line {error.lineno})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{where} must be a JSON object keyed by host")
    entries = {}
    for host, value in data.items():
        if not isinstance(value, dict) or not (
            isinstance(value.get("token"), str)
            or (isinstance(value.get("username"), str) and isinstance(value.get("password"), str))
        ):
            raise ValueError(
                f'{where}: the entry for {host!r} needs a "token", or a "username" and a "password"'
            )
        entries[str(host).lower()] = Credential(
            value.get("token"), value.get("username"), value.get("password")
        )
    return entries


def load(inline: str | None = None, path: str | None = None) -> Credentials:
    """The credentials configured now (Settings.evidence_credentials and
    evidence_credentials_file); ValueError, without any secret in it, when malformed."""
    entries: dict[str, Credential] = {}
    if inline and inline.strip():
        entries.update(_parse(inline, INLINE_VARIABLE))
    if path and path.strip():
        try:
            text = Path(path).read_text()
        except OSError as error:
            raise ValueError(f"{FILE_VARIABLE}: cannot read {path}: {error.strerror}") from None
        entries.update(_parse(text, f"{FILE_VARIABLE} ({path})"))
    return Credentials(entries)


def from_settings(settings) -> Credentials:
    return load(settings.evidence_credentials, settings.evidence_credentials_file)
