import json

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from core.mail.errors import MailProblem
from core.mail.mailers import describe_mailer
from core.management.base import Error, ProjectCommand, command_error, labelled, mailer_text
from users.reset import reset_user, site_url_for_links


class Command(ProjectCommand):
    """Also the base of ``confirmuser``: the same arguments, output and exit codes for another message."""

    help = (
        "Send the standard password-reset message to users, exactly as the web form would "
        "(same templates, token and link), and say what happened. Each argument is an email "
        "address (any letter case) or, failing that, a username."
    )
    missing_args_message = "Give at least one email address or username."
    deliver = staticmethod(reset_user)
    timeout_setting = "PASSWORD_RESET_TIMEOUT"

    def made_text(self) -> str:
        return _("Reset link made for %(who)s (nothing sent: --dry-run)")

    def sent_text(self) -> str:
        return _("Reset message sent to %(who)s")

    def failed_text(self) -> str:
        return _("%(failed)d of %(total)d resets failed.")

    def add_arguments(self, parser):
        parser.add_argument("users", nargs="+", metavar="ADDRESS_OR_USERNAME", help="Who gets the message.")
        parser.add_argument(
            "--site-url",
            metavar="URL",
            help="Scheme and host for the link, like https://cinemahub.example (default: the SITE_URL setting).",
        )
        parser.add_argument("--using", default="default", metavar="ALIAS", help="MAILERS alias to send through.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Send nothing; print the link to hand over another way."
        )
        parser.add_argument("--show-link", action="store_true", help="Send, and also print the link.")
        parser.add_argument(
            "--language",
            choices=[code for code, _name in settings.LANGUAGES],
            default=settings.LANGUAGE_CODE,
            help="Language of the message (default: LANGUAGE_CODE, now %(default)s).",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object with a list of results.")

    def handle(self, *args, **options):
        try:
            site_url = site_url_for_links(options["site_url"])
            if not options["dry_run"]:
                describe_mailer(options["using"])  # an unknown alias or unusable mailer stops here
        except MailProblem as problem:
            raise command_error(problem) from None
        show_link = options["show_link"] or options["dry_run"]
        results = [
            self.deliver(
                argument,
                site_url=site_url,
                using=options["using"],
                dry_run=options["dry_run"],
                language=options["language"],
            )
            for argument in options["users"]
        ]
        if options["json"]:
            document = {"site_url": site_url, "results": [as_json(result, show_link) for result in results]}
            self.stdout.write(json.dumps(document, ensure_ascii=False, indent=2))
        else:
            for result in results:
                if not result.problem:
                    self.stdout.write(self.describe(result, show_link, options["dry_run"]))
        self.report_failures(results)

    def describe(self, result, show_link, dry_run):
        who = {"who": f"{result.username} <{result.email}>" if result.email else result.username}
        lines = [self.style.SUCCESS(self.made_text() % who) if dry_run else self.style.SUCCESS(self.sent_text() % who)]
        rows = []
        if result.sent:
            rows.append((pgettext("label", "mailer"), mailer_text(result.mailer)))
            rows += [(pgettext("label", "saved"), path) for path in result.files]
        rows.append((pgettext("label", "expires"), f"{result.expires:%Y-%m-%d %H:%M %Z} ({self.timeout_setting})"))
        if show_link:
            rows.append((pgettext("label", "link"), result.link))
        return "\n".join(lines + labelled(rows, colon=":"))

    def report_failures(self, results):
        failed = [result for result in results if result.problem]
        if not failed:
            return
        if len(results) == 1:
            raise command_error(failed[0].problem)
        for result in failed:
            self.stderr.write(f"Error: {command_error(result.problem)}")
        worst = max(result.code for result in failed)
        raise Error(
            self.failed_text() % {"failed": len(failed), "total": len(results)},
            returncode=int(worst),
        )


def as_json(result, show_link):
    document = {
        "argument": result.argument,
        "ok": result.problem is None,
        "exit_code": int(result.code),
        "username": result.username or None,
        "email": result.email or None,
        "sent": result.sent,
        "mailer": result.mailer or None,
        "files": result.files,
        "expires": timezone.localtime(result.expires).isoformat() if result.expires else None,
    }
    if show_link and result.link:
        document["link"] = result.link
    if result.problem:
        document.update(error=result.problem.message, hint=result.problem.hint or None)
    return document
