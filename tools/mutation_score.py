"""Print the mutation score per module from mutmut's results (after `make mutate`).

The score is killed / (killed + survived + no tests): a mutant that no test runs is a
surviving mistake too. Timeouts count as killed (the mutant made a test hang), as mutmut does;
"unchecked" mutants (outside `MUTANTS`, or a run stopped early) are left out of the score.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code


def main(root: Path = Path("mutants")) -> int:
    metas = sorted(root.rglob("*.py.meta"))
    if not metas:
        print("no mutmut results: run `make mutate` first", file=sys.stderr)
        return 1
    total: Counter[str] = Counter()
    print(
        f"{'module':<32}{'mutants':>8}{'killed':>8}{'survived':>9}{'no tests':>9}"
        f"{'unchecked':>10}{'score':>8}"
    )
    for meta in metas:
        codes = json.loads(meta.read_text()).get("exit_code_by_key", {})
        counts = Counter(status_by_exit_code[code] for code in codes.values())
        if not codes or counts["not checked"] == len(codes):
            continue
        counts["killed"] += counts.pop("timeout", 0)
        total.update(counts)
        print(_row(str(meta.relative_to(root))[: -len(".meta")], counts))
    print(_row("all", total))
    return 0


def _row(name: str, counts: Counter[str]) -> str:
    judged = counts["killed"] + counts["survived"] + counts["no tests"]
    score = f"{100 * counts['killed'] / judged:.0f}%" if judged else "-"
    return (
        f"{name:<32}{sum(counts.values()):>8}{counts['killed']:>8}{counts['survived']:>9}"
        f"{counts['no tests']:>9}{counts['not checked']:>10}{score:>8}"
    )


if __name__ == "__main__":
    sys.exit(main())
