"""The pretend workspace the sandbox plays: a few people, a few channels, one bot.

One of the people is a workspace admin so permissions can be seen at work by switching
between her and the others. Everyone lives in UTC so that "next Monday 09:00" on the clock
control means the same moment for the digest and for every owner's nudge.
"""

from __future__ import annotations

from dataclasses import dataclass

TEAM_ID = "T0SANDBOX"
TEAM_NAME = "Sandbox Inc"
TEAM_DOMAIN = "sandbox"
BOT_USER_ID = "U0MLOPSBOT"
BOT_ID = "B0MLOPSBOT"
APP_ID = "A0MLOPSBOT"
TIMEZONE = "UTC"


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    real_name: str
    title: str
    is_admin: bool = False


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    topic: str


PEOPLE: tuple[Person, ...] = (
    Person("U0ADA", "ada", "Ada Lovelace", "platform lead, workspace admin", is_admin=True),
    Person("U0GRACE", "grace", "Grace Hopper", "Fraud ML lead"),
    Person("U0ALAN", "alan", "Alan Turing", "search lead"),
    Person("U0KATHERINE", "katherine", "Katherine Johnson", "data scientist"),
)

CHANNELS: tuple[Channel, ...] = (
    Channel("C0GENERAL", "general", "Company-wide announcements"),
    Channel("C0MLPLATFORM", "ml-platform", "MLOps platform: the weekly maturity digest lands here"),
    Channel("C0FRAUD", "fraud-ml", "Fraud detection models"),
    Channel("C0SEARCH", "search-ranking", "Search ranking and retrieval"),
    Channel("C0FORECAST", "forecasting", "Demand forecasting"),
)

DIGEST_CHANNEL = "C0MLPLATFORM"
