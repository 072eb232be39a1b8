"""One validation path for free text from users (chat messages, ticket messages, comments).

NUL and other control characters (except tab and newline) are removed and the text is stripped *before* the
length checks, so a message of spaces or NULs fails exactly like an empty one (422 invalid_input, "must not be
empty") both in the HTTP schemas and in ChatService (CLI, channels). PostgreSQL can't store NUL in text anyway.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_text(text: str) -> str:
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


def _clean(value: Any) -> Any:
    return clean_text(value) if isinstance(value, str) else value


# Annotate a str field with it, then add Field(min_length=..., max_length=...) as usual.
UserText = Annotated[str, BeforeValidator(_clean)]
