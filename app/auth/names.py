"""How identity values are compared: one function, no imports, usable from the settings."""

from __future__ import annotations

import unicodedata


def normalize(value: str) -> str:
    """NFKC + lowercase + stripped: `Ａna@X` and `ana@x` are the same person; ＩＴ-Agents is it-agents."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).lower()).strip()
