"""Tickets: escalation from the chat to people, queues, SLAs, the agent/employee API and notifications."""
