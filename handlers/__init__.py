"""Slack listeners, one module per surface; each module has `register(app)`."""

from slack_bolt import App

from bot.config import Settings


def register(app: App, settings: Settings) -> None:
    from handlers import (
        assess,
        commands,
        direct,
        events,
        evidence,
        export,
        maturity,
        reminders,
        report,
        teams,
    )

    commands.register(app, settings)
    events.register(app, settings)
    assess.register(app, settings)
    teams.register(app, settings)
    reminders.register(app, settings)
    export.register(app, settings)
    evidence.register(app, settings)
    report.register(app, settings)
    direct.register(app, settings)
    maturity.register(app, settings)
