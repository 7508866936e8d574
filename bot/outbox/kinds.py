"""What the outbox sends: one enum value per kind of message, and which go first."""

from __future__ import annotations

import enum


class DeliveryKind(enum.StrEnum):
    """The `deliveries.kind` column's values; each has one renderer, passed in at start-up."""

    LEVEL_CHANGE = "level_change"
    ALERT = "alert"
    DIGEST = "digest"
    NUDGE = "nudge"
    REMINDER = "reminder"
    PICTURE = "picture"  # a digest's trend picture, uploaded as a file after the digest
    PRODUCTION = "production"  # a team's move to production, announced like a level change


PRIORITY = {
    DeliveryKind.LEVEL_CHANGE: 0,
    DeliveryKind.PRODUCTION: 0,
    DeliveryKind.ALERT: 1,
    DeliveryKind.PICTURE: 10,
}
"""Announcements are the "within seconds" promise; digests and nudges may wait a moment;
a digest's picture follows its digest."""

LOWEST = 9
"""The rank of every kind not in PRIORITY."""


def rank(kind: str) -> int:
    """Where rows of `kind` go in a claim: lower first."""
    return PRIORITY.get(kind, LOWEST)
