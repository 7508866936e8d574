"""Action, block and callback ids in one place, used by templates and registrations alike,
so the two can never drift apart."""

from enum import StrEnum


class Action(StrEnum):
    pass


class Block(StrEnum):
    HELP = "help"
    HELP_UNKNOWN = "help_unknown"


class Callback(StrEnum):
    pass
