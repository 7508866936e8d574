"""The outbox stands alone: it imports no service, handler or template, lazily or not.

Renderers reach the sender at start-up (`messages.outbox.renderers`), so the services that
enqueue rows can import the outbox without an import cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import bot.outbox
from bot.outbox import DeliveryKind
from messages.outbox import renderers

OUTBOX = Path(bot.outbox.__file__).parent
SERVICES = Path(bot.outbox.__file__).parents[1] / "services"


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):  # every import, top level or nested
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_outbox_imports_no_service_handler_or_template():
    for path in OUTBOX.glob("*.py"):
        outward = {
            name
            for name in _imports(path)
            if name.startswith(("bot.services", "handlers", "messages"))
        }
        assert not outward, f"{path.name} imports {outward}"


def test_services_build_no_block_kit():
    for path in SERVICES.glob("*.py"):
        assert "messages" not in _imports(path), f"{path.name} renders messages"


def test_every_delivery_kind_has_a_renderer():
    assert set(renderers()) == set(DeliveryKind)
