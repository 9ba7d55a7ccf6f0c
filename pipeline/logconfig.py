"""Logging of bedflow's long-running processes (``bedflow serve``, ``bedflow worker``): text or JSON lines.

With ``BEDFLOW_LOG_JSON=1`` every record is one JSON object on one line (what log collectors such as
Railway's, Loki or CloudWatch parse), e.g.::

    {"time": "2026-11-29T06:01:02.345Z", "level": "INFO", "logger": "bedflow.runs", "message": "run 7: mesh done
     in 41.2 s", "process": 812, "process_name": "Worker-1", "run_id": 7, "stage": "mesh", "seconds": 41.2}

Fields given with ``extra={...}`` (``run_id``, ``stage``, ``worker``, ...) become keys; exceptions
become ``exc_type``/``exc``/``traceback``. Otherwise records are plain text lines. Both go to stderr.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime, timezone
from typing import Any, TextIO

#: Set to 1 (or true/yes/on) for JSON lines.
JSON_VARIABLE = "BEDFLOW_LOG_JSON"
TEXT_FORMAT = "%(asctime)s %(processName)s %(name)s %(levelname)s: %(message)s"

# Attributes every LogRecord has: anything else on a record came from ``extra=``.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def json_logs_enabled() -> bool:
    """Whether ``BEDFLOW_LOG_JSON`` asks for JSON lines."""
    return os.environ.get(JSON_VARIABLE, "").strip().lower() in ("1", "true", "yes", "on")


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines inside messages are escaped by JSON)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")
                    .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
            "process_name": record.processName,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry["exc_type"] = record.exc_info[0].__name__
            entry["exc"] = str(record.exc_info[1])
            entry["traceback"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["traceback"] = record.exc_text
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: int = logging.INFO, *, json_lines: bool | None = None,
                      stream: TextIO | None = None) -> None:
    """Send all logging (bedflow's, Huey's, Tornado's, Bokeh's) to ``stream`` (stderr) as text or, when
    ``json_lines`` (default: :func:`json_logs_enabled`), as JSON lines. Replaces earlier handlers, so
    calling it again switches the format."""
    json_lines = json_logs_enabled() if json_lines is None else json_lines
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # One line per HTTP request (every static file, every /health probe) only when debugging.
    logging.getLogger("tornado.access").setLevel(level if level <= logging.DEBUG else logging.WARNING)
    if json_lines:
        # Libraries that print through their own handlers would break the one-object-per-line promise.
        for name in ("bokeh", "tornado", "panel", "huey"):
            library = logging.getLogger(name)
            for old in list(library.handlers):
                library.removeHandler(old)
            library.propagate = True
    logging.captureWarnings(True)
