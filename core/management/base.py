"""What every command of the project shares: errors, ``--json`` for every outcome, how a mailer is named.

A command of the project subclasses ``ProjectCommand``. With ``--json`` it prints
exactly one JSON document on stdout whatever happens: its own, or, when it fails
before writing one, ``{"ok": false, "code", "error", "hint"}`` (the shape of
``MailProblem.as_dict``) for an argument error (exit 2), a ``CommandError`` (its
exit code) and an unexpected error (exit 1). Stderr and the exit code stay as
without ``--json``: one sentence and a ``Hint:`` line (argparse's usage and error
for an argument error), and no traceback unless ``--traceback``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.mail.config import ConfigError
from core.mail.errors import ExitCode, MailProblem, bug_hint

# SQLite's and PostgreSQL's words for a table that migrate has not made.
MISSING_TABLE = re.compile(r"no such table: \w+|relation \"\w+\" does not exist")


class Error(CommandError):
    """A CommandError that Django prints as ``Error: …`` (it prints the class name)."""

    problem: MailProblem | None = None


def command_error(problem: MailProblem) -> Error:
    """The problem's sentence and its ``Hint:`` line, with the problem's exit code."""
    text = problem.message + (f"\nHint: {problem.hint}" if problem.hint else "")
    error = Error(text, returncode=int(problem.code))
    error.problem = problem
    return error


def wants_json(args: list[str]) -> bool:
    """Whether ``--json`` (or a prefix argparse would take for it) is among the arguments, before ``--``."""
    for arg in args:
        if arg == "--":
            return False
        if len(arg) > 3 and "--json".startswith(arg):
            return True
    return False


def error_document(code: int, error: str, hint: str = "") -> str:
    """The one JSON document of a failure, as every command prints it."""
    return json.dumps({"ok": False, "code": int(code), "error": error, "hint": hint}, ensure_ascii=False)


def unexpected_problem(error: BaseException) -> MailProblem:
    """A bug, in one line: the exception's type and text, any URL credentials or SECRET_KEY hidden.

    One exception is no bug but a step left out: a database without the project's tables.
    """
    from django.db import DatabaseError

    from core.security import mask_text  # imports django.views.debug: only when something failed

    if isinstance(error, DatabaseError) and MISSING_TABLE.search(str(error)):
        return MailProblem(
            ExitCode.CONFIG,
            _("The database is not set up (%(reason)s).") % {"reason": MISSING_TABLE.search(str(error))[0]},
            _("run python manage.py migrate"),
        )

    text = " ".join(mask_text(str(error)).split())
    message = _("Unexpected error: %(error)s") % {"error": type(error).__name__ + (f": {text}" if text else "")}
    return MailProblem(ExitCode.BUG, message, bug_hint())


def number(kind, low, high, what: str, limits: str):
    """An argparse type: ``kind(text)`` between ``low`` and ``high``, else one line saying what is wanted
    (``what`` and ``limits``: lazily translated, so the line is in the command's language).

    NaN, infinities and absurd values (``1e999``) are outside every range, so they are refused here
    instead of failing later (an ``OverflowError`` in a timeout).
    """

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            problem = _("%(value)s is not %(what)s") % {"value": repr(text), "what": what}
            raise argparse.ArgumentTypeError(problem) from None
        if not low <= value <= high:  # NaN and inf too
            raise argparse.ArgumentTypeError(f"{text!r} {limits}")
        return value

    return parse


def given(text: str) -> str:
    """An argparse type for a filter's value: an empty one (``--to "$UNSET"``) is an error, not "no filter"."""
    if not text.strip():
        raise argparse.ArgumentTypeError(_("is empty"))
    return text


# The commands' --timeout: a client that waits longer than an hour for a reply is waiting for nothing.
seconds = number(
    float, 0.001, 3600, gettext_lazy("a number of seconds"), gettext_lazy("must be between 0.001 and 3600")
)
whole = number(int, 1, sys.maxsize, gettext_lazy("a whole number"), gettext_lazy("must be 1 or more"))


def labelled(rows: list[tuple[str, object]], colon: str = "", indent: str = "  ") -> list[str]:
    """``  label  value`` lines (``  label: value`` with ``colon``), the translated labels padded to the
    longest, so the values align in any language."""
    width = max((len(f"{label}{colon}") for label, _value in rows), default=0)
    gap = " " if colon else "  "
    return [f"{indent}{f'{label}{colon}'.ljust(width)}{gap}{value}" for label, value in rows]


class TrackedOutput(OutputWrapper):
    """stdout that knows whether the command has written to it (then it has printed its own document).

    ``stream`` is the file it writes to (a command writing bytes writes to its ``buffer``).
    """

    written = False

    def __init__(self, stream, ending="\n"):
        super().__init__(stream, ending=ending)
        self.stream = stream

    def write(self, msg="", style_func=None, ending=None):
        self.written = True
        super().write(msg, style_func, ending)


class ProjectCommand(BaseCommand):
    """A command that keeps the contracts: ``--json`` for every outcome, no traceback unless ``--traceback``."""

    from_command_line = False  # run by manage.py, not by call_command

    def __init__(self, stdout=None, *args, **kwargs):
        super().__init__(stdout, *args, **kwargs)
        self.stdout = TrackedOutput(stdout or sys.stdout)

    def run_from_argv(self, argv):
        self.from_command_line = True
        if wants_json(argv[2:]):
            self.json_argument_error(argv)
        super().run_from_argv(argv)

    def json_argument_error(self, argv) -> None:
        """Parse once as ``call_command`` does, where an argument error raises instead of exiting.

        Django's parse that follows then reports the error on stderr and exits 2, as without ``--json``.
        """
        parser = self.create_parser(argv[0], argv[1])  # not yet "called from the command line"
        try:
            parser.parse_args(argv[2:])
        except CommandError as error:
            message = str(error).removeprefix("Error: ")
            self.stdout.write(error_document(ExitCode.BAD_INPUT, message, f"see {parser.prog} --help"))

    def execute(self, *args, **options):
        # The command speaks LANGUAGE_CODE, whatever language the calling thread has active (Django keeps
        # a request's or a test's language active after it ends; a process starts with none).
        with translation.override(settings.LANGUAGE_CODE):
            return self.execute_keeping_contracts(*args, **options)

    def execute_keeping_contracts(self, *args, **options):
        # Django replaces self.stdout when call_command passes stdout=: this wrapper takes its place.
        self.stdout = TrackedOutput(options.pop("stdout", None) or self.stdout.stream)
        as_json = bool(options.get("json"))
        try:
            return super().execute(*args, **options)
        except ConfigError:
            raise  # manage.py reports it as it does while loading the settings (--json included)
        except CommandError as error:
            if as_json:
                problem = getattr(error, "problem", None)
                if problem:
                    self.write_error(problem.code, problem.message, problem.hint)
                else:  # Django's own, or Error(text): the sentence, then any "Hint:" line
                    message, _, hint = str(error).removeprefix("Error: ").partition("\nHint: ")
                    self.write_error(error.returncode, message, hint)
            raise
        except BrokenPipeError:
            # The reader of stdout went away (`outbox list | head`): nothing is wrong, and nothing more
            # can be said there. stdout goes to /dev/null so that Python's last flush has nowhere to fail.
            if self.from_command_line:
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                return None
            raise
        except Exception as error:
            problem = unexpected_problem(error)
            if as_json:
                self.write_error(problem.code, problem.message, problem.hint)
            if options.get("traceback") or not self.from_command_line:
                raise
            raise command_error(problem) from error

    def write_error(self, code: int, message: str, hint: str = "") -> None:
        """The failure's document, unless the command has already printed its own."""
        if not self.stdout.written:
            self.stdout.write(error_document(code, message, hint))


SECURITY = {"ssl": "SSL", "starttls": "STARTTLS", "none": gettext_lazy("no encryption")}
BACKEND_NAMES = {
    "file": gettext_lazy("saves to %(file_path)s"),
    "console": gettext_lazy("prints to the terminal"),
    "memory": gettext_lazy("keeps messages in memory"),
    "dummy": gettext_lazy("discards messages"),
}


def where(mailer: dict) -> str:
    """``host:port (security)`` of a ``core.mail.mailers.describe`` dict."""
    return f"{mailer['host']}:{mailer['port']} ({SECURITY[mailer['security']]})"


def mailer_text(mailer: dict) -> str:
    """``default: SMTP host:port, STARTTLS, login x`` or ``default: <backend>, saves to <folder>``."""
    if "host" in mailer:
        login = _("login %(login)s") % mailer if mailer["login"] else _("no login")
        text = f"{mailer['alias']}: SMTP {mailer['host']}:{mailer['port']}, {SECURITY[mailer['security']]}, {login}"
        if mailer.get("ca_file") and mailer["security"] != "none":
            text += ", " + _("also trusts the CA in %(ca_file)s") % mailer
        return text
    what = BACKEND_NAMES[mailer["kind"]] % mailer if mailer["kind"] in BACKEND_NAMES else ""
    return f"{mailer['alias']}: {mailer['backend']}" + (f", {what}" if what else "")
