"""Django's SMTP backend able to trust one more certificate authority, and to sign with DKIM.

``SmtpEmailBackend`` is Django's SMTP backend with one more option, ``ssl_cafile``: a
CA certificate file this mailer trusts besides the system's, for a server whose
certificate no public authority signed (``manage.py mailserver --ssl``, a company's
relay). Only that mailer trusts it: the system's store and ``SSL_CERT_FILE`` stay as
they are. ``EMAIL_URL=...?ssl_cafile=`` or ``EMAIL_SSL_CAFILE`` choose it.
"""

from __future__ import annotations

import ssl

from django.core.mail.backends.smtp import EmailBackend as DjangoSmtpBackend
from django.utils.functional import cached_property

from core.mail.dkim import signed


class SmtpEmailBackend(DjangoSmtpBackend):
    """Django's SMTP backend that also trusts the CA certificates in ``ssl_cafile`` (this mailer only), and signs
    each message with DKIM when the ``DKIM`` setting is on (``core.mail.dkim``)."""

    def send_messages(self, email_messages):
        return super().send_messages([signed(message) for message in email_messages])

    def __init__(self, *, ssl_cafile: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.ssl_cafile = ssl_cafile

    @cached_property
    def ssl_context(self) -> ssl.SSLContext:
        # The system's trusted certificates, then the extra CA; Django's own context with a client
        # certificate (ssl_certfile) trusts no authority at all, this one keeps the system's too.
        context = ssl.create_default_context()
        if self.ssl_cafile:
            context.load_verify_locations(cafile=self.ssl_cafile)
        if self.ssl_certfile or self.ssl_keyfile:
            context.load_cert_chain(self.ssl_certfile, self.ssl_keyfile)
        return context
