"""The outbox backend: every message saved as one standard ``.eml`` file.

Django's file backend appends all the messages of a connection to one ``.log``
file, which a reader can catch half written and no mail client can open. This
subclass writes each message to its own file, atomically: the bytes go to a
hidden temporary file in the same folder, which is then renamed into place.

File names are ``YYYYMMDD-HHMMSS-ffffff-<random>.eml`` in local time, the same
prefix as Django's ``.log`` files, so sorting by name sorts by time. Each file
also gets a line in the folder's summary index (``outbox.index``), so that
``outbox list`` need not parse every file again.

Configure it with ``EMAIL_URL=outbox://sent_emails`` or in ``MAILERS``::

    {"BACKEND": "outbox.backend.EmailBackend", "OPTIONS": {"file_path": "/srv/outbox"}}
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from datetime import datetime
from pathlib import Path

from django.core.mail.backends.filebased import EmailBackend as FileEmailBackend

from core.mail.dkim import signed
from outbox import index
from outbox.files import EML_SUFFIX, TEMP_PREFIX, Span, message_id
from outbox.messages import Summary, summarize


def message_bytes(email_message) -> bytes:
    """The message as a mail client would store it, Bcc included (it is not sent as a header)."""
    message = email_message.message()
    if email_message.bcc:
        message["Bcc"] = ", ".join(email_message.bcc)
    return message.as_bytes()


class EmailBackend(FileEmailBackend):
    """Save each message as ``<file_path>/<timestamp>-<random>.eml``."""

    def open(self):
        return False  # no stream is held between messages

    def close(self):
        pass

    def send_messages(self, email_messages):
        """Save each message; ``self.written`` lists the paths of this call's files."""
        self.written = self.save(*(message_bytes(signed(email_message)) for email_message in email_messages))
        return len(self.written)

    def save(self, *messages: bytes) -> list[str]:
        """Write each message (its bytes, as a mail client stores them) to its own file; their paths.

        Each file also gets its line in the folder's index, all of this call's in one write.
        ``manage.py mailserver`` saves what it receives through here too.
        """
        paths, rows = [], []
        for data in messages:
            path, info = self.write_file(data)
            paths.append(path)
            name = os.path.basename(path)
            summary = summarize(name, 0, message_id(name), Span.of(data))
            if isinstance(summary, Summary):  # not Unreadable (a message Django made cannot be)
                rows.append((name, index.row(summary, info)))
        index.append(Path(self.file_path), rows)
        return paths

    def new_filename(self) -> str:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        return f"{stamp}-{secrets.token_hex(4)}{EML_SUFFIX}"

    def write_file(self, data: bytes) -> tuple[str, os.stat_result]:
        """Write ``data`` to a new file atomically; its path and its stat (a rename keeps both)."""
        fd, temp_path = tempfile.mkstemp(dir=self.file_path, prefix=TEMP_PREFIX, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as stream:
                stream.write(data)
                stream.flush()
                info = os.fstat(fd)
            path = os.path.join(self.file_path, self.new_filename())
            os.replace(temp_path, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_path)
            raise
        return path, info
