"""A real Dovecot IMAP server on loopback for the e-mail channel tests: its own config, passwd-file user and
Maildir in a temp folder, started in the foreground and stopped by the test. Debian's `dovecot-imapd` (.ci/run
installs it)."""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Dovecot:
    """`root=None`: a fresh folder of its own under the system temp dir (pytest's are private to their owner,
    and Dovecot's processes run as the `dovecot` user when the tests run as root), removed by stop()."""

    def __init__(self, root: Path | None = None, user: str = "help@brightwave.example",
                 password: str = "imap-test-pass") -> None:
        self.own_root = root is None
        self.root = root or Path(tempfile.mkdtemp(prefix="ayuda-dovecot-"))
        self.user, self.password = user, password
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def _config(self) -> Path:
        root = self.root
        for sub in ("run", "state", "home"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:  # Dovecot drops to its own users; the mail is owned by `dovecot`
            internal, login, mail = "dovecot", "dovenull", pwd.getpwnam("dovecot")
            for path in (root / "home", root / "state"):
                os.chown(path, mail.pw_uid, mail.pw_gid)
            root.chmod(0o755)
        else:  # a developer's own account runs every part
            me = pwd.getpwuid(os.getuid())
            internal = login = me.pw_name
            mail = me
        (root / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}::::::\n")
        conf = root / "dovecot.conf"
        conf.write_text(f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = ayuda-test-{self.port}
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = {mail.pw_uid}
last_valid_uid = {mail.pw_uid}
first_valid_gid = {mail.pw_gid}
last_valid_gid = {mail.pw_gid}
mail_location = maildir:{root}/home/%u/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail.pw_uid} gid={mail.pw_gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    user = {internal}
  }}
  unix_listener stats-writer {{
    user = {internal}
  }}
}}
""")
        return conf

    def start(self) -> Dovecot:
        if DOVECOT is None:
            raise RuntimeError("dovecot is not installed (apt-get install dovecot-imapd)")
        conf = self._config()
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.proc.stderr.read().decode() if self.proc.stderr else ''}"
                                   f"{self.log()}")
            try:
                with imaplib.IMAP4("127.0.0.1", self.port, timeout=2) as imap:
                    imap.login(self.user, self.password)
                    return self
            except (OSError, imaplib.IMAP4.error):
                time.sleep(0.1)
        raise RuntimeError(f"dovecot did not answer on port {self.port}: {self.log()}")

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        """Deliver a mail into the mailbox the way a mail server would (IMAP APPEND)."""
        with imaplib.IMAP4("127.0.0.1", self.port, timeout=10) as imap:
            imap.login(self.user, self.password)
            status, detail = imap.append(folder, "", imaplib.Time2Internaldate(time.time()), raw)
            assert status == "OK", detail

    def flagged(self, keyword: str, folder: str = "INBOX") -> int:
        """How many mails carry an IMAP keyword (e.g. the poller's $AyudaDone)."""
        with imaplib.IMAP4("127.0.0.1", self.port, timeout=10) as imap:
            imap.login(self.user, self.password)
            imap.select(folder)
            _, data = imap.search(None, "KEYWORD", keyword)
            return len(data[0].split())

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.own_root:
            shutil.rmtree(self.root, ignore_errors=True)
