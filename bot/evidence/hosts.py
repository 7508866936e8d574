"""Which hosts the bot may contact for evidence: no server-side request forgery.

A team names a URL in Slack; the bot would then make requests from inside the operator's
network. So only hosts the operator lists in EVIDENCE_ALLOWED_HOSTS are contacted (none by
default), and even those are refused when they resolve to a link-local or cloud metadata
address (169.254.0.0/16, fd00:ec2::254, ...), or to loopback unless the entry itself names
a loopback host (`localhost`, `127.0.0.1`, `[::1]`: a deliberate local set-up, never a
rebinding trick). A redirect to another host is refused. `file://` repositories are only
for the sandbox and tests (EVIDENCE_ALLOW_FILE_URLS).

Two moments: `parse` at connect time (syntax and allow-list, no network, so the web
process never waits on DNS), and `resolve` right before each read (in the worker), which
returns the addresses that passed so the caller connects to exactly those.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.config import Settings
from bot.errors import UserError

SETTING = "EVIDENCE_ALLOWED_HOSTS"
FILE_SETTING = "EVIDENCE_ALLOW_FILE_URLS"

_SCHEMES = {
    "mlflow": ("https", "http"),
    "repo": ("https", "http", "git", "ssh"),
}
_DEFAULT_PORTS = {"https": 443, "http": 80, "git": 9418, "ssh": 22}
_SCP_LIKE = re.compile(
    r"^(?:(?P<user>[A-Za-z0-9._-]+)@)?(?P<host>[A-Za-z0-9.-]+):(?P<path>[^/].*)$"
)

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack instance metadata
        "fd00:ec2::254",  # AWS instance metadata over IPv6
        "100.100.100.200",  # Alibaba Cloud metadata
        "168.63.129.16",  # Azure wire server
        "192.0.0.192",  # Oracle Cloud metadata
    )
)


class HostRefused(UserError):
    """A URL the bot will not contact; the message says why and names the setting."""


@dataclass(frozen=True)
class Target:
    """A URL that passed the allow-list: what to contact, and whether loopback is fine."""

    url: str
    scheme: str
    host: str  # lower case; IPv6 without brackets
    port: int | None  # None for file://
    path: str
    loopback_allowed: bool = False

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def _is_loopback_name(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _split_entry(entry: str) -> tuple[str, int | None]:
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else None
    if entry.count(":") == 1:
        host, port = entry.split(":")
        return host, int(port)
    return entry, None


def allowed_entry(host: str, port: int | None, settings: Settings) -> str | None:
    """The EVIDENCE_ALLOWED_HOSTS entry that allows `host:port`, or None."""
    for entry in sorted(settings.evidence_allowed_hosts):
        entry_host, entry_port = _split_entry(entry)
        if entry_port is not None and entry_port != port:
            continue
        if entry_host.startswith("*."):
            if host.endswith(entry_host[1:]) and host != entry_host[2:]:
                return entry
        elif entry_host == host:
            return entry
    return None


def _refuse_credentials(url: str) -> None:
    raise HostRefused(
        "Please leave credentials out of the URL: the bot never takes them in Slack. "
        "Operators give it read-only credentials per host (see the README's Evidence section)."
    )


def parse(url: str, kind: str, settings: Settings) -> Target:
    """Check a URL's form and the allow-list, without touching the network.

    Raises HostRefused with a message for the person who typed it.
    """
    url = (url or "").strip()
    if url.startswith("<") and url.endswith(">"):  # Slack's link markup: <url> or <url|label>
        url = url[1:-1].split("|", 1)[0]
    if not url or any(ch.isspace() or ord(ch) < 32 for ch in url) or len(url) > 2000:
        raise HostRefused("Please give the URL without spaces, e.g. `https://mlflow.example.com`.")
    schemes = _SCHEMES[kind]
    scp = _SCP_LIKE.match(url) if kind == "repo" and "://" not in url else None
    if scp:
        scheme, host, port, path = "ssh", scp["host"].lower(), 22, scp["path"]
    else:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise HostRefused(f"`{url}` is not a URL I can read.") from None
        scheme = parts.scheme.lower()
        if scheme == "file" and kind == "repo":
            if not settings.evidence_allow_file_urls:
                raise HostRefused(
                    "Local `file://` repositories are only read in the sandbox and tests "
                    f"({FILE_SETTING}); give the repository's https:// or git:// URL."
                )
            if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
                raise HostRefused("A `file://` URL needs an absolute path: `file:///srv/repo`.")
            return Target(url, "file", "", None, parts.path, loopback_allowed=True)
        if scheme not in schemes:
            raise HostRefused(
                f"The bot reads {kind} sources over "
                + " or ".join(f"`{s}://`" for s in schemes)
                + f", not `{scheme or url}`."
            )
        if parts.password is not None or (parts.username and scheme in ("http", "https")):
            _refuse_credentials(url)
        if parts.query or parts.fragment:
            raise HostRefused("Please give the URL without `?...` or `#...`.")
        host = (parts.hostname or "").lower()
        if not host:
            raise HostRefused(f"`{url}` has no host name.")
        port = port or _DEFAULT_PORTS[scheme]
        path = parts.path
    entry = allowed_entry(host, port, settings)
    if entry is None:
        shown = f"[{host}]" if ":" in host else host
        raise HostRefused(
            f"The bot may not contact `{shown}`: operators list the hosts it may read in "
            f"{SETTING} (now: {', '.join(sorted(settings.evidence_allowed_hosts)) or 'none'}). "
            "Ask them to add it."
        )
    return Target(
        url, scheme, host, port, path, loopback_allowed=_is_loopback_name(_split_entry(entry)[0])
    )


def forbidden_reason(address: str, loopback_allowed: bool) -> str | None:
    """Why the bot must not connect to `address`, or None when it may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_loopback:  # before is_reserved, which ::1 is too
        if loopback_allowed:
            return None
        return "loopback (allowed only when the entry itself names localhost or 127.0.0.1)"
    if ip.is_unspecified or ip.is_multicast or ip.is_reserved:
        return "not a host address"
    return None


Resolver = Callable[..., list]


def resolve(target: Target, resolver: Resolver = socket.getaddrinfo) -> list[str]:
    """The addresses of `target` that may be contacted; HostRefused if any may not.

    Every address must pass, not just one: a name that resolves to both a public address
    and the metadata service is a rebinding attempt. Callers connect to the returned
    addresses rather than resolving again.
    """
    if target.scheme == "file":
        return []
    try:
        infos = resolver(target.host, target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise HostRefused(f"could not resolve {target.host}: {error}") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for address in addresses:
        reason = forbidden_reason(address, target.loopback_allowed)
        if reason:
            raise HostRefused(f"{target.host} resolves to {address}, {reason}: refused")
    if not addresses:
        raise HostRefused(f"could not resolve {target.host}")
    return addresses


def check_redirect(target: Target, location: str) -> None:
    """Refuse a redirect that leaves the host, port or scheme of `target`."""
    parts = urlsplit(location)
    if not parts.scheme and not parts.netloc:
        return  # relative: the same host
    try:
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        port = None
    if (
        parts.scheme.lower() != target.scheme
        or (parts.hostname or "").lower() != target.host
        or port != target.port
    ):
        raise HostRefused(
            f"{target.host} redirected to {parts.scheme}://{parts.hostname}: refused "
            f"(only the hosts in {SETTING}, without redirects elsewhere)"
        )
