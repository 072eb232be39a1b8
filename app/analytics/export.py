"""CSV export of one analytics section (only that section is computed)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from typing import Any, Literal

from sqlalchemy.orm import Session

from app.analytics import service
from app.analytics.data import Dataset, load
from app.analytics.gaps import content_gaps
from app.analytics.similarity import QuestionEncoder
from app.config import Settings

Section = Literal["outcomes", "channels", "conversations_per_day", "escalation_by_queue", "sla", "negative_feedback",
                  "content_gaps"]
SECTIONS: tuple[str, ...] = Section.__args__  # type: ignore[attr-defined]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _outcomes(ds: Dataset, settings: Settings, encoder: QuestionEncoder, groups: set[str] | None
              ) -> list[dict[str, Any]]:
    return [{"outcome": k, "count": v} for k, v in service.outcomes(ds).items()]


def _sla(ds: Dataset, settings: Settings, encoder: QuestionEncoder, groups: set[str] | None
         ) -> list[dict[str, Any]]:
    rows = []
    for r in service.sla(ds):
        row: dict[str, Any] = {"queue": r["queue"], "tickets": r["tickets"]}
        for part in ("first_response", "resolution"):
            row |= {f"{part}_{k}": v for k, v in r[part].items()}
        rows.append(row)
    return rows


def _gaps(ds: Dataset, settings: Settings, encoder: QuestionEncoder, groups: set[str] | None
          ) -> list[dict[str, Any]]:
    return [g.as_dict() | {"examples": " | ".join(g.questions), "languages": " ".join(g.languages)}
            for g in content_gaps(ds, settings, encoder)]


_Rows = Callable[[Dataset, Settings, QuestionEncoder, set[str] | None], list[dict[str, Any]]]
_ROWS: dict[str, _Rows] = {
    "outcomes": _outcomes,
    "channels": lambda ds, settings, encoder, groups: service.by_channel(ds),
    "conversations_per_day": lambda ds, settings, encoder, groups: service.conversations_per_day(ds),
    "escalation_by_queue": lambda ds, settings, encoder, groups: service.escalation_by_queue(ds, settings),
    "sla": _sla,
    "negative_feedback": lambda ds, settings, encoder, groups: service.negative_feedback(ds, groups),
    "content_gaps": _gaps,
}
_HEADERS = {
    "outcomes": ["outcome", "count"],
    "channels": ["channel", "conversations", "questions", "answered", "escalated", "tickets", "answered_share"],
    "conversations_per_day": ["date", "conversations", "questions"],
    "escalation_by_queue": ["queue", "name", "tickets", "share_of_questions"],
    "sla": ["queue", "tickets"] + [f"{p}_{k}" for p in ("first_response", "resolution")
                                   for k in ("met", "breached", "open", "median_hours")],
    "negative_feedback": ["message_id", "created_at", "language", "question", "answer", "comment"],
    "content_gaps": ["id", "label", "count", "queue", "languages", "examples"],
}


def _cell(value: Any) -> Any:
    """Empty for None; text that a spreadsheet would run as a formula is prefixed with a quote."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def section_csv(session: Session, settings: Settings, encoder: QuestionEncoder, section: str, days: int = 30,
                now: dt.datetime | None = None, groups: set[str] | None = None) -> tuple[str, str]:
    """(filename, CSV text) of one section of the period, for a reader in `groups` (restricted answers hidden).
    `section` must be one of SECTIONS."""
    if section not in _ROWS:
        raise ValueError(f"unknown section {section!r}; one of {', '.join(SECTIONS)}")
    ds = load(session, days, now)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_HEADERS[section], extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for row in _ROWS[section](ds, settings, encoder, groups):
        writer.writerow({k: _cell(v) for k, v in row.items()})
    period = ds.period.as_dict()
    return f"ayuda-{section.replace('_', '-')}-{period['from']}-{period['to']}.csv", out.getvalue()
