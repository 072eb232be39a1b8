"""The Slack settings refuse half or unsafe configurations at start-up."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.config import Settings

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.mark.parametrize("extra, message", [
    ({"slack_signing_secret": SECRET}, "go together"),
    ({"slack_bot_token": "xoxb-1-2"}, "go together"),
    ({"slack_signing_secret": "changeme", "slack_bot_token": "xoxb-1-2"}, "signing secret"),
    ({"slack_signing_secret": SECRET, "slack_bot_token": "xoxp-user-token"}, "bot token"),
    ({"slack_signing_secret": SECRET, "slack_bot_token": "xoxb-1-2", "slack_api_url": "slack.com"}, "http"),
])
def test_half_or_unsafe_slack_settings_are_refused(extra, message):
    with pytest.raises(ValidationError, match=message):
        Settings(**extra)


def test_slack_is_off_by_default_and_on_with_both_values():
    assert not Settings().slack_enabled
    on = Settings(slack_signing_secret=SECRET, slack_bot_token="xoxb-1-2", slack_email_domains=" Corp.example, @b.example")
    assert on.slack_enabled and on.slack_domain_list == ["corp.example", "b.example"]
