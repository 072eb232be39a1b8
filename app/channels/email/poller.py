"""The mailbox poller: fetch the mails not yet handled from the IMAP folder (imap-tools), hand each to the
intake, and flag it on the server only after its outcome is stored. A mail is never lost: one whose handling
failed stays unflagged and is tried again next pass; one handled but not flagged (the poller died in
between) is recognised by its Message-ID and only flagged."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter

from imap_tools import AND, BaseMailBox, MailBox, MailBoxUnencrypted, MailMessage, MailMessageFlags

from app.channels.email.intake import MailIntake
from app.channels.email.parse import parse
from app.config import Settings

log = logging.getLogger(__name__)
DONE = "$AyudaDone"  # an IMAP keyword: the mail was handled (seen alone could be a person reading it)


class MailPoller:
    def __init__(self, settings: Settings, intake: MailIntake) -> None:
        self.settings, self.intake = settings, intake
        self._last = 0.0
        self._lock = threading.Lock()

    def _connect(self) -> BaseMailBox:
        s = self.settings
        box: BaseMailBox = MailBox(s.mail_imap_host, s.mail_imap_port, timeout=30) if s.mail_imap_ssl \
            else MailBoxUnencrypted(s.mail_imap_host, s.mail_imap_port, timeout=30)
        return box.login(s.mail_imap_user, s.mail_imap_password, initial_folder=s.mail_imap_folder)

    def poll_once(self) -> Counter[str]:
        """One pass over the folder; counts by outcome (answered, ticket, ticket_reply, ignored, ...)."""
        counts: Counter[str] = Counter()
        with self._lock, self._connect() as box:
            for msg in box.fetch(AND(no_keyword=DONE), mark_seen=False, bulk=False, limit=self.settings.mail_batch):
                status = self._one(msg)
                counts[status] += 1
                if status not in ("retry", "error"):
                    box.flag(msg.uid or "", (DONE, MailMessageFlags.SEEN), True)
        self._last = time.monotonic()
        return counts

    def _one(self, msg: MailMessage) -> str:
        try:
            return self.intake.handle(parse(msg.obj.as_bytes())).status
        except Exception:  # left unflagged: tried again next pass (the failure is logged, never swallowed)
            log.exception("mail uid %s could not be handled; it stays in the mailbox for the next pass", msg.uid)
            return "error"

    def due(self) -> None:
        """The periodic job (run by the outbox worker's loop): a pass every AYUDA_MAIL_POLL_SECONDS."""
        every = self.settings.mail_poll_seconds
        if every > 0 and time.monotonic() - self._last >= every:
            self._last = time.monotonic()
            counts = self.poll_once()
            if counts:
                log.info("mail poll: %s", dict(counts))
