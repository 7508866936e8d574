"""Errors a person can act on. The app's one error handler shows their message as an
ephemeral reply; anything else is logged with a reference the person can quote."""


class UserError(Exception):
    """Bad input or a refused action: the message is friendly, complete and safe to show."""


class NotFound(UserError):
    """Something the person named does not exist (a team, an assessment)."""


class Forbidden(UserError):
    """The person may not do this; the message says who can."""
