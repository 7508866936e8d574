# ruff: noqa: E402
"""How long the pictures take to render, and the memory they need at their peak.

Renders the heatmap for `--teams` teams (500 by default: pages of 50, so ten PNGs) and the
trend for `--weeks` weeks (26), each `--repeat` times after one warm-up, in this process,
from made-up but realistic data (every answer kind, some evidence marks, hostile names).

    .venv/bin/python benchmarks/pictures.py [--teams 500] [--weeks 26] [--repeat 5]

It prints the median and slowest wall time per picture set, the median CPU time (the
fairer figure on a machine shared with other work), the bytes written, and the
peak Python allocation during one render (tracemalloc: matplotlib's and numpy's arrays are
counted, the interpreter itself is not) with the process's peak resident size (ru_maxrss)
at the end. The target is under one second each on the project's 2-core machine.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.domain import DEFAULT_CHECKLIST
from bot.pictures import HeatmapRow, TrendWeek, render_heatmap, render_trend

HOSTILE = ["<b>Fraud</b> *ML*", "$x^2$ pricing", "Recs 🚀🔥", "צוות המלצות", "W" * 80]


def heatmap_rows(count: int) -> list[HeatmapRow]:
    rng = random.Random(7)
    answers = ["yes", "partly", "no", "not_sure", None]
    rows = []
    for index in range(count):
        name = HOSTILE[index] if index < len(HOSTILE) else f"Team {index:04d}"
        given = {cap: a for cap in DEFAULT_CHECKLIST.ids if (a := rng.choice(answers))}
        evidence = {
            cap: rng.choice(["verified", "contradiction"]) for cap in given if rng.random() < 0.1
        }
        rows.append(HeatmapRow(name, rng.choice([0, 1, 2, None]), given, evidence))
    return rows


def trend_weeks(count: int) -> list[TrendWeek]:
    start = date(2026, 6, 1)
    return [
        TrendWeek(start + timedelta(weeks=i), {0: 300 - 5 * i, 1: 150 + 3 * i, 2: 20 + 2 * i})
        for i in range(count)
    ]


def measure(name: str, render, repeat: int) -> None:
    render()  # warm-up: fonts and caches
    times, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        out = render()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    tracemalloc.start()
    render()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    size = sum(len(p) for p in out)
    print(
        f"{name:<22} wall median {statistics.median(times):6.3f} s, slowest {max(times):6.3f} s; "
        f"CPU median {statistics.median(cpu):6.3f} s; "
        f"{len(out)} file(s), {size / 1024:,.0f} KiB   peak traced {peak / 2**20:6.1f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=500)
    parser.add_argument("--weeks", type=int, default=26)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rows = heatmap_rows(args.teams)
    weeks = trend_weeks(args.weeks)
    measure(
        f"heatmap, {args.teams} teams",
        lambda: [page.picture.data for page in render_heatmap(rows)],
        args.repeat,
    )
    measure(f"trend, {args.weeks} weeks", lambda: [render_trend(weeks).data], args.repeat)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak resident size {rss:,.0f} MiB")


if __name__ == "__main__":
    main()
