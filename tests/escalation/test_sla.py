import datetime as dt

import pytest

from app.config import Settings
from app.escalation.sla import BusinessCalendar, sla_hours

UTC = dt.UTC


@pytest.mark.parametrize("start,hours,due", [
    (dt.datetime(2026, 11, 23, 10, 0, tzinfo=UTC), 4, dt.datetime(2026, 11, 23, 14, 0, tzinfo=UTC)),  # Monday
    (dt.datetime(2026, 11, 27, 16, 0, tzinfo=UTC), 4, dt.datetime(2026, 11, 30, 11, 0, tzinfo=UTC)),  # Fri → Mon
    (dt.datetime(2026, 11, 28, 12, 0, tzinfo=UTC), 1, dt.datetime(2026, 11, 30, 10, 0, tzinfo=UTC)),  # Sat → Mon
    (dt.datetime(2026, 11, 23, 20, 0, tzinfo=UTC), 8, dt.datetime(2026, 11, 24, 17, 0, tzinfo=UTC)),  # evening
    (dt.datetime(2026, 7, 6, 8, 0, tzinfo=UTC), 1, dt.datetime(2026, 7, 6, 9, 0, tzinfo=UTC)),  # summer: 9:00 IST
])
def test_due_times_count_business_hours_only(start, hours, due):
    assert BusinessCalendar("Europe/Dublin", 9, 18).add(start, hours) == due


def test_sla_per_queue_and_priority_is_configurable():
    settings = Settings(sla_overrides={"it": {"urgent": (0.5, 4.0)}})
    assert sla_hours(settings, "it", "urgent") == (0.5, 4.0)
    assert sla_hours(settings, "hr", "urgent") == settings.sla_hours["urgent"]


def test_unsafe_settings_are_refused():
    with pytest.raises(ValueError, match="WEBHOOK_SECRET"):
        Settings(webhook_url="http://127.0.0.1:9/hook")
    with pytest.raises(ValueError, match="unknown queue"):
        Settings(department_queues={"it": "nowhere"})
