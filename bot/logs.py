"""Log formatting that any process may load first: nothing here imports prometheus_client.

Under gunicorn, prometheus-client must be imported only after PROMETHEUS_MULTIPROC_DIR is
set; `LOG_FORMAT=json` is configured before that, so the formatter lives apart from
bot.observability.
"""

from __future__ import annotations

import json
import logging
from typing import Any


class JsonFormatter(logging.Formatter):
    """One JSON object per line: the message plus the `extra` fields a log call passed."""

    _standard = set(vars(logging.makeLogRecord({})))

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in self._standard and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        elif record.exc_text:  # already formatted (and redacted) by bot.redaction
            entry["error"] = record.exc_text
        return json.dumps(entry, default=str)
