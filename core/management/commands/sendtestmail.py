import json
import sys

from django.utils.formats import number_format
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext, pgettext_lazy

from core.mail import checks, compose, probe
from core.mail.config import sending_alias
from core.mail.errors import ExitCode, MailProblem
from core.mail.roundtrip import authentication_hint
from core.management.base import ProjectCommand, command_error, labelled, mailer_text, number, seconds, where

# --count: a test of a mailer, or of its speed, needs no more; each message is built as it is sent.
message_count = number(
    int,
    1,
    compose.MAX_COUNT,
    gettext_lazy("a whole number"),
    format_lazy(gettext_lazy("must be between 1 and {}"), f"{compose.MAX_COUNT:,}"),
)


class Command(ProjectCommand):
    help = (
        "Send a test message through a mailer (or only --check the connection and the sender's domain, or make "
        "a --roundtrip through a mailbox) and explain any failure. "
        "Exit status: 0 done, 2 bad input, 3 configuration, 4 server unreachable, 5 login refused, "
        "6 message refused (or bounced), 7 the sender's domain fails (--check) or the message went to spam "
        "or did not arrive (--roundtrip)."
    )
    # The mail checks that concern the mailer used are part of the report; the
    # project's other checks must not stop a person from testing mail.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("email", nargs="*", help="Addresses to send the test message to.")
        parser.add_argument("--admins", action="store_true", help="Also send to the addresses in ADMINS.")
        parser.add_argument("--managers", action="store_true", help="Also send to the addresses in MANAGERS.")
        parser.add_argument("--subject", help="Subject (default: names this host and the time).")
        body = parser.add_mutually_exclusive_group()
        body.add_argument("--body", help="Text of the message (default: a short note).")
        body.add_argument("--body-file", metavar="PATH", help="Read the text from a UTF-8 file; - reads stdin.")
        html = parser.add_mutually_exclusive_group()
        html.add_argument("--html", help="Add an HTML alternative with this content.")
        html.add_argument("--html-file", metavar="PATH", help="Add an HTML alternative read from a UTF-8 file.")
        parser.add_argument(
            "--from", dest="from_email", metavar="ADDRESS", help="Sender (default: DEFAULT_FROM_EMAIL)."
        )
        parser.add_argument(
            "--attach", action="append", default=[], metavar="PATH", help="Attach a file (repeat for more)."
        )
        parser.add_argument("--using", default="default", metavar="ALIAS", help="The MAILERS alias (default: default).")
        parser.add_argument(
            "--count",
            type=message_count,
            default=1,
            metavar="N",
            help=f"Send N numbered messages (at most {compose.MAX_COUNT:,}) over one connection and report messages "
            "per second.",
        )
        what = parser.add_mutually_exclusive_group()  # --check sends nothing, --roundtrip sends and reads back
        what.add_argument(
            "--check",
            action="store_true",
            help="Connect, start TLS, log in, read the server's capabilities and ask whether it takes the sender "
            "(and recipients, if given), then quit: nothing is sent.",
        )
        what.add_argument(
            "--roundtrip",
            action="store_true",
            help="Send a test message to a mailbox and read it back over IMAP: Inbox or spam, after how long, "
            "the receiver's SPF/DKIM/DMARC verdict, or a bounce.",
        )
        parser.add_argument(
            "--imap", metavar="URL", default="", help="The mailbox to read (default: IMAP_URL, else the SMTP login's)."
        )
        parser.add_argument(
            "--wait",
            type=seconds,
            default=120.0,
            metavar="SECONDS",
            help="How long --roundtrip waits for the message (default 120).",
        )
        parser.add_argument("--keep", action="store_true", help="Leave the --roundtrip message in the mailbox.")
        parser.add_argument(
            "--timeout",
            type=seconds,
            metavar="SECONDS",
            help="Seconds to wait for the server, at most 3600 (default: the mailer's timeout, EMAIL_TIMEOUT).",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON document on stdout.")

    def handle(self, *args, **options):
        if options["roundtrip"]:
            return self.handle_roundtrip(options)
        try:
            report = self.run(options)
        except MailProblem as problem:
            raise command_error(problem) from problem  # with --json, ProjectCommand prints it
        problem = report.problem()  # some recipients refused, others accepted
        warnings = checks.mailer_messages(sending_alias(options["using"]))
        if options["json"]:
            document = {"ok": problem is None, **report.as_dict()}
            document["warnings"] = [{"id": w.id, "message": w.msg, "hint": w.hint or ""} for w in warnings]
            if problem:
                document.update(problem.as_dict())
            self.stdout.write(json.dumps(document, ensure_ascii=False))
        elif options["verbosity"] > 0:
            self.render(report, options["verbosity"])
            for warning in [] if problem else warnings:  # an error keeps stderr to its one sentence
                self.stderr.write(self.style.WARNING(f"Warning: {warning.msg} ({warning.id})\nHint: {warning.hint}"))
        if problem:
            raise command_error(problem)

    def handle_roundtrip(self, options):
        sender = options["from_email"]
        try:
            report = probe.roundtrip_check(
                options["using"],
                imap_url=options["imap"],
                recipients=[compose.check_address(address, "recipient") for address in options["email"]],
                sender=compose.check_address(sender, "sender (--from)") if sender else None,
                wait=options["wait"],
                keep=options["keep"],
                timeout=options["timeout"],
            )
        except MailProblem as problem:
            raise command_error(problem) from problem
        problem = None
        if report.exit_code != ExitCode.DONE:
            problem = MailProblem(report.exit_code, report.words, report.hint)
        if options["json"]:
            document = {"ok": problem is None, "action": "roundtrip", **report.as_dict()}
            self.stdout.write(json.dumps({**document, **(problem.as_dict() if problem else {})}, ensure_ascii=False))
        elif options["verbosity"] > 0 and report.outcome in ("inbox", "spam"):
            self.render_roundtrip(report)
        if problem:
            raise command_error(problem)

    def render_roundtrip(self, report) -> None:
        """Where it landed, after how long, and what the receiver said of SPF, DKIM and DMARC."""
        style = self.style.SUCCESS if report.outcome == "inbox" else self.style.WARNING
        self.stdout.write(style(report.words))
        results = report.authentication_results or {}
        verdicts = ", ".join(f"{method}={result['result']}" for method, result in results.items())
        rows = [(pgettext("label", "receiver"), verdicts or _("no Authentication-Results header"))]
        for row in labelled(rows):
            self.stdout.write(row)
        if report.outcome == "inbox" and (hint := authentication_hint(results)):  # spam: the error's hint says it
            self.stdout.write(f"Hint: {hint}")

    def run(self, options):
        """Everything a person typed is checked before the mailer is opened."""
        recipients = [compose.check_address(address, "recipient") for address in options["email"]]
        if options["admins"] or options["managers"] or not options["check"]:  # --check needs no recipient
            recipients = compose.recipients_from(recipients, admins=options["admins"], managers=options["managers"])
        sender = options["from_email"]
        if options["check"]:
            return probe.check_mailer(
                options["using"],
                sender=compose.check_address(sender, "sender (--from)") if sender else None,
                recipients=recipients,
                timeout=options["timeout"],
            )
        body_file = options["body_file"]
        body = compose.read_text(body_file, "body file", sys.stdin) if body_file else options["body"]
        html = compose.read_text(options["html_file"], "HTML file") if options["html_file"] else options["html"]
        attachments = [compose.read_attachment(path) for path in options["attach"]]
        messages = compose.compose_messages(
            recipients,
            subject=options["subject"],
            body=body,
            html=html,
            from_email=sender,
            attachments=attachments,
            count=options["count"],
        )
        return probe.send_test_messages(
            messages,
            options["using"],
            timeout=options["timeout"],
            console_stream=self.stderr if options["json"] else self.stdout,
        )

    # ---------------------------------------------------------------- text output

    def render(self, report, verbosity: int) -> None:
        checking = isinstance(report, probe.CheckReport)
        self.stdout.write(self.style.SUCCESS(self.check_headline(report) if checking else self.send_headline(report)))
        rows = [(pgettext("label", "mailer"), mailer_text(report.mailer))]
        if checking and report.capabilities:
            rows.append((pgettext("label", "server"), capabilities_text(report.capabilities)))
        if report.sender:
            taken = " " + _("(the server would take it)") if checking else ""
            rows.append((pgettext("label", "from"), report.sender + taken))
        if report.accepted:
            rows.append((pgettext("label", "to"), ", ".join(report.accepted)))
        refused = [(pgettext("label", "refused"), f"{address}: {reply}") for address, reply in report.refused.items()]
        rows += refused

        def few(items: list) -> list:  # a long series: its first and last, unless -v 2
            return items if verbosity > 1 or len(items) < 3 else [items[0], "...", items[-1]]

        rows += [("Message-ID", ident) for ident in few(getattr(report, "message_ids", []))]
        rows += [(pgettext("label", "file"), path) for path in few(getattr(report, "files", []))]
        for row, line in zip(rows, labelled(rows), strict=True):
            self.stdout.write(self.style.WARNING(line) if row in refused else line)
        if checking and "host" in report.mailer:
            self.render_sender_domains(report.sender_domain)

    def render_sender_domains(self, reports) -> None:
        """Each domain's SPF, DMARC, DKIM and MX: a verdict, a sentence, and a hint for what is not right."""
        if reports is None:
            self.stdout.write(
                _(
                    "Sender domain not checked: the SMTP server is on this machine, where no receiver looks. "
                    "Set DNS_NAMESERVERS to check it anyway."
                )
            )
            return
        styles = {"pass": self.style.SUCCESS, "warn": self.style.WARNING, "fail": self.style.ERROR}
        width = max(len(str(label)) for label in VERDICTS.values()) + 2  # a column, in every language
        for report in reports:
            values = {"domain": report.domain, "servers": report.nameservers, "seconds": f"{report.seconds:.2f}"}
            self.stdout.write(_("Sender domain %(domain)s (DNS %(servers)s, %(seconds)s s):") % values)
            if report.dns_unreachable:
                self.stdout.write(f"  {report.spf.words}\n  Hint: {report.spf.hint}")
                continue
            for part in report.parts:
                verdict = f"{part.name.upper():<6}{VERDICTS[part.verdict]!s:<{width}}"
                self.stdout.write(styles.get(part.verdict, str)(f"  {verdict}{part.words}"))
                if part.hint and part.verdict != "pass":
                    self.stdout.write(f"  {'':{6 + width}}Hint: {part.hint}")

    def send_headline(self, report) -> str:
        count = len(report.message_ids)
        took = _("in %(seconds)s s") % {"seconds": number_format(report.seconds, 2)}
        if count > 1:
            took += " " + _("(%(rate)s per second)") % {"rate": number_format(report.per_second, 1)}
        values = {"count": count, "took": took, "where": where(report.mailer) if "host" in report.mailer else ""}
        if report.delivery == "sent":
            return (
                ngettext(
                    "Sent %(count)d message through %(where)s %(took)s.",
                    "Sent %(count)d messages through %(where)s %(took)s.",
                    count,
                )
                % values
            )
        if report.delivery == "saved":
            return (
                ngettext(
                    "Saved %(count)d message %(took)s: nothing was sent, the mailer writes files.",
                    "Saved %(count)d messages %(took)s: nothing was sent, the mailer writes files.",
                    count,
                )
                % values
            )
        if report.delivery == "printed":
            return (
                ngettext(
                    "Printed %(count)d message %(took)s: nothing was sent, the mailer prints to the terminal.",
                    "Printed %(count)d messages %(took)s: nothing was sent, the mailer prints to the terminal.",
                    count,
                )
                % values
            )
        if report.delivery == "kept in memory":
            return (
                ngettext(
                    "Kept %(count)d message in memory %(took)s: nothing left the process.",
                    "Kept %(count)d messages in memory %(took)s: nothing left the process.",
                    count,
                )
                % values
            )
        return (
            ngettext(
                "Discarded %(count)d message %(took)s: nothing left the process.",
                "Discarded %(count)d messages %(took)s: nothing left the process.",
                count,
            )
            % values
        )

    def check_headline(self, report) -> str:
        mailer = report.mailer
        if "host" not in mailer:
            return _("The mailer %(alias)r has no server to connect to; nothing was sent.") % mailer
        values = {"where": where(mailer), "login": mailer["login"], "seconds": f"{report.seconds:.2f}"}
        if report.logged_in:
            return _("Connected to %(where)s, logged in as %(login)s, in %(seconds)s s; nothing was sent.") % values
        return _("Connected to %(where)s, no login, in %(seconds)s s; nothing was sent.") % values


VERDICTS = {
    "pass": pgettext_lazy("verdict", "ok"),
    "warn": pgettext_lazy("verdict", "warn"),
    "fail": pgettext_lazy("verdict", "FAIL"),
    "none": pgettext_lazy("verdict", "n/a"),
}


def capabilities_text(capabilities: dict) -> str:
    size = capabilities["size_limit"]
    if size:
        parts = [_("size limit %(size)s MB") % {"size": f"{size / 1_000_000:.1f}"}]
    else:
        parts = [_("no size limit announced")]
    if capabilities["auth"]:
        parts.append(_("login methods %(methods)s") % {"methods": " ".join(capabilities["auth"])})
    else:
        parts.append(_("no login offered"))
    parts.append(_("STARTTLS offered") if capabilities["starttls"] else _("no STARTTLS"))
    return "; ".join(parts)
