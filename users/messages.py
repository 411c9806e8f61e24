"""The account messages as Django's reset form makes them: how each is made (``MessageOptions``), built, linked.

The password reset (``users.reset``), the sign-up messages (``users.signup``) and the
security notices (``users.notices``) are all made here from their templates, so they
share the subject, text and HTML parts, the language and the site's links.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives
from django.template import loader
from django.utils import translation
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class MessageOptions:
    """How the reset message is made: what Django's ``PasswordResetView`` passes its form, same names, same meaning.

    ``email_template_name`` is the text body and ``html_email_template_name`` the
    HTML alternative, as in Django (whose default text template is
    ``registration/password_reset_email.html``); ``token_generator`` is the dotted
    path of a token generator class, "" for Django's default. ``language`` is the
    language of the page that asked ("" is ``LANGUAGE_CODE``). ``kind`` says which
    account message it is: ``reset`` here, the sign-up messages in ``users.signup``,
    the security notices in ``users.notices``. ``to`` is the address it goes to, ""
    for the account's own (the confirmation of a change of address goes to the new one).
    It travels with a queued message as a dict (``as_dict``), so every field is JSON.
    """

    subject_template_name: str = "registration/password_reset_subject.txt"
    email_template_name: str = "registration/password_reset_email.html"
    html_email_template_name: str | None = "registration/password_reset_html_email.html"
    from_email: str | None = None
    extra_email_context: dict | None = None
    token_generator: str = ""
    language: str = ""
    kind: str = "reset"
    to: str = ""

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> MessageOptions:
        known = {name: value for name, value in data.items() if name in cls.__dataclass_fields__}
        return cls(**known)

    def generator(self):
        return import_string(self.token_generator)() if self.token_generator else default_token_generator


def generator_path(token_generator) -> str:
    """The ``token_generator`` field for a generator instance: "" for Django's default."""
    if token_generator is default_token_generator:
        return ""
    cls = type(token_generator)
    return f"{cls.__module__}.{cls.__qualname__}"


DEFAULTS = MessageOptions()  # the project's own templates, Django's token generator, LANGUAGE_CODE


def site_link(site_url: str, path: str) -> str:
    """``path`` (a ``reverse()``) under the site's scheme and host: every link a message carries."""
    parts = urlsplit(site_url)
    return f"{parts.scheme}://{parts.netloc}{path}"


def build_message(context: dict, options: MessageOptions = DEFAULTS) -> EmailMultiAlternatives:
    """A message of the site (one-line subject, text, HTML alternative if any) as Django's reset form builds it.

    The reset message, and every other kind built the same way from ``options``' templates:
    sign-up confirmations and security notices (``users.tasks.send_account_message``).
    """
    with translation.override(options.language or settings.LANGUAGE_CODE):
        subject = "".join(loader.render_to_string(options.subject_template_name, context).splitlines())
        body = loader.render_to_string(options.email_template_name, context)
        html = (
            loader.render_to_string(options.html_email_template_name, context)
            if options.html_email_template_name
            else None
        )
    message = EmailMultiAlternatives(subject, body, options.from_email, [options.to or context["email"]])
    if html is not None:
        message.attach_alternative(html, "text/html")
    return message
