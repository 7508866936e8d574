"""Reading a Git repository safely: look, never run.

- `head` asks the server for the branch's head commit (`git ls-remote`), so a repository
  that has not moved since the last read is not cloned again.
- `snapshot` makes a shallow, partial clone into a temporary folder: one commit
  (`--depth 1`), no blob over BLOB_LIMIT (`--filter=blob:limit=`), no checkout, no tags,
  no submodules, hooks off (`core.hooksPath=/dev/null`), no prompts, no redirects, only the
  URL's own protocol allowed, and a timeout on every git command. It lists the tree
  (`ls-tree` without sizes, which would fetch every blob), finds which blobs are present
  without fetching the missing ones (`rev-list --missing=print`), drops the remote so no
  read can fetch anything, and reads at most MAX_FILES files and MAX_BYTES bytes with
  `cat-file --batch`. Symbolic links and submodules are never read or followed.
- Nothing from the repository is ever executed: no checkout (so no filters, no LFS), no
  hooks, no `setup.py`, no `dvc`; files are parsed by `bot.evidence.detectors` with `ast`
  and `yaml.safe_load`.

Over HTTP(S) git connects to the addresses `hosts.resolve` passed (`http.curloptResolve`);
credentials from the operator (bot.evidence.credentials) go in an `http.extraHeader` passed
through the environment (GIT_CONFIG_*), never on the command line, which other users of the
machine can read.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.evidence import SourceError, hosts
from bot.evidence.credentials import Credential

BLOB_LIMIT = "256k"
MAX_BLOB_BYTES = 256 * 1024
MAX_FILES = 400
MAX_BYTES = 8 * 1024 * 1024
MAX_TREE_ENTRIES = 200_000
TIMEOUT = 60.0

_SHA = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")


@dataclass
class Snapshot:
    """What was read from one commit: every path in the tree, and the contents of some."""

    commit: str
    paths: list[str]
    files: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count


def _environment(target: hosts.Target, credential: Credential | None) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/nonexistent"),  # the operator's credential helpers
        "LANG": "C",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "/bin/false",
        "SSH_ASKPASS": "/bin/false",
        "GIT_LFS_SKIP_SMUDGE": "1",
        "GIT_ALLOW_PROTOCOL": target.scheme,
        "GIT_SSH_COMMAND": "ssh -o BatchMode=yes -o ConnectTimeout=20",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    for key in ("SSH_AUTH_SOCK", "GIT_SSH_COMMAND_EXTRA", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        if key in os.environ:
            env[key] = os.environ[key]
    config: list[tuple[str, str]] = []
    if credential is not None and target.scheme in ("http", "https"):
        config.append(
            (
                f"http.{target.scheme}://{target.netloc}/.extraHeader",
                f"Authorization: {credential.authorization}",
            )
        )
    for index, (key, value) in enumerate(config):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    env["GIT_CONFIG_COUNT"] = str(len(config))
    return env


def _options(target: hosts.Target, addresses: Iterable[str]) -> list[str]:
    options = [
        "-c", "core.hooksPath=/dev/null",
        "-c", "core.fsmonitor=false",
        "-c", "http.followRedirects=false",
        "-c", "protocol.allow=never",
        "-c", f"protocol.{target.scheme}.allow=always",
        "-c", "submodule.recurse=false",
        "-c", "credential.interactive=false",
    ]  # fmt: skip
    if target.scheme in ("http", "https"):
        for address in addresses:
            shown = f"[{address}]" if ":" in address else address
            options += ["-c", f"http.curloptResolve={target.host}:{target.port}:{shown}"]
    return options


class Git:
    """git commands for one target, with its environment, options and timeout."""

    def __init__(
        self,
        target: hosts.Target,
        addresses: list[str],
        credential: Credential | None = None,
        timeout: float = TIMEOUT,
    ) -> None:
        self.target = target
        self.env = _environment(target, credential)
        self.options = _options(target, addresses)
        self.timeout = timeout

    def run(self, *args: str, cwd: str | None = None, input: bytes | None = None) -> bytes:
        command = ["git", *self.options, *args]
        try:
            result = subprocess.run(
                command,
                cwd=cwd,
                env=self.env,
                input=input,
                stdin=None if input is not None else subprocess.DEVNULL,
                capture_output=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise SourceError(
                f"git {args[0]} took longer than {self.timeout:g} s; gave up"
            ) from None
        if result.returncode != 0:
            raise SourceError(f"git {args[0]} failed: {_first_line(result.stderr)}")
        return result.stdout


_SECRETISH = re.compile(r"(Authorization:\s*\S+\s+)\S+|(://[^/@\s]*:)[^@/\s]*@", re.IGNORECASE)


def _first_line(stderr: bytes) -> str:
    """git's own reason, one line, without anything that looks like a credential."""
    lines = [
        line.strip()
        for line in stderr.decode("utf-8", "replace").splitlines()
        if line.strip() and not line.startswith(("hint:", "warning:"))
    ]
    text = lines[-1] if lines else "no reason given"
    text = text.removeprefix("fatal: ")
    return _SECRETISH.sub(
        lambda m: (m.group(1) or m.group(2)) + "***" + ("@" if m.group(2) else ""), text
    )[:300]


def _remote_url(target: hosts.Target) -> str:
    return target.url if target.scheme != "file" else f"file://{target.path}"


def head(git: Git, branch: str | None) -> str:
    """The commit at the head of `branch` (default: the remote's HEAD), without cloning."""
    ref = f"refs/heads/{branch}" if branch else "HEAD"
    out = git.run("ls-remote", "--", _remote_url(git.target), ref).decode("ascii", "replace")
    for line in out.splitlines():
        sha, _, name = line.partition("\t")
        if name == ref and _SHA.fullmatch(sha):
            return sha
    raise SourceError(
        f"the repository has no branch {branch}" if branch else "the repository is empty"
    )


Selector = Callable[[list[str]], list[str]]


def snapshot(
    git: Git,
    branch: str | None,
    select: Selector,
    *,
    max_files: int = MAX_FILES,
    max_bytes: int = MAX_BYTES,
    workdir: str | None = None,
) -> Snapshot:
    """Clone one commit shallowly and read the files `select` picks (in its order)."""
    folder = tempfile.mkdtemp(prefix="mlops-evidence-", dir=workdir)
    try:
        repo = str(Path(folder) / "repo.git")
        args = [
            "clone", "--bare", "--depth", "1", f"--filter=blob:limit={BLOB_LIMIT}",
            "--single-branch", "--no-tags", "--no-recurse-submodules", "--quiet",
        ]  # fmt: skip
        if branch:
            args += ["--branch", branch]
        git.run(*args, "--", _remote_url(git.target), repo)
        # From here on nothing may reach the server: a missing blob stays missing.
        git.run("remote", "remove", "origin", cwd=repo)
        commit = git.run("rev-parse", "HEAD", cwd=repo).decode().strip()
        return _read(git, repo, commit, select, max_files, max_bytes)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _read(
    git: Git, repo: str, commit: str, select: Selector, max_files: int, max_bytes: int
) -> Snapshot:
    tree = git.run("ls-tree", "-r", "-z", "--full-tree", "HEAD", cwd=repo)
    blobs: dict[str, str] = {}
    paths: list[str] = []
    skipped: dict[str, int] = {}
    for entry in tree.split(b"\0"):
        if not entry:
            continue
        meta, _, raw_path = entry.partition(b"\t")
        mode, kind, sha = meta.decode().split(" ")
        path = raw_path.decode("utf-8", "replace")
        if len(paths) >= MAX_TREE_ENTRIES:
            skipped["tree over the cap"] = skipped.get("tree over the cap", 0) + 1
            continue
        paths.append(path)
        if kind != "blob" or mode == "120000":  # submodules and symbolic links: never read
            if mode == "120000":
                skipped["symbolic link"] = skipped.get("symbolic link", 0) + 1
            continue
        blobs[path] = sha
    missing = {
        line[1:].strip()
        for line in git.run("rev-list", "--objects", "--missing=print", "HEAD", cwd=repo)
        .decode()
        .splitlines()
        if line.startswith("?")
    }
    wanted = [p for p in select(list(blobs)) if p in blobs]
    present = []
    for path in wanted:
        if blobs[path] in missing:
            skipped["over the size cap"] = skipped.get("over the size cap", 0) + 1
        else:
            present.append(path)
    sizes = _sizes(git, repo, [blobs[p] for p in present])
    chosen: list[str] = []
    total = 0
    for path in present:
        size = sizes.get(blobs[path], MAX_BLOB_BYTES + 1)
        if size > MAX_BLOB_BYTES:
            skipped["over the size cap"] = skipped.get("over the size cap", 0) + 1
            continue
        if len(chosen) >= max_files or total + size > max_bytes:
            skipped["over the read budget"] = skipped.get("over the read budget", 0) + 1
            continue
        chosen.append(path)
        total += size
    files = _contents(git, repo, {p: blobs[p] for p in chosen})
    return Snapshot(commit, paths, files, skipped)


def _sizes(git: Git, repo: str, shas: list[str]) -> dict[str, int]:
    if not shas:
        return {}
    out = git.run("cat-file", "--batch-check", cwd=repo, input="\n".join(shas).encode() + b"\n")
    sizes = {}
    for line in out.decode().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] == "blob":
            sizes[parts[0]] = int(parts[2])
    return sizes


def _contents(git: Git, repo: str, chosen: dict[str, str]) -> dict[str, str]:
    if not chosen:
        return {}
    order = list(dict.fromkeys(chosen.values()))
    out = git.run("cat-file", "--batch", cwd=repo, input="\n".join(order).encode() + b"\n")
    by_sha: dict[str, str] = {}
    position = 0
    while position < len(out):
        newline = out.index(b"\n", position)
        header = out[position:newline].decode().split()
        position = newline + 1
        if len(header) != 3:
            continue
        size = int(header[2])
        by_sha[header[0]] = out[position : position + size].decode("utf-8", "replace")
        position += size + 1
    return {path: by_sha[sha] for path, sha in chosen.items() if sha in by_sha}
