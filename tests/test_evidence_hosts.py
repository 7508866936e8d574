"""The SSRF guard (bot.evidence.hosts): the allow-list, then the addresses a name resolves to.

Resolution is the system's own (IP literals and `localhost` need no network).
"""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.evidence import hosts
from bot.evidence.hosts import HostRefused


def settings(*allowed: str, files: bool = False) -> Settings:
    return Settings(
        slack_bot_token="xoxb-unused",
        slack_signing_secret="unused",
        evidence_allowed_hosts=frozenset(allowed),
        evidence_allow_file_urls=files,
    )


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("169.254.169.254", "a cloud metadata address"),
        ("169.254.10.1", "a link-local address"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("fe80::1", "a link-local address"),
        ("::ffff:169.254.169.254", "a cloud metadata address"),
        ("100.100.100.200", "a cloud metadata address"),
        ("0.0.0.0", "not a host address"),
        ("224.0.0.1", "not a host address"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
    ],
)
def test_addresses_never_contacted(address, reason):
    assert reason in hosts.forbidden_reason(address, loopback_allowed=False)


def test_ordinary_and_private_addresses_may_be_contacted():
    for address in ("10.1.2.3", "192.168.0.5", "8.8.8.8", "2001:db8::1"):
        assert hosts.forbidden_reason(address, loopback_allowed=False) is None
    assert hosts.forbidden_reason("127.0.0.1", loopback_allowed=True) is None


def test_an_allowed_literal_metadata_address_is_still_refused_at_resolution():
    target = hosts.parse("http://169.254.169.254/latest", "mlflow", settings("169.254.169.254"))
    with pytest.raises(HostRefused, match="169.254.169.254, a cloud metadata address"):
        hosts.resolve(target)


def test_loopback_only_when_the_entry_names_it():
    target = hosts.parse("http://localhost:5000", "mlflow", settings("localhost:5000"))
    assert target.loopback_allowed
    assert set(hosts.resolve(target)) <= {"127.0.0.1", "::1"}
    assert hosts.parse("http://127.0.0.1:5000", "mlflow", settings("127.0.0.1")).loopback_allowed


def test_a_name_that_resolves_to_loopback_without_saying_so_is_refused():
    target = hosts.parse("http://mlflow.internal", "mlflow", settings("mlflow.internal"))
    assert not target.loopback_allowed

    def rebinding(host, port, **kwargs):  # a DNS answer an attacker controls
        return [(2, 1, 6, "", ("93.184.215.14", port)), (2, 1, 6, "", ("127.0.0.1", port))]

    with pytest.raises(HostRefused, match="127.0.0.1, loopback"):
        hosts.resolve(target, rebinding)


def test_an_unresolvable_name_is_refused_with_the_reason():
    target = hosts.parse("https://nothing.invalid", "mlflow", settings("nothing.invalid"))
    with pytest.raises(HostRefused, match="could not resolve nothing.invalid"):
        hosts.resolve(target)


def test_ports_and_wildcards():
    allowed = settings("git.example.com:8443", "*.corp.example")
    assert hosts.parse("https://git.example.com:8443/a.git", "repo", allowed).port == 8443
    with pytest.raises(HostRefused, match="EVIDENCE_ALLOWED_HOSTS"):
        hosts.parse("https://git.example.com/a.git", "repo", allowed)  # port 443
    assert hosts.parse("git://a.b.corp.example/x", "repo", allowed).port == 9418
    with pytest.raises(HostRefused):
        hosts.parse("https://corp.example/x", "repo", allowed)
    with pytest.raises(HostRefused):
        hosts.parse("https://evilcorp.example/x", "repo", allowed)


def test_redirects_stay_on_the_same_host_port_and_scheme():
    target = hosts.parse("https://mlflow.example.com", "mlflow", settings("mlflow.example.com"))
    hosts.check_redirect(target, "/api/2.0/mlflow/experiments/search")
    hosts.check_redirect(target, "https://mlflow.example.com:443/other")
    for location in (
        "https://evil.example.org/",
        "http://mlflow.example.com/",
        "https://mlflow.example.com:8443/",
        "http://169.254.169.254/latest/meta-data",
    ):
        with pytest.raises(HostRefused, match="redirected"):
            hosts.check_redirect(target, location)


def test_file_urls_only_when_allowed():
    with pytest.raises(HostRefused, match="EVIDENCE_ALLOW_FILE_URLS"):
        hosts.parse("file:///srv/repo", "repo", settings())
    target = hosts.parse("file:///srv/repo", "repo", settings(files=True))
    assert (target.scheme, target.path) == ("file", "/srv/repo")
    with pytest.raises(HostRefused):
        hosts.parse("file:///srv/repo", "mlflow", settings(files=True))
    with pytest.raises(HostRefused, match="absolute path"):
        hosts.parse("file://server/share", "repo", settings(files=True))
