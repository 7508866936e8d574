# ruff: noqa: E402
"""Refreshing evidence for a large organisation: wall time and the worker's peak memory.

Builds `--teams` teams (default 1,000) in one workspace; each connects the one MLflow
tracking server (a real one, with `--teams` experiments, two recent runs each and a
registered model per ten teams) with its own experiment prefix, and one of `--repos`
repositories (default 200; teams share them, as teams of one organisation do) served by a
loopback `git daemon`. Then the worker's refresh runs as its own process (`mlops-bot
evidence refresh`, which reads every source whether due or not), and this script prints
progress every few seconds, the wall time, and the worker's peak resident memory
(VmHWM from /proc). Targets (docs/evidence.md): under 5 minutes and under 300 MB on a
2-core machine.

    .venv/bin/python benchmarks/evidence_refresh.py [--teams 1000] [--repos 200]
        [--concurrency 4] [--database-url postgresql+psycopg://...]

Seeding the MLflow server goes through its REST API and takes a minute or two; it is not
counted. The MLflow server comes from tests/evidence/mlflow_server.py (its own venv).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import Runtime
from bot.config import Settings
from bot.migrate import upgrade
from bot.models import utcnow
from bot.services import evidence
from bot.services import teams as team_service
from tests.conftest import free_port
from tests.evidence import mlflow_server, repos
from tests.evidence.conftest import GitServer, wait_for_port

WORKSPACE = "T0BENCH"


def seed_mlflow(server, teams: int) -> None:
    now_ms = int(utcnow().timestamp() * 1000)
    started = time.monotonic()

    def one(i: int) -> None:
        name = f"team{i:04d}-train"
        server.run(name, now_ms - 86_400_000 * (1 + i % 20))
        server.run(name, now_ms - 86_400_000 * (2 + i % 20))
        if i % 10 == 0:
            server.model(f"team{i:04d}-model", versions=1, alias="champion")

    with ThreadPoolExecutor(4) as pool:
        for done, _ in enumerate(pool.map(one, range(teams)), 1):
            if done % 100 == 0:
                print(f"  seeded {done}/{teams} experiments ({time.monotonic() - started:.0f} s)",
                      flush=True)  # fmt: skip


def build_repos(base: Path, count: int) -> list[str]:
    kinds = sorted(repos.REPOS)
    names = []
    for i in range(count):
        kind = kinds[i % len(kinds)]
        files = dict(repos.REPOS[kind])
        files[f"src/team_{i}.py"] = f"TEAM = {i}\n"  # every repository its own commit
        name = f"r{i:03d}-{kind}"
        repos.build(base, name, files)
        names.append(name)
    return names


def peak_rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teams", type=int, default=1000)
    parser.add_argument("--repos", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="evidence-bench-"))
    print(f"working in {work}", flush=True)
    print("starting MLflow ...", flush=True)
    mlflow = mlflow_server.start(work / "mlflow", free_port())
    daemon = None
    try:
        print(f"seeding {args.teams} experiments ...", flush=True)
        seed_mlflow(mlflow, args.teams)
        print(f"building {args.repos} repositories ...", flush=True)
        served = work / "git"
        served.mkdir()
        names = build_repos(served, args.repos)
        port = free_port()
        daemon = subprocess.Popen(
            ["git", "daemon", "--reuseaddr", "--export-all", "--listen=127.0.0.1",
             f"--port={port}", f"--base-path={served}", str(served)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(port, daemon)
        git_server = GitServer(served, port, work / "marker")

        database_url = args.database_url or f"sqlite:///{work / 'bot.db'}"
        upgrade(database_url)
        hosts = f"127.0.0.1:{mlflow.port},{git_server.host}"
        settings = Settings(
            slack_bot_token="xoxb-bench",
            slack_signing_secret="bench",
            database_url=database_url,
            evidence_allowed_hosts=frozenset(hosts.split(",")),
        )
        runtime = Runtime.from_settings(settings)
        now = utcnow() - timedelta(minutes=1)
        with runtime.session_factory.begin() as session:
            for i in range(args.teams):
                team = team_service.create_team(session, WORKSPACE, f"Team {i:04d}", "UOWNER")
                evidence.connect_source(
                    session, settings, team, "mlflow", mlflow.url,
                    {"experiments": f"team{i:04d}-", "models": f"team{i:04d}-"}, "UOWNER", now,
                )  # fmt: skip
                evidence.connect_source(
                    session, settings, team, "repo", git_server.url(names[i % len(names)]),
                    {}, "UOWNER", now,
                )  # fmt: skip
        runtime.engine.dispose()
        sources = 2 * args.teams
        print(f"{args.teams} teams, {sources} sources; refreshing ...", flush=True)

        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "EVIDENCE_ALLOWED_HOSTS": hosts,
            "LOG_LEVEL": "WARNING",
        }
        started = time.monotonic()
        worker = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "evidence", "refresh",
             "--concurrency", str(args.concurrency)],
            env=env, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        peak = [0]
        counts = {"read": 0, "unchanged": 0, "FAILED": 0}
        failures: list[str] = []
        done = [0]

        def watch() -> None:
            while worker.poll() is None:
                peak[0] = max(peak[0], peak_rss_kb(worker.pid))
                time.sleep(0.1)

        def report() -> None:
            while worker.poll() is None:
                time.sleep(5)
                print(
                    f"  {time.monotonic() - started:5.0f} s: {done[0]}/{sources} sources "
                    f"({counts['read']} read, {counts['FAILED']} failed), worker peak "
                    f"{peak[0] / 1024:.0f} MB",
                    flush=True,
                )

        threading.Thread(target=watch, daemon=True).start()
        threading.Thread(target=report, daemon=True).start()
        last = ""
        for line in worker.stdout:
            if line.startswith("["):
                done[0] += 1
                for key in counts:
                    if f": {key}" in line:
                        counts[key] += 1
                if "FAILED" in line and len(failures) < 5:
                    failures.append(line.strip())
            else:
                last = line.strip() or last
        worker.wait()
        wall = time.monotonic() - started
        print()
        print(f"worker: {last}")
        for failure in failures:
            print(f"  e.g. {failure}")
        print(f"wall time:        {wall:.1f} s  (target < 300 s)")
        print(f"worker peak RSS:  {peak[0] / 1024:.0f} MB  (target < 300 MB)")
        print(f"sources per s:    {sources / wall:.1f}")
        return 0 if worker.returncode == 0 else 1
    finally:
        if daemon is not None:
            daemon.terminate()
            daemon.wait(timeout=10)
        mlflow.stop()


if __name__ == "__main__":
    sys.exit(main())
