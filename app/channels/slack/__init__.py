"""The Slack app (issue 13). Requests from Slack are authenticated by their signature, not by user headers.

models.py    slack_events (event-id idempotency, kept until handled), slack_threads (thread → conversation or
             ticket), slack_users (Slack user ↔ Ayuda user, for identity and DMs)
api.py       the Slack Web API methods used (slack_sdk's WebClient): auth.test, users.info, conversations.open,
             chat.postMessage, chat.update
identity.py  a Slack user becomes an Ayuda user by e-mail (users.info), groups from AYUDA_SLACK_USER_GROUPS
blocks.py    Block Kit: answers with numbered citations, 👍/👎, "Talk to a person"; ticket updates
texts.py     Slack-only texts, per language
intake.py    SlackChannel: store the event before the ack, answer in the background, recover after a crash
outbound.py  the outbox's `slack_dm` channel: ticket updates as DMs, in one thread per ticket
routes.py    POST /api/v1/slack/events, POST /api/v1/slack/interactions
"""
