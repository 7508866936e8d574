"""What counts in a repository (bot.evidence.detectors), on file texts: no git, no network.

The same files make the real repositories of tests/evidence/test_git.py.
"""

from __future__ import annotations

import time

import pytest

from bot.domain.evidence import Strength
from bot.evidence import detectors
from tests.evidence import repos


def strongest(files: dict[str, str], capability: str) -> Strength:
    texts = {p: t for p, t in files.items() if isinstance(t, str)}
    signals = [s for s in detectors.detect(list(files), texts) if s.capability_id == capability]
    if not signals:
        return Strength.NONE
    return min(signals, key=lambda s: ("strong", "weak").index(s.strength)).strength


@pytest.mark.parametrize(("name", "capability", "expected"), repos.EXPECTED)
def test_each_repository_shows_what_it_should(name, capability, expected):
    assert strongest(repos.REPOS[name], capability) == expected


def test_select_reads_ci_and_dvc_first_and_skips_what_never_counts():
    paths = [
        "README.md",
        "src/util.py",
        "train/train.py",
        "examples/drift_demo.py",
        "notebooks/explore.ipynb",
        ".github/workflows/ci.yml",
        ".dvc/config",
        "data.csv.dvc",
        "model.pkl",
        "demo-app/serve.py",
        "services/fraud/k8s.yaml",
    ]
    chosen = detectors.select(paths)
    assert chosen[:2] == [".dvc/config", ".github/workflows/ci.yml"]
    assert "examples/drift_demo.py" not in chosen and "demo-app/serve.py" not in chosen
    assert "model.pkl" not in chosen and "README.md" not in chosen
    assert chosen.index("train/train.py") < chosen.index("src/util.py")
    scoped = detectors.select(paths, "services/fraud")
    assert scoped == [".dvc/config", ".github/workflows/ci.yml", "services/fraud/k8s.yaml"]


def test_a_yaml_bomb_is_bounded():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)},"
        f" *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(9)
    )
    started = time.monotonic()
    detectors.detect(["k8s/bomb.yaml"], {"k8s/bomb.yaml": bomb, ".github/workflows/b.yml": bomb})
    assert time.monotonic() - started < 2


def test_unparseable_files_are_skipped():
    files = {"train.py": "def broken(:\n", "ci.yaml": "{{{", ".github/workflows/x.yml": ": :"}
    assert detectors.detect(list(files), files) == []
