"""Reading a team's tools for evidence: allowed hosts, MLflow's REST API, Git repositories.

Everything here runs in the worker (or `mlops-bot evidence refresh`), never in the web
process: the web process only records a request (bot.services.evidence.request_refresh).
The rules that turn what was read into evidence states are in bot.domain.evidence.
"""


class SourceError(Exception):
    """A source could not be read; the message is safe to show (one line, no secret)."""
