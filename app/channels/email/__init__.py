"""The e-mail channel: an IMAP mailbox (help@company) polled for new mails, answered by threaded replies
through the notification outbox (SMTP). See README "Connecting a mailbox".

    poller.py   IMAP: fetch mails not yet processed, hand each to the intake, flag it afterwards
    parse.py    MIME → InboundMail: sender, threading ids, text (HTML reduced, quotes and signature cut),
                attachments, and why a mail must not be answered (auto-reply, bounce)
    intake.py   one mail → ignored | rate limited | a chat turn (answer or ticket) | a message on a ticket
    threads.py  Message-IDs ↔ conversations/tickets; headers of outgoing mails (used by the outbox)
    models.py   processed mails, Message-ID map, ticket attachments
"""
