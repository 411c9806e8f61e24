"""``manage.py mailqueue [retry]``: whether reset mail is flowing; queue failed deliveries again.

The counting and the retry are ``core.mail.queue``; this module parses the
arguments and renders the results as text or one JSON document.
"""

import argparse
import json

from core.mail import queue
from core.mail.errors import ExitCode, MailProblem
from core.management.base import ProjectCommand, command_error


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def delivery_id(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a delivery id (a whole number)") from None


def ago(value: float | None) -> str:
    if value is None:
        return "never"
    if value < 90:
        return f"{value:.0f} s ago"
    return f"{value / 60:.0f} min ago" if value < 5400 else f"{value / 3600:.1f} h ago"


class Command(ProjectCommand):
    help = (
        "Say whether password-reset mail is flowing: deliveries waiting and being sent, the oldest wait, "
        "failures in the last 24 hours, when a worker was last seen. Exit 7 when mail is stalled. "
        "'mailqueue retry ID... | --failed' queues failed deliveries again."
    )
    requires_system_checks = []  # a monitoring probe: only the database is read

    def add_arguments(self, parser):
        self.add_common(parser)
        parser.add_argument(
            "--max-wait",
            type=seconds,
            default=queue.DEFAULT_MAX_WAIT,
            metavar="SECONDS",
            help="Stalled when a message due now has waited longer (default %(default)g).",
        )
        parser.add_argument(
            "--max-silence",
            type=seconds,
            metavar="SECONDS",
            help=f"Stalled when no worker has been seen for longer (default {queue.DEFAULT_MAX_SILENCE:g}, "
            "or RESET_WORKER_TIMEOUT if longer).",
        )
        actions = parser.add_subparsers(dest="action", metavar="{retry}")
        retry = actions.add_parser("retry", help="Queue failed deliveries again, each with a fresh set of attempts.")
        retry.add_argument("ids", nargs="*", type=delivery_id, metavar="ID", help="Delivery ids (see mailqueue).")
        retry.add_argument("--failed", action="store_true", help="Every failed delivery.")
        self.add_common(retry, default=argparse.SUPPRESS)
        retry.add_argument("--traceback", action="store_true", default=argparse.SUPPRESS, help="Show tracebacks.")

    @staticmethod
    def add_common(parser, default=False):
        parser.add_argument("--json", action="store_true", default=default, help="Print one JSON document on stdout.")

    def handle(self, *args, **options):
        try:
            if options.get("action") == "retry":
                return self.retry(options)
            return self.status(options)
        except MailProblem as problem:
            raise command_error(problem) from None  # with --json, ProjectCommand prints the document

    def status(self, options):
        status = queue.queue_status(max_wait=options["max_wait"], max_silence=options["max_silence"])
        problem = status.problem()
        if options["json"]:
            document = {"ok": problem is None, "code": int(problem.code if problem else ExitCode.DONE)}
            document.update(status.as_dict())
            if problem:
                document.update(error=problem.message, hint=problem.hint)
            self.stdout.write(json.dumps(document, ensure_ascii=False))
        else:
            self.render(status, problem)
        if problem:
            raise command_error(problem)

    def render(self, status, problem):
        if problem is None:
            self.stdout.write(self.style.SUCCESS("Mail is flowing."))
        oldest = "" if status.oldest_wait is None else f" (oldest waiting {status.oldest_wait:.0f} s)"
        worker = f" ({status.worker_id})" if status.worker_id else ""
        lines = [
            f"  requests not yet looked at: {status.requests_waiting}",
            f"  deliveries waiting:         {status.queued}{oldest}",
            f"  retries scheduled:          {status.scheduled}",
            f"  being sent:                 {status.sending}",
            f"  sent in the last 24 h:      {status.sent_24h}",
            f"  failed in the last 24 h:    {status.failed_24h}",
            f"  worker last seen:           {ago(status.worker_silence)}{worker}",
        ]
        self.stdout.write("\n".join(lines))
        failures = queue.recent_failures() if status.failed_24h else []
        if failures:
            self.stdout.write("Latest failures (python manage.py mailqueue retry ID... to queue them again):")
            for delivery in failures:
                attempts = f"{delivery.attempts} attempts"
                self.stdout.write(f"  {delivery.pk}  {delivery.email}  {attempts}: {delivery.last_error}")

    def retry(self, options):
        retried = queue.retry(options["ids"], failed=options["failed"])
        if options["json"]:
            self.stdout.write(json.dumps({"ok": True, "code": 0, "queued": retried.ids}))
        elif not retried.ids:
            self.stdout.write("No failed deliveries.")
        else:
            ids = ", ".join(map(str, retried.ids))
            self.stdout.write(self.style.SUCCESS(f"Queued again: {len(retried.ids)} ({ids}); the worker sends them."))
