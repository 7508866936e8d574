"""Errors a person can act on. The app's one error handler shows their message as an
ephemeral reply; anything else is logged with a reference the person can quote."""

COMMAND = "{slash_command}"
"""Stands for the slash command in an error's text. Services raise errors without knowing
what the workspace called the command (SLASH_COMMAND); `UserError.text_for` puts in the
configured name where the error is shown to the person."""


class UserError(Exception):
    """Bad input or a refused action: the message is friendly, complete and safe to show."""

    def text_for(self, command: str) -> str:
        """The message as the person reads it, naming the command as it is configured."""
        return str(self).replace(COMMAND, command)


class NotFound(UserError):
    """Something the person named does not exist (a team, an assessment)."""


class Forbidden(UserError):
    """The person may not do this; the message says who can."""
