"""A Dovecot IMAP server of the tests' own: the mailbox ``sendtestmail --roundtrip`` reads.

Debian's ``dovecot-imapd`` (``scripts/ensure-services`` installs it for ``make
test``), run as ``dovecot -F -c <config>`` from a throwaway folder with a
configuration file of its own: nothing of ``/etc/dovecot`` is read and the
system's Dovecot, if any runs, is never touched. It listens on 127.0.0.1 only,
on two free ports: plain IMAP (which also offers STARTTLS) and IMAPS, with the
certificate of the test CA (``testsupport/smtp_servers.py``'s
``certificates_for()``, trusted through ``trusted_ca_file()``). One user logs in
with a password (a ``passwd-file``, plain text allowed without TLS); the mail is
a Maildir in the folder, whose namespace has a spam folder (``Junk`` with the
``\\Junk`` special use, or any other name, flagged or not) and ``Sent``::

    with Dovecot() as imap:
        imap.deliver("INBOX", raw)       # as a provider's delivery would, into Maildir/new
        target = imap.url()              # imap://user:password@127.0.0.1:port

Who runs it: Dovecot's master process starts as the user it is started by and,
when that is not root, cannot change users: every service (login, auth, anvil,
the imap processes) must then run as that same user, with no chroot (which
needs root). So the configuration names that one user everywhere
(``default_login_user``, ``default_internal_user``, ``service ... { user }``,
the static userdb's ``uid``/``gid``) and sets every ``chroot`` empty. As root,
the folder is given to an unprivileged account (Debian's ``dovecot``, else
``nobody``) and Dovecot runs as it through ``setpriv``, as PostgreSQL does in
testsupport/services.py; Dovecot refuses mail access as uid 0 in any case.
``first_valid_uid = 1`` lets a system account's uid (``dovecot`` is 103) own mail.
"""

from __future__ import annotations

import imaplib
import os
import pwd
import secrets
import shutil
import socket
import time
from pathlib import Path
from urllib.parse import quote

from testsupport.services import START_TIMEOUT, Unavailable, _Server
from testsupport.smtp_servers import HOST, certificates_for, free_port

DOVECOT = "/usr/sbin/dovecot"
USER = "anna@example.test"

# Folder name → its directory under Maildir/ (Maildir++: "." and the name in IMAP's modified UTF-7).
INBOX = "INBOX"


def dovecot() -> str:
    path = shutil.which("dovecot") or (Path(DOVECOT).exists() and DOVECOT)
    if not path:
        raise Unavailable("Dovecot is not installed: apt-get install dovecot-imapd (make test does it as root)")
    return path


def mutf7(name: str) -> str:
    """A folder name in IMAP's modified UTF-7 (RFC 3501 5.1.3): what Maildir++ keeps on disk, and what IMAP says."""
    out, pending = [], []

    def flush():
        if pending:
            import base64

            encoded = base64.b64encode("".join(pending).encode("utf-16-be")).decode().rstrip("=").replace("/", ",")
            out.append(f"&{encoded}-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


class Dovecot(_Server):
    """``dovecot -F`` on 127.0.0.1: plain IMAP on ``port`` (with STARTTLS), IMAPS on ``ssl_port``.

    ``spam``: the spam folder's name (default ``Junk``); ``spam_flag``: whether it carries
    the ``\\Junk`` special use (a provider whose spam folder is only known by its name: False).
    """

    name = "dovecot"

    def __init__(self, *, spam: str = "Junk", spam_flag: bool = True, password: str = "") -> None:
        self.executable = dovecot()
        super().__init__()
        self.ssl_port = free_port()
        self.user = USER
        # Characters a URL must encode (never ":", which ends a passwd-file field).
        self.password = password or "imap/P@ss#" + secrets.token_urlsafe(8)
        self.spam = spam
        self.spam_flag = spam_flag
        self.maildir = self.folder / "Maildir"
        self.ca_file = ""
        self._account = self._runs_as()

    # ---------------------------------------------------------------- who runs it

    @staticmethod
    def _runs_as() -> pwd.struct_passwd:
        """The account Dovecot runs as: this process's, or as root an unprivileged one."""
        if os.geteuid() != 0:
            return pwd.getpwuid(os.geteuid())
        for name in ("dovecot", "nobody"):
            try:
                return pwd.getpwnam(name)
            except KeyError:
                continue
        raise Unavailable("neither a 'dovecot' nor a 'nobody' account exists to run Dovecot as (not as root)")

    def _give(self, path: Path) -> None:
        """As root, hand ``path`` to the account Dovecot runs as (it must read and rename what the tests write)."""
        if os.geteuid() == 0:
            os.chown(path, self._account.pw_uid, self._account.pw_gid)

    def _as_account(self) -> list[str]:
        if os.geteuid() != 0:
            return []
        uid, gid = self._account.pw_uid, self._account.pw_gid
        if shutil.which("setpriv"):
            return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--"]
        return ["runuser", "-u", self._account.pw_name, "--"]

    # ---------------------------------------------------------------- configuration

    def _config(self) -> str:
        user, uid, gid = self._account.pw_name, self._account.pw_uid, self._account.pw_gid
        folder = self.folder
        special = "  special_use = \\Junk\n" if self.spam_flag else ""
        return f"""# A throwaway Dovecot of the tests (testsupport/dovecot.py)
protocols = imap
listen = {HOST}
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/server.log
instance_name = mailproof-test-{self.port}
default_login_user = {user}
default_internal_user = {user}
first_valid_uid = 1
last_valid_uid = 0
mail_location = maildir:{self.maildir}
mail_uid = {uid}
mail_gid = {gid}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
auth_failure_delay = 0
ssl = yes
ssl_cert = <{folder}/cert.pem
ssl_key = <{folder}/key.pem
ssl_min_protocol = TLSv1.2
login_greeting = Test IMAP ready.
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={folder}/home
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox "{self.spam}" {{
    auto = subscribe
{special}  }}
  mailbox Sent {{
    auto = subscribe
    special_use = \\Sent
  }}
}}
service imap-login {{
  chroot =
  user = {user}
  inet_listener imap {{
    address = {HOST}
    port = {self.port}
  }}
  inet_listener imaps {{
    address = {HOST}
    port = {self.ssl_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
  user = {user}
}}
service auth {{
  user = {user}
}}
service auth-worker {{
  user = {user}
}}
service imap {{
  user = {user}
}}
service config {{
  user = {user}
}}
service log {{
  user = {user}
}}
service stats {{
  user = {user}
}}
"""

    def start(self) -> Dovecot:
        certificates = certificates_for()
        self.ca_file = str(certificates.ca_file)
        pem = certificates.server_file.read_text()
        key_at = pem.index("-----BEGIN PRIVATE KEY-----")
        (self.folder / "cert.pem").write_text(pem[:key_at])
        key = self.folder / "key.pem"
        key.touch(0o600)
        key.write_text(pem[key_at:])
        # The password file's fields: user:{scheme}password:uid:gid:gecos:home:shell:extra.
        passwd = self.folder / "passwd"
        passwd.write_text(f"{self.user}:{{PLAIN}}{self.password}::::::\n")
        passwd.chmod(0o600)
        config = self.folder / "dovecot.conf"
        config.write_text(self._config())
        for name in ("run", "state", "home", "Maildir"):
            (self.folder / name).mkdir()
        self.log.touch()  # Dovecot's log_path and the process's output, one file Dovecot's account may write
        for path in (self.folder, *self.folder.rglob("*")):
            self._give(path)
        self._spawn([*self._as_account(), self.executable, "-F", "-c", str(config)])
        self._wait_ready(self._login)
        return self

    def _login(self) -> None:
        with imaplib.IMAP4(HOST, self.port, timeout=5) as client:
            client.authenticate("PLAIN", lambda _: f"\0{self.user}\0{self.password}".encode())  # UTF-8 too
            client.logout()

    def _wait_ready(self, ready) -> None:
        """Ready once the user logs in. A refused login is the configuration's fault: no use waiting for it.
        On failure nothing is left running or on disk (``__exit__`` is not called when ``start()`` raises)."""
        deadline = time.monotonic() + START_TIMEOUT
        try:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"dovecot exited with {self.process.returncode}: {self._log_tail()}")
                try:
                    ready()
                    return
                except imaplib.IMAP4.error as error:
                    raise RuntimeError(f"dovecot refused the test user ({error}): {self._log_tail()}") from None
                except OSError:
                    if time.monotonic() > deadline:
                        why = f"dovecot did not answer in {START_TIMEOUT:g} s: {self._log_tail()}"
                        raise RuntimeError(why) from None
                    time.sleep(0.05)
        except BaseException:
            self.stop()
            raise

    # ---------------------------------------------------------------- what the tests use

    def url(self, *, password: str | None = None, scheme: str = "imap", ssl: bool = False) -> str:
        """``imap://user:password@127.0.0.1:port`` (``ssl``: ``imaps://`` to the IMAPS port), percent-encoded."""
        password = self.password if password is None else password
        port = self.ssl_port if ssl else self.port
        scheme = "imaps" if ssl else scheme
        return f"{scheme}://{quote(self.user, safe='')}:{quote(password, safe='')}@{HOST}:{port}"

    def folder_path(self, folder: str) -> Path:
        """The Maildir directory of an IMAP folder: INBOX is Maildir itself, others ``.Name`` (modified UTF-7)."""
        if folder.upper() == INBOX:
            return self.maildir
        return self.maildir / ("." + mutf7(folder).replace("/", "."))

    def deliver(self, folder: str, raw: bytes) -> Path:
        """Put a message into ``folder`` as a delivery agent does: written in ``tmp/``, then renamed into ``new/``."""
        base = self.folder_path(folder)
        for sub in ("", "tmp", "new", "cur"):
            path = base / sub
            if not path.exists():
                path.mkdir(parents=True)
                self._give(path)
        name = f"{time.time_ns()}.{secrets.token_hex(6)}.{socket.gethostname()}"
        temp = base / "tmp" / name
        temp.write_bytes(raw.replace(b"\r\n", b"\n"))  # Maildir holds messages with Unix line ends
        self._give(temp)
        final = base / "new" / name
        temp.rename(final)
        return final

    def messages(self, folder: str) -> list[Path]:
        """The files of ``folder``'s messages (new and seen): what is still in the mailbox."""
        base = self.folder_path(folder)
        return sorted(path for sub in ("new", "cur") if (base / sub).is_dir() for path in (base / sub).iterdir())
