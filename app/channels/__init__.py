"""Intake channels besides the web (Slack, e-mail): each turns its messages into ChatService turns and its
replies into outbox rows, so every channel gets the same answers, tickets and retries."""
