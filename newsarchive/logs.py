"""Logging helpers shared by the apps."""

import logging
import threading
import time

_last: dict[str, float] = {}
_lock = threading.Lock()


def warn_now_and_then(logger: logging.Logger, message: str, *, every: float = 60.0) -> None:
    """Log `message` (with the exception being handled) at most once per `every` seconds in this
    process: a dependency that is down fails every request, and a traceback per request would
    bury the log and cost more than the request itself."""
    now = time.monotonic()
    with _lock:
        last = _last.get(message)
        if last is not None and now - last < every:
            return
        _last[message] = now
    logger.warning(message, exc_info=True)


def forget() -> None:
    """Log every message again next time (tests)."""
    with _lock:
        _last.clear()
