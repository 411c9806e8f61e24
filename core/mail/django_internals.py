"""The Django internals the mail toolkit reads where Django has no public API: one function per need, nothing else.

Each function names the private attribute it reads and why no public way exists.
tests/mail/test_django_internals.py runs each against Django's real backend and
fails, naming the function, when a Django release renames or removes what it reads.
"""

from __future__ import annotations

import smtplib


def file_backend_log(backend) -> str | None:
    """The ``.log`` file Django's file backend writes this instance's messages to; None before its first message.

    Django has no public API for this: the backend makes the name (time stamp and
    ``id(self)``) when its first message opens the file and keeps it in ``_fname``;
    its public ``stream`` is closed again, and forgotten, when the send ends.
    """
    return getattr(backend, "_fname", None)


def take_half_open_connection(backend) -> smtplib.SMTP | None:
    """The connection Django's SMTP backend left half open (connected, then STARTTLS or the login failed), detached.

    Django has no public API for this: ``open()`` keeps that connection in
    ``_partial_connection`` until the next ``open()`` or ``close()``, and both say
    QUIT and wait for the answer, which a server that stopped answering never
    gives. The caller closes the connection returned, without a word to the server.
    """
    connection = getattr(backend, "_partial_connection", None)
    if connection is not None:
        backend._partial_connection = None
    return connection
