"""What every command of the project shares: errors and how a mailer is named."""

from django.core.management.base import CommandError

from core.mail.errors import MailProblem


class Error(CommandError):
    """A CommandError that Django prints as ``Error: …`` (it prints the class name)."""


def command_error(problem: MailProblem) -> Error:
    """The problem's sentence and its ``Hint:`` line, with the problem's exit code."""
    text = problem.message + (f"\nHint: {problem.hint}" if problem.hint else "")
    return Error(text, returncode=int(problem.code))


SECURITY = {"ssl": "SSL", "starttls": "STARTTLS", "none": "no encryption"}
BACKEND_NAMES = {
    "file": "saves to {file_path}",
    "console": "prints to the terminal",
    "memory": "keeps messages in memory",
    "dummy": "discards messages",
}


def where(mailer: dict) -> str:
    """``host:port (security)`` of a ``diagnosis.describe`` dict."""
    return f"{mailer['host']}:{mailer['port']} ({SECURITY[mailer['security']]})"


def mailer_text(mailer: dict) -> str:
    """``default: SMTP host:port, STARTTLS, login x`` or ``default: <backend>, saves to <folder>``."""
    if "host" in mailer:
        login = f"login {mailer['login']}" if mailer["login"] else "no login"
        return f"{mailer['alias']}: SMTP {mailer['host']}:{mailer['port']}, {SECURITY[mailer['security']]}, {login}"
    what = BACKEND_NAMES.get(mailer["kind"], "").format(**mailer)
    return f"{mailer['alias']}: {mailer['backend']}" + (f", {what}" if what else "")
