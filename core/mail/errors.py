"""Exit codes and the one error type the toolkit reports to its commands.

The codes are the contract in docs/sendtestmail.md's exit-code table, the same in every command.
Library code raises ``MailProblem``; a command turns it into its exit status,
one sentence on stderr and a ``Hint:`` line.
"""

from __future__ import annotations

from enum import IntEnum

from django.utils.text import capfirst
from django.utils.translation import gettext as _


class ExitCode(IntEnum):
    DONE = 0
    BUG = 1  # unexpected error: the traceback is shown with --traceback
    BAD_INPUT = 2  # wrong arguments, invalid address, unknown user, missing file
    CONFIG = 3  # the mailer's settings cannot work as written, or not with the server they name
    UNREACHABLE = 4  # refused, DNS, timeout, TLS handshake, connection dropped
    LOGIN_REFUSED = 5  # the server refused the login
    MESSAGE_REFUSED = 6  # the server refused the sender, recipients or content
    UNHEALTHY = 7  # mail is not flowing: messages waiting too long, or no worker seen (mailqueue)


def bug_hint() -> str:
    return _("This looks like a bug: run the command again with --traceback and report what it shows.")


class MailProblem(Exception):
    """Something a person can act on: what is wrong, how to fix it, the exit code.

    ``retry``: whether the same attempt may work later unchanged (the worker's decision;
    core.mail.explain's failure table sets it for every mail failure).
    """

    def __init__(self, code: ExitCode, message: str, hint: str = "", *, retry: bool = False):
        self.code = ExitCode(code)
        self.message = message
        self.hint = capfirst(hint)  # a sentence, in every language, however its msgid begins
        self.retry = retry
        super().__init__(message)

    def as_dict(self) -> dict:
        return {"code": int(self.code), "error": self.message, "hint": self.hint}
