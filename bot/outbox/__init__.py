"""The outbox: every message the bot sends on its own is a `deliveries` row first.

Split by job:

- `kinds`: what is sent (`DeliveryKind`) and which kinds go first;
- `queue`: enqueueing (in the caller's transaction), claiming under a lease, and finishing
  only while the lease is still ours;
- `pacing`: token buckets that keep the senders just under Slack's limits;
- `sender`: the drain loop, the crash check before a re-post, and what each Slack answer
  means for the row (`slack_errors`).

The outbox knows nothing of what digests or nudges say: the worker builds the `Sender` with
a registry of kind -> renderer (`messages.outbox.renderers`), so nothing here imports the
services that enqueue rows.
"""

from bot.outbox.kinds import DeliveryKind
from bot.outbox.pacing import Pacer
from bot.outbox.queue import Claimed, claim, db_now, enqueue, enqueue_many, retry_key, summary
from bot.outbox.sender import (
    DrainResult,
    Rendered,
    Renderer,
    Renderers,
    Sender,
    Upload,
    one_by_one,
)

__all__ = [
    "Claimed",
    "DeliveryKind",
    "DrainResult",
    "Pacer",
    "Rendered",
    "Renderer",
    "Renderers",
    "Sender",
    "Upload",
    "claim",
    "db_now",
    "enqueue",
    "enqueue_many",
    "one_by_one",
    "retry_key",
    "summary",
]
