"""SLA due times in business hours."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from app.config import Settings


@dataclass(frozen=True)
class BusinessCalendar:
    timezone: str = "Europe/Dublin"
    start_hour: int = 9
    end_hour: int = 18
    days: tuple[int, ...] = (0, 1, 2, 3, 4)

    @classmethod
    def from_settings(cls, s: Settings) -> BusinessCalendar:
        return cls(s.business_timezone, s.business_start_hour, s.business_end_hour, tuple(s.business_days))

    def add(self, start: dt.datetime, hours: float) -> dt.datetime:
        """The moment `hours` business hours after `start` (an aware datetime); returned in UTC."""
        tz = ZoneInfo(self.timezone)
        t = start.astimezone(tz)
        remaining = dt.timedelta(hours=hours)
        for _ in range(3660):  # at most ten years of days
            day_start = t.replace(hour=self.start_hour, minute=0, second=0, microsecond=0)
            day_end = (t.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(hours=self.end_hour))
            if t.weekday() in self.days and t < day_end:
                t = max(t, day_start)
                available = day_end - t
                if remaining <= available:
                    return (t + remaining).astimezone(dt.UTC)
                remaining -= available
            next_day = (t + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
            t = next_day.replace(tzinfo=tz)
        raise ValueError("business calendar has no working hours")


def sla_hours(settings: Settings, queue: str, priority: str) -> tuple[float, float]:
    return settings.sla_overrides.get(queue, {}).get(priority) or settings.sla_hours[priority]
