"""What people type to connect a team's tools: `connect`, `disconnect`, and the modal's fields.

Parsing is apart from the evidence core (bot.services.evidence) because it is about Slack's
text, not about sources: Slack sends a typed link as `<https://host/x>` or
`<https://host/x|host/x>` (the manifest's `should_escape`), an e-mail-shaped `git@host` as a
`mailto:` link, and `&` as `&amp;`; and a team name may hold spaces, so the words `mlflow` or
`repo` followed by an address end it.

Credentials are refused here, before anything is stored or sent anywhere: a URL with
`user:password@` (or a token where the user name goes) or a token in its query. The text of
a slash command reaches this bot and its hosting, and people paste commands into channels
and runbooks; operators give the bot read-only credentials per host instead (README).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from bot.errors import COMMAND, UserError
from bot.services import evidence

MLFLOW = "mlflow"
REPO = "repo"
KINDS = (MLFLOW, REPO)
KIND_LABELS = {MLFLOW: "MLflow", REPO: "Git repository"}

URL_MAX = 500

# mrkdwn: `<` and `>` are written as entities, or Slack would read `<team>` as a link.
CONNECT_USAGE = (
    f"`{COMMAND} connect &lt;team&gt; mlflow &lt;tracking-url&gt; [experiments=&lt;prefix&gt;]"
    f" [models=&lt;prefix&gt;]` or `{COMMAND} connect &lt;team&gt; repo &lt;git-url&gt; [branch]"
    " [path]`"
)
DISCONNECT_USAGE = f"`{COMMAND} disconnect &lt;team&gt; mlflow|repo`"

# `<https://x>`, `<https://x|label>`, `<mailto:git@host|git@host>` as Slack escapes them.
_SLACK_LINK = re.compile(r"<((?:https?|ssh|git|file|mailto):[^|>\s]*)(?:\|[^>]*)?>", re.I)
_SECRET_PARAMS = re.compile(r"token|secret|password|passwd|pwd|key|sig|auth|credential", re.I)


@dataclass(frozen=True)
class ConnectRequest:
    """`connect`'s arguments. `options` is `experiments`/`models` for MLflow and
    `branch`/`path` for a repository, each only when given."""

    team: str
    kind: str
    url: str
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DisconnectRequest:
    team: str
    kind: str


def unwrap_links(text: str) -> str:
    """Slack's escaped text back to what the person typed: links unwrapped, `&amp;` undone."""

    def plain(match: re.Match) -> str:
        target = match.group(1)
        return target[len("mailto:") :] if target.lower().startswith("mailto:") else target

    unwrapped = _SLACK_LINK.sub(plain, text or "")
    return unwrapped.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def looks_like_address(word: str) -> bool:
    return "://" in word or ("@" in word and ":" in word)


def check_address(url: str) -> str:
    """The address as typed, or a UserError when it must not be taken at all.

    Whether the scheme and host are allowed is the evidence core's call (bot.evidence.hosts,
    EVIDENCE_ALLOWED_HOSTS). Credentials are refused here as well, first, so a secret is
    never echoed back in any later error about the same address.
    """
    url = url.strip()
    if not url:
        raise UserError(f"Which address? {CONNECT_USAGE}")
    if len(url) > URL_MAX:
        raise UserError(f"That address is {len(url)} characters; at most {URL_MAX}, please.")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise UserError("An address cannot contain spaces or control characters.")
    if "://" not in url:  # scp-like `git@host:team/repo.git`: a user name, never a password
        if ":" in url.split("@", 1)[0]:
            raise _credentials_refusal()
        return url
    try:
        parts = urlsplit(url)
        password, username = parts.password, parts.username
    except ValueError:
        raise UserError("I can't read that address; please check it and try again.") from None
    if password is not None or (username and parts.scheme.lower() in ("http", "https")):
        raise _credentials_refusal()
    if any(_SECRET_PARAMS.search(name) for name, _ in parse_qsl(parts.query)):
        raise _credentials_refusal()
    return url


def _credentials_refusal() -> UserError:
    # The address is not repeated back: it holds the secret.
    return UserError(
        ":lock: I didn't save that: the address has a credential in it. Credentials are never "
        "typed into Slack, because a command's text travels through Slack and is easily "
        "pasted on. Give the address without `user:password@` or tokens; your Slack admins "
        "give the bot its own read-only credentials for that host (the README says how)."
    )


def parse_connect(text: str) -> ConnectRequest:
    """`<team> mlflow <url> [experiments=p] [models=p]` or `<team> repo <url> [branch] [path]`.

    The team may be left out where a channel is a team's home (`connect mlflow https://...`).
    The options are read by the evidence core (`options_from_words`), which owns their rules.
    """
    words = unwrap_links(text).split()
    for index, word in enumerate(words):
        following = words[index + 1] if index + 1 < len(words) else ""
        if word.lower() in KINDS and looks_like_address(following):
            kind = word.lower()
            url = check_address(following)
            options = evidence.options_from_words(kind, words[index + 2 :])
            return ConnectRequest(" ".join(words[:index]), kind, url, options)
    if any(word.lower() in KINDS for word in words):
        raise UserError(f"Which address should I connect? {CONNECT_USAGE}")
    raise UserError(f"What should I connect? {CONNECT_USAGE}")


def parse_disconnect(text: str) -> DisconnectRequest:
    """`<team> mlflow|repo`; the team may be left out in its home channel."""
    words = unwrap_links(text).split()
    if not words or words[-1].lower() not in KINDS:
        raise UserError(f"What should I disconnect? {DISCONNECT_USAGE}")
    return DisconnectRequest(" ".join(words[:-1]), words[-1].lower())
