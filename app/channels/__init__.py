"""Channels other than the web: intake and outbound adapters that feed the same ChatService, so every channel
gets the same answers, tickets and retries (replies go through the outbox).

slack/   the Slack app: Events API and interactivity endpoints, Block Kit answers, ticket updates by DM
email/   the help mailbox: IMAP polling, threaded replies, replies landing on tickets, attachments
"""
