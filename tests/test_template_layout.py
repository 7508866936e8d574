"""Templates wrap like the code does, so a diff of a message shows what changed."""

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "messages"
LIMIT = 120


def test_no_template_line_is_longer_than_120_characters():
    long = [
        f"{path.name}:{number}: {len(line)} characters"
        for path in sorted(TEMPLATES.glob("*.j2"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if len(line) > LIMIT
    ]
    assert long == [], "\n".join(long)
