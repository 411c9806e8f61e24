"""``manage.py mailqueue [retry]``: whether mail is flowing; queue failed deliveries again.

The counting and the retry are ``delivery.status``; this module parses the
arguments and renders the results as text or one JSON document.
"""

import argparse
import json

from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from core.mail.errors import ExitCode, MailProblem
from core.management.base import ProjectCommand, command_error, labelled, number
from delivery import status as queue

# --max-wait, --max-silence: from 0 (any wait is too long) to a year.
seconds = number(
    float, 0, 365 * 86400, gettext_lazy("a number of seconds"), gettext_lazy("must be between 0 and 31536000 (a year)")
)


def delivery_id(text: str) -> int:
    """A delivery id, within what the database can hold (a larger one would overflow the query)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= queue.MAX_DELIVERY_ID:
        raise argparse.ArgumentTypeError(
            _("%(text)s is not a delivery id (a whole number from 1 to %(max)d)")
            % {"text": Truncator(text).chars(30), "max": queue.MAX_DELIVERY_ID}
        )
    return value


def ago(value: float | None) -> str:
    """How long ago, from seconds: "45 s ago" (Django's ``timesince`` says "0 minutes" under a minute)."""
    if value is None:
        return _("never")
    if value < 90:
        return _("%(seconds).0f s ago") % {"seconds": value}
    if value < 5400:
        return _("%(minutes).0f min ago") % {"minutes": value / 60}
    return _("%(hours).1f h ago") % {"hours": value / 3600}


class Command(ProjectCommand):
    help = (
        "Say whether the site's mail is flowing: requests and deliveries waiting and being sent, the oldest wait, "
        "failures in the last 24 hours, when a worker was last seen. Exit 7 when mail is stalled or every "
        "delivery since the last message sent failed. "
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
            "or MAIL_WORKER_TIMEOUT if longer).",
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
            self.stdout.write(self.style.SUCCESS(_("Mail is flowing.")))
        waiting = str(status.queued)
        if status.oldest_wait is not None:
            waiting += " " + _("(oldest waiting %(seconds).0f s)") % {"seconds": status.oldest_wait}
        seen = ago(status.worker_silence) + (f" ({status.worker_id})" if status.worker_id else "")
        rows = [
            (_("requests not yet looked at"), status.requests_waiting),
            (_("deliveries waiting"), waiting),
            (_("retries scheduled"), status.scheduled),
            (_("being sent"), status.sending),
            (_("sent in the last 24 h"), status.sent_24h),
            (_("failed in the last 24 h"), status.failed_24h),
            (_("worker last seen"), seen),
        ]
        self.stdout.write("\n".join(labelled(rows, colon=":")))
        waiting = queue.oldest_waiting() if status.queued or status.scheduled or status.sending else []
        if waiting:
            self.stdout.write(_("Waiting longest:"))
            for delivery in waiting:
                self.stdout.write(f"  {self.row(delivery)}  {queue.STATUS_WORDS[delivery.status]}")
        failures = queue.recent_failures() if status.failed_24h else []
        if failures:
            self.stdout.write(_("Latest failures (python manage.py mailqueue retry ID... to queue them again):"))
            for delivery in failures:
                attempts = ngettext("%(count)d attempt", "%(count)d attempts", delivery.attempts) % {
                    "count": delivery.attempts
                }
                self.stdout.write(f"  {self.row(delivery)}  {attempts}: {delivery.last_error}")

    @staticmethod
    def row(delivery) -> str:
        """ "5  anna@example.com  'Weekly report'": the id, the recipients and what the message is."""
        return f"{delivery.pk}  {Truncator(delivery.email).chars(60)}  {Truncator(queue.what(delivery)).chars(60)!r}"

    def retry(self, options):
        retried = queue.retry(options["ids"], failed=options["failed"])
        if options["json"]:
            self.stdout.write(json.dumps({"ok": True, "code": 0, "queued": retried.ids}))
        elif not retried.ids:
            self.stdout.write(_("No failed deliveries."))
        else:
            count = len(retried.ids)
            text = ngettext(
                "Queued again: %(count)d (%(ids)s); the worker sends it.",
                "Queued again: %(count)d (%(ids)s); the worker sends them.",
                count,
            ) % {"count": count, "ids": ", ".join(map(str, retried.ids))}
            self.stdout.write(self.style.SUCCESS(text))
