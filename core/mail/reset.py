"""Building and sending the password-reset message, in a request or outside one.

The web form (``users.forms.PasswordResetForm``) and ``manage.py resetuser`` both
call these functions, so the message (templates, token, link) cannot drift
between them. The context is the one Django's ``PasswordResetForm`` gives its
templates, so Django's own templates and the project's both work.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives
from django.template import loader
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

logger = logging.getLogger(__name__)

SUBJECT_TEMPLATE = "registration/password_reset_subject.txt"
TEXT_TEMPLATE = "registration/password_reset_email.txt"
HTML_TEMPLATE = "registration/password_reset_email.html"


def reset_context(user, *, site_url: str, token_generator=default_token_generator) -> dict:
    """The template context for ``user``'s reset message, links under ``site_url``."""
    parts = urlsplit(site_url)
    email = getattr(user, user.get_email_field_name())
    uid = urlsafe_base64_encode(force_bytes(user._meta.pk.value_to_string(user)))
    token = token_generator.make_token(user)
    return {
        "email": email,
        "domain": parts.netloc,
        "site_name": parts.netloc,
        "uid": uid,
        "user": user,
        "token": token,
        "protocol": parts.scheme,
        "reset_url": f"{parts.scheme}://{parts.netloc}"
        + reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token}),
    }


def build_reset_message(context: dict, *, from_email: str | None = None) -> EmailMultiAlternatives:
    """The reset message (text, HTML alternative, one-line subject) for a context."""
    subject = "".join(loader.render_to_string(SUBJECT_TEMPLATE, context).splitlines())
    body = loader.render_to_string(TEXT_TEMPLATE, context)
    message = EmailMultiAlternatives(subject, body, from_email, [context["email"]])
    message.attach_alternative(loader.render_to_string(HTML_TEMPLATE, context), "text/html")
    return message


def send_reset_messages(
    users: Iterable,
    *,
    site_url: str,
    using: str | None = None,
    raise_errors: bool = True,
) -> list[dict]:
    """Send a reset message to each user; return the context used for each.

    With ``raise_errors=False`` (the web form) a failure is logged, as Django's
    form does, and the page answers as usual.
    """
    sent = []
    for user in users:
        context = reset_context(user, site_url=site_url)
        try:
            build_reset_message(context).send(using=using)
        except Exception:
            if raise_errors:
                raise
            logger.exception("Failed to send password reset email to user %s", user.pk)
            continue
        sent.append(context)
    return sent
