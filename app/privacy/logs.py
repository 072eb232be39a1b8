"""A logging filter that masks personal data in every record a handler writes (app/privacy/mask.py)."""

from __future__ import annotations

import logging

from app.privacy.mask import mask_text

LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access")


class MaskingFilter(logging.Filter):
    """Formats the record's message once, masks it and drops the arguments (so handlers print the masked text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):  # its formatter unpacks the args
            record.args = tuple(mask_text(a) if isinstance(a, str) else a for a in record.args)
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return True
        record.msg, record.args = mask_text(message), None
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        return True


def install_log_masking() -> None:
    """Add the filter to the handlers of the root and uvicorn loggers (idempotent)."""
    for name in LOGGERS:
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, MaskingFilter) for f in handler.filters):
                handler.addFilter(MaskingFilter())
