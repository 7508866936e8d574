"""Drive `mlops-bot web` as its own process over raw HTTP, as a stranger on the internet
would: oversized and chunked bodies, stalled requests, and the process's peak memory.

Shared by tests/test_public_port.py and benchmarks/body_limit.py.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

MB = 1024 * 1024


def tree(pid: int) -> list[int]:
    """`pid` and all its descendants (gunicorn's master and its workers), from /proc."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                queue.extend(int(child) for child in task.read_text().split())
    return found


def peak_kb(pid: int) -> dict[int, int]:
    """VmHWM (peak resident memory, kB) of each process in `pid`'s tree."""
    peaks = {}
    for member in tree(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks[member] = int(line.split()[1])
    return peaks


def rise_kb(before: dict[int, int], after: dict[int, int]) -> int:
    """How far the peaks rose, summed over the processes (a new process counts whole)."""
    return sum(max(0, peak - before.get(pid, 0)) for pid, peak in after.items())


@dataclass
class Answer:
    status: int | None
    seconds: float
    sent: int


def send_body(
    host: str, port: int, size: int, *, chunked: bool, path: str = "/slack/events"
) -> Answer:
    """POST `size` bytes with a bogus signature, declared or chunked, and read the answer
    while still sending (a server that answers early must not wait for the rest)."""
    sock = socket.create_connection((host, port), timeout=120)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"X-Slack-Request-Timestamp: {int(time.time())}\r\nX-Slack-Signature: v0=00\r\n"
        + ("Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {size}\r\n")
        + "\r\n"
    )
    sent = [0]

    def pump() -> None:
        block = b"a" * 65536
        try:
            sock.sendall(head.encode())
            while sent[0] < size:
                data = block[: min(len(block), size - sent[0])]
                sock.sendall(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
                sent[0] += len(data)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:  # the server answered and closed: what we hope for
            pass

    started = time.monotonic()
    sender = threading.Thread(target=pump, daemon=True)
    sender.start()
    received = b""
    try:
        while b"\r\n" not in received:
            part = sock.recv(4096)
            if not part:
                break
            received += part
    except OSError:
        pass
    seconds = time.monotonic() - started
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
    sender.join(timeout=30)
    line = received.split(b"\r\n", 1)[0].split()
    status = int(line[1]) if len(line) > 1 and line[1].isdigit() else None
    return Answer(status, seconds, sent[0])


def open_stalled(host: str, port: int, *, body: bool) -> socket.socket:
    """A connection that sends its headers (and promises a body, or not even all headers)
    and then nothing."""
    sock = socket.create_connection((host, port), timeout=120)
    if body:
        sock.sendall(
            f"POST /slack/events HTTP/1.1\r\nHost: {host}\r\nContent-Length: 100\r\n\r\n".encode()
        )
    else:
        sock.sendall(f"POST /slack/events HTTP/1.1\r\nHost: {host}\r\n".encode())
    return sock


def wait_closed(sock: socket.socket, limit: float) -> tuple[float, bytes]:
    """Seconds until the server closes `sock` (what it sent before), or the limit."""
    started = time.monotonic()
    received = b""
    sock.settimeout(0.5)
    while time.monotonic() - started < limit:
        try:
            part = sock.recv(4096)
        except TimeoutError:
            continue
        except OSError:
            break
        if not part:
            break
        received += part
    return time.monotonic() - started, received


class WebProcess:
    """`mlops-bot web` (one waitress process, or gunicorn with `workers` > 1) on loopback."""

    def __init__(
        self,
        env: dict[str, str],
        port: int,
        workdir: Path,
        *,
        workers: int = 1,
        threads: int = 4,
        python: str = sys.executable,
    ):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = workdir / f"web-{port}.log"
        command = [python, "-m", "bot.cli", "web", "--host", "127.0.0.1", "--port", str(port)]
        if workers > 1:
            command += ["--workers", str(workers), "--threads", str(threads)]
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            command,
            env={**os.environ, **env},
            cwd=workdir,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, workers: int = 1, timeout: float = 60) -> WebProcess:
        """Until /healthz answers and all `workers` processes have started."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"web exited: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                    sock.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
                    if b" 200 " in sock.recv(1024) and len(tree(self.process.pid)) > (
                        workers if workers > 1 else 0
                    ):
                        return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"web did not start: {self.log()}")

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()
