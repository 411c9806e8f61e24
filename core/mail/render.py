"""A message → the envelope and bytes Django's SMTP backend would send; a series reuses the first message's bytes."""

from __future__ import annotations

import email.policy

from django.core.mail import EmailMessage
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend


class Renderer:
    """A message → (envelope sender, envelope recipients, bytes), as Django's SMTP backend makes them.

    A series (``--count N``) differs only in Subject and Message-ID. Building each
    message with the email package costs about twice a round trip to a local server,
    so a message whose every other part equals the previous one's (``shape``) reuses
    its bytes and envelope, with those two header lines folded anew by the same policy.
    """

    def __init__(self, backend: SmtpBackend):
        self.backend = backend
        self.shape = None

    def __call__(self, message: EmailMessage) -> tuple[str, list[str], bytes]:
        shape = _shape(message)
        if shape is not None and shape == self.shape:
            return self.sender, self.recipients, self._swapped(message)
        self.shape = shape
        self.sender = self.backend.prep_address(message.from_email)
        self.recipients = [self.backend.prep_address(address) for address in message.recipients()]
        data = message.message(policy=email.policy.SMTP).as_bytes()
        self.head, self.body = data.split(b"\r\n\r\n", 1)
        return self.sender, self.recipients, data

    def _swapped(self, message: EmailMessage) -> bytes:
        values = {"subject": message.subject, "message-id": message.extra_headers["Message-ID"]}
        lines = []
        skipping = False
        for line in self.head.split(b"\r\n"):
            if line[:1] in (b" ", b"\t"):  # a folded continuation of the header before
                if not skipping:
                    lines.append(line)
                continue
            name = line.partition(b":")[0].decode("ascii").lower()
            skipping = name in values
            if skipping:
                lines.append(email.policy.SMTP.fold_binary(name.title().replace("-Id", "-ID"), values[name])[:-2])
            else:
                lines.append(line)
        return b"\r\n".join(lines) + b"\r\n\r\n" + self.body


def _shape(message: EmailMessage):
    """Everything of a message but its Subject and Message-ID, or None when it has no Message-ID of its own.

    Every attribute the instance holds (``vars``) and its class: a field a new Django
    release adds, or one a subclass adds, is compared without being named here.
    """
    headers = dict(message.extra_headers)
    if "Message-ID" not in headers or "\n" in message.subject or "\r" in message.subject:
        return None
    del headers["Message-ID"]
    fields = {**vars(message), "extra_headers": headers}
    del fields["subject"]
    return type(message), fields
