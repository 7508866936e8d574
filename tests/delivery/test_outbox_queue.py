"""The outbox's queue on its own, in-process: which keys `enqueue_many` adds, and what the
operator's tools (`mlops-bot outbox`, `mlops-bot outbox retry KEY`) report and change.

The command line itself is tested through a real process in test_outbox.py; here the rules
behind it run in the test's own process, where a mistake in them makes a test fail (and
mutation testing can see it).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.models import Delivery, DeliveryState, utcnow
from bot.outbox import DeliveryKind, enqueue, enqueue_many, retry_key, summary
from bot.services import workspaces
from tests.delivery.conftest import WS


def rows(bot) -> dict[str, Delivery]:
    with bot.runtime.session_factory() as session:
        return {d.idempotency_key: d for d in session.scalars(select(Delivery))}


def test_enqueue_many_adds_each_new_key_once_and_says_which_were_new(bot):
    before = utcnow()
    with bot.runtime.session_factory.begin() as session:
        workspaces.ensure(session, WS)
        enqueue(session, workspace_id=WS, key="n1", kind=DeliveryKind.NUDGE, channel_id="U1")
        items = [
            {"key": f"n{n}", "kind": DeliveryKind.NUDGE, "channel_id": f"U{n}", "payload": {"n": n}}
            for n in (2, 3, 1, 4, 5)
        ] + [{"key": "n5", "kind": DeliveryKind.NUDGE, "channel_id": "U9"}]  # twice in one call
        added = enqueue_many(session, WS, items, chunk=2)  # three statements of two, and one
    assert added == {"n2", "n3", "n4", "n5"}
    stored = rows(bot)
    assert set(stored) == {"n1", "n2", "n3", "n4", "n5"}
    assert stored["n1"].payload == {}  # the earlier row is left as it was
    for n in range(2, 6):
        row = stored[f"n{n}"]
        assert (row.workspace_id, row.kind, row.channel_id, row.payload) == (
            WS,
            "nudge",
            f"U{n}",
            {"n": n},
        )
        assert (row.state, row.attempts, row.lease_owner) == (DeliveryState.PENDING, 0, None)
        assert row.available_at <= utcnow() and row.created_at >= before - timedelta(seconds=1)


@pytest.fixture
def queue(bot) -> None:
    """One row in every state an operator meets, the failures oldest first."""
    now = utcnow()
    states = {
        "waiting": dict(state=DeliveryState.PENDING),
        "in-flight": dict(
            state=DeliveryState.SENDING, lease_owner="w1", lease_until=now + timedelta(minutes=1)
        ),
        "done": dict(state=DeliveryState.SENT, sent_at=now.replace(hour=9, minute=5)),
        "gave-up": dict(state=DeliveryState.DEAD, attempts=5, last_error="HTTP 500"),
        "archived": dict(state=DeliveryState.FAILED, attempts=1, last_error="is_archived"),
        "nobody-left": dict(state=DeliveryState.CANCELLED, last_error="the team is gone"),
    }
    with bot.runtime.session_factory.begin() as session:
        workspaces.ensure(session, WS)
        for key in states:
            enqueue(session, workspace_id=WS, key=key, kind=DeliveryKind.DIGEST, channel_id="C1")
        for row in session.scalars(select(Delivery)):
            for name, value in states[row.idempotency_key].items():
                setattr(row, name, value)


def test_an_empty_outbox_shows_every_state_at_zero(bot):
    with bot.runtime.session_factory() as session:
        assert summary(session) == ({state.value: 0 for state in DeliveryState}, [])


def test_the_outbox_summary_counts_every_state_and_lists_failures_newest_first(bot, queue):
    with bot.runtime.session_factory() as session:
        counts, failures = summary(session)
        assert counts == {state.value: 1 for state in DeliveryState}
        assert [row.idempotency_key for row in failures] == ["archived", "gave-up"]
        counts, failures = summary(session, failures=1)
        assert [row.idempotency_key for row in failures] == ["archived"]


def test_retry_sends_a_failed_row_again_at_once_and_keeps_why_it_failed(bot, queue):
    with bot.runtime.session_factory.begin() as session:
        said = retry_key(session, "archived")
    assert said == "archived: failed -> pending; the worker sends it within seconds"
    row = rows(bot)["archived"]
    assert (row.state, row.attempts, row.lease_owner, row.lease_until) == (
        DeliveryState.PENDING,
        0,
        None,
        None,
    )
    assert row.available_at <= utcnow()
    assert row.last_error == "retried by an operator (was failed: is_archived)"
    for key, was in (("gave-up", "dead"), ("nobody-left", "cancelled")):
        with bot.runtime.session_factory.begin() as session:
            assert retry_key(session, key).startswith(f"{key}: {was} -> pending")
        assert rows(bot)[key].state == DeliveryState.PENDING


def test_retry_refuses_what_was_sent_what_is_being_sent_and_what_does_not_exist(bot, queue):
    before = rows(bot)
    with bot.runtime.session_factory() as session:
        with pytest.raises(
            ValueError, match=r"^done was already sent at \d{4}-\d\d-\d\d 09:05 UTC$"
        ):
            retry_key(session, "done")
        with pytest.raises(ValueError, match=r"^in-flight is being sent right now \(lease until "):
            retry_key(session, "in-flight")
        with pytest.raises(LookupError, match="^no delivery with key 'nope'$"):
            retry_key(session, "nope")
        session.commit()
    after = rows(bot)
    for key in ("done", "in-flight"):  # nothing changed
        assert (after[key].state, after[key].attempts, after[key].lease_owner) == (
            before[key].state,
            before[key].attempts,
            before[key].lease_owner,
        )
