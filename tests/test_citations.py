"""What the code, templates and docs cite must be in the repository.

A newcomer follows "see docs/architecture.md" or "(ARCHITECTURE.md, "The outbox")" to learn
why something is so; a citation of a file that was never committed, or of a path outside
the repository (../shared/...), leads nowhere. This test fails on both.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOP = ("bot", "handlers", "messages", "migrations", "tests", "benchmarks", "docs")
SOURCES = [
    ROOT / "README.md",
    ROOT / "Makefile",
    ROOT / "pyproject.toml",
    *sorted((ROOT / "docs").rglob("*.md")),
    *(
        path
        for top in TOP
        for path in sorted((ROOT / top).rglob("*.py"))
        if path != Path(__file__).resolve()  # its examples of broken citations
    ),
    *sorted((ROOT / "messages").glob("*.j2")),
    *sorted((ROOT / "bot" / "sandbox" / "static").glob("*")),
]
REPO_PATH = re.compile(rf"(?<![\w./-])((?:{'|'.join(TOP)})/[\w./-]*[\w/])")
"""`bot/outbox`, `docs/decisions/`, `tests/conftest.py`: a path from the repository root."""
BARE_DOC = re.compile(r"(?<![\w./-])([\w-]+\.md)\b")
"""`ARCHITECTURE.md`: a document named without a directory, beside the citing file, at the
root or in docs/."""
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
OUTSIDE = re.compile(r"\.\./(?:\.\./)*shared/")


def _exists(path: Path) -> bool:
    """A file or directory, or a module cited without `.py` (`bot/outbox` either way)."""
    return path.exists() or path.with_name(path.name + ".py").exists()


def broken_citations(source: Path, text: str) -> list[str]:
    """What `text`, the content of `source`, cites that is not in the repository."""
    where = source.relative_to(ROOT)
    broken = [f"{where}: cites {m.group(0)}..." for m in OUTSIDE.finditer(text)]
    for match in REPO_PATH.finditer(text):
        cited = match.group(1).rstrip(".")
        if len(cited.rstrip("/").rsplit("/", 1)[1]) == 1:
            continue  # a rate such as messages/s, not a path
        if not _exists(ROOT / cited):
            broken.append(f"{where}: cites {cited}, which is not in the repository")
    for match in BARE_DOC.finditer(text):
        name = match.group(1)
        if not any(_exists(folder / name) for folder in (source.parent, ROOT, ROOT / "docs")):
            broken.append(f"{where}: cites {name}, which is not in the repository")
    if source.suffix == ".md":
        for match in MARKDOWN_LINK.finditer(text):
            target = match.group(1).split("#", 1)[0]
            if target and not re.match(r"[a-z]+:", target) and not _exists(source.parent / target):
                broken.append(f"{where}: links to {target}, which is not in the repository")
    return broken


def test_every_cited_file_is_in_the_repository():
    broken = [
        line
        for source in SOURCES
        if source.is_file()
        for line in broken_citations(source, source.read_text(encoding="utf-8"))
    ]
    assert broken == [], "\n".join(broken)


def test_the_check_finds_a_missing_file_and_a_path_outside():
    """The check above can fail: a made-up citation of each kind is caught."""
    text = "See bot/nowhere.py, ARCHITECTURE.md, ../shared/docs/x.md and [x](gone.md); bot/app."
    found = "\n".join(broken_citations(ROOT / "docs" / "architecture.md", text))
    assert "bot/nowhere.py" in found
    assert "ARCHITECTURE.md" in found
    assert "../shared/" in found
    assert "gone.md" in found
    assert "bot/app" not in found.replace("bot/nowhere", "")  # a module cited without .py
