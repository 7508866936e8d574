"""`mlops-bot web --workers N`: several web processes under gunicorn's threaded workers.

One waitress process serves a workspace of hundreds of teams; beyond one core, gunicorn
forks N workers that each build their own app and engine after the fork (no connection is
ever shared across processes) and run `threads` requests at once. PostgreSQL is needed
then: SQLite's single writer would make the processes wait on each other.
"""

from __future__ import annotations

from gunicorn.app.base import BaseApplication

from bot.config import Settings


class GunicornServer(BaseApplication):
    """gunicorn configured in code, so the Procfile needs only `mlops-bot web`."""

    def __init__(self, settings: Settings, host: str, port: int, workers: int, threads: int):
        self.settings = settings
        self.options = {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "timeout": 30,
            "graceful_timeout": 10,
            "accesslog": None,  # one structured line per request comes from the app itself
            "proc_name": "mlops-bot-web",
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        """Runs in each worker after the fork: a fresh engine and app per process."""
        from bot.app import Runtime, create_app
        from bot.web import WebApp

        runtime = Runtime.from_settings(self.settings)
        return WebApp(create_app(self.settings, runtime), runtime)
