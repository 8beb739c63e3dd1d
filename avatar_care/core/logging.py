"""Logging with secrets redacted: no token, key or password reaches a log line.

The pages keep tokens out of URLs (WebSocket first messages, link fragments), but a URL is what a
client chooses to send: an old link or a hostile one can still put ``?token=…`` in the query, and
uvicorn's access log writes every request's path with its query. :class:`Redact` rewrites, on every
handler, the values of query parameters and headers that carry credentials, and bearer tokens
anywhere in a message, before a line is written. ``log_config`` is uvicorn's own logging setup with
the filter on each of its handlers and on the root's.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any, Final

#: Query parameters whose values are credentials (also matched as ``x_api_key`` and the like).
SECRET_PARAMS: Final = ("token", "key", "password", "secret", "code", "state", "session", "auth")
_PARAM = re.compile(
    r"(?P<name>[?&;](?:[\w.-]*?)(?:" + "|".join(SECRET_PARAMS) + r")[\w.-]*=)(?P<value>[^&#\s\"']+)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<name>\bbearer\s+)(?P<value>[\w.~+/=-]+)", re.IGNORECASE)
_HEADER = re.compile(r"(?P<name>\b(?:x-api-key|authorization)\s*[:=]\s*)(?P<value>\S+)", re.IGNORECASE)
REDACTED: Final = "[redacted]"


def redact(text: str) -> str:
    """``text`` with the credential values it carries replaced by ``[redacted]``."""
    for pattern in (_PARAM, _BEARER, _HEADER):
        text = pattern.sub(lambda m: m.group("name") + REDACTED, text)
    return text


class Redact(logging.Filter):
    """Redacts a record in place (so every handler after it writes the redacted form)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            # uvicorn's access formatter reads its fields from args: redact the path among them
            args = list(record.args)
            args[2] = redact(str(args[2]))
            record.args = tuple(args)
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        cleaned = redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, ()
        return True


def log_config(level: str = "info") -> dict[str, Any]:
    """uvicorn's logging configuration with :class:`Redact` on every handler (the root's too)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact"] = {"()": Redact}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact")
    config["handlers"]["root"] = {
        "formatter": "default",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
        "filters": ["redact"],
    }
    config["root"] = {"handlers": ["root"], "level": level.upper()}
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        config["loggers"].setdefault(name, {})["level"] = level.upper()
    return config
