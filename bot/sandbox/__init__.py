"""The sandbox: the real bot, unchanged, talking real HTTP to a local stand-in for Slack.

Nobody should need a Slack workspace to see the bot work. `mlops-bot sandbox` (and
`mlops-bot run` without Slack credentials) starts the bot with signature checks on and a
generated signing secret, a SQLite database, the worker, the Web API stand-in of
`slack_api` and a web page that plays Slack's client: it posts Slack's own signed payloads
to the bot and shows what the bot sends back, rendered from Block Kit by `blockkit`.
"""
