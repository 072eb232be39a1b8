"""Channels other than the web: intake and outbound adapters that feed the same ChatService.

slack/   the Slack app: Events API and interactivity endpoints, Block Kit answers, ticket updates by DM
"""
