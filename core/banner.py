"""What ``make run`` prints before it starts the server, in the site's language (``LANGUAGE_CODE``).

The address to open, the mailer in use, and what would surprise a learner: SMTP
variables that a file or console backend overrides (core.mail.W008), and a
``SITE_URL`` on this machine with another port than the server's, which makes the
links of mail sent from the terminal lead nowhere.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from core.mail.checks import ignored_variables_warning
from core.mail.mailers import describe_mailer
from core.management.base import mailer_text
from outbox.links import DEFAULT_PORTS, is_local


def site_url_warning(host: str, port: int) -> tuple[str, str] | None:
    """(problem, hint) when ``SITE_URL`` names this machine on another port than ``port``, else None."""
    if not settings.SITE_URL:
        return None
    parts = urlsplit(settings.SITE_URL)
    site_port = parts.port or DEFAULT_PORTS[parts.scheme]
    if not is_local(parts.hostname or "") or site_port == port:
        return None
    name = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    values = {
        "site": settings.SITE_URL,
        "port": port,
        "site_port": site_port,
        "fixed": f"{parts.scheme}://{name}:{port}",
    }
    return (
        _(
            "SITE_URL is %(site)s, but the server listens on port %(port)d: links in mail sent from the "
            "terminal (resetuser) lead to port %(site_port)d, not to this server."
        )
        % values,
        _("Set SITE_URL=%(fixed)s in .env and start make run again.") % values,
    )


def banner(host: str, port: int) -> list[str]:
    """The lines ``make run`` prints."""
    lines = [
        _("Open %(url)s (Ctrl+C stops the server and the worker; after editing .env, start make run again)")
        % {"url": f"http://{host}:{port}/"},
        _("Mailer %(mailer)s") % {"mailer": mailer_text(describe_mailer())}
        + (" " + _("(mail is queued: the worker started beside the server sends it)") if settings.MAIL_QUEUE else ""),
    ]
    problems = []
    if settings.MAIL_IGNORED_VARIABLES:
        warning = ignored_variables_warning()
        problems.append((warning.msg, warning.hint))
    problems.append(site_url_warning(host, port))
    for problem, hint in filter(None, problems):
        lines += [_("Warning: %(problem)s") % {"problem": problem}, f"Hint: {hint}"]
    return lines


def show(host: str, port: str) -> None:
    """Print the banner (the Makefile's call: ``manage.py shell -c``)."""
    print("\n".join(["", *banner(host, int(port)), ""]))
