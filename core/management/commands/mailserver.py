import asyncio
import json
from datetime import datetime

from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from core.mail.config import is_loopback
from core.mail.errors import MailProblem
from core.management.base import ProjectCommand, command_error, number, seconds
from mailserver import launch
from mailserver.profiles import PROFILES
from mailserver.server import DEFAULT_PORT

SECURITY_WORDS = {
    "none": gettext_lazy("no encryption"),
    "starttls": "STARTTLS",
    "ssl": gettext_lazy("SSL from the first byte"),
}


port_number = number(
    int, 0, 65535, gettext_lazy("a port number"), gettext_lazy("is not between 1 and 65535 (0: any free port)")
)
size = number(int, 1, 2**63, gettext_lazy("a number of bytes"), gettext_lazy("must be 1 or more"))


class Command(ProjectCommand):
    help = (
        "Receive mail over SMTP on this machine and save each message into the outbox (sent_emails/), "
        "where `outbox` shows it. --like yandex|gmail|mailru rehearses that provider's logins, security "
        "and refusals; --fail RULE adds faults that repeat exactly. Exit status: 0 stopped, 2 bad input, "
        "3 configuration."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default: 127.0.0.1).")
        parser.add_argument(
            "--port", type=port_number, default=DEFAULT_PORT, help="Port (default: 1025; 0: any free port)."
        )
        security = parser.add_mutually_exclusive_group()
        security.add_argument(
            "--ssl", action="store_const", dest="security", const="ssl", help="SSL from the first byte (as on 465)."
        )
        security.add_argument(
            "--starttls", action="store_const", dest="security", const="starttls", help="Offer STARTTLS (as on 587)."
        )
        logins = parser.add_mutually_exclusive_group()
        logins.add_argument(
            "--login",
            action="append",
            default=[],
            metavar="USER:PASSWORD",
            help="Accept this login only (repeat for more); a login is then required.",
        )
        logins.add_argument("--any-login", action="store_true", help="Accept any login; require none.")
        parser.add_argument(
            "--like",
            choices=sorted(PROFILES),
            help="Behave as this provider does (default security: --ssl; a login you@<provider> is made).",
        )
        parser.add_argument(
            "--fail",
            action="append",
            default=[],
            metavar="RULE",
            help="A fault, STAGE:ACTION[:OPTION]..., like data:451:first=2 or rcpt:550:match=*@blocked.example "
            "(see docs/mailserver.md).",
        )
        parser.add_argument("--max-size", type=size, metavar="BYTES", help="Refuse larger messages (default: 32 MiB).")
        parser.add_argument(
            "--timeout",
            type=seconds,
            default=60.0,
            metavar="SECONDS",
            help="Hang up on a client silent this long, or slower than this for one message (default: 60).",
        )
        folder = parser.add_mutually_exclusive_group()
        folder.add_argument("--path", metavar="DIR", help="Save into this folder.")
        folder.add_argument("--using", metavar="ALIAS", help="Save into the folder of this file mailer.")
        parser.add_argument("--json", action="store_true", help="Print one JSON document when listening.")

    def handle(self, *args, **options):
        try:
            plan = launch.plan(
                host=options["host"],
                port=options["port"],
                security=options["security"] or "none",
                logins=options["login"],
                any_login=options["any_login"],
                like=options["like"],
                fail=options["fail"],
                max_size=options["max_size"],
                timeout=options["timeout"],
                path=options["path"],
                using=options["using"],
            )
            if not options["json"] and options["verbosity"] > 0:
                plan.config.on_event = self.show_event
            server = launch.make_server(plan.config, from_path=bool(options["path"]))
        except MailProblem as problem:
            raise command_error(problem) from None
        try:
            asyncio.run(server.serve(lambda server: self.started(server, plan, options)))
        except OSError as error:
            raise command_error(launch.listen_problem(error, plan.config)) from None
        if not options["json"] and options["verbosity"] > 0:
            saved = server.handler.saved
            self.stdout.write(
                ngettext("Stopped: %(count)d message saved.", "Stopped: %(count)d messages saved.", saved)
                % {"count": saved}
            )

    # ---------------------------------------------------------------- output

    def started(self, server, plan, options) -> None:
        url, separate = launch.env_lines(server, plan.login)
        config = server.config
        # On stderr whatever the output: --json and --verbosity 0 are no reason to hide an open door.
        if not is_loopback(config.host):
            self.stderr.write(
                self.style.WARNING(
                    _("Warning: listening on %(host)s accepts mail from other machines on the network.")
                    % {"host": config.host}
                )
            )
        if options["json"]:
            document = {
                "ok": True,
                "host": config.host,
                "port": server.port,
                "security": config.security,
                "folder": str(config.folder),
                "like": config.profile.name if config.profile else None,
                "login": plan.login.user if plan.login else None,
                "ca_file": str(config.certificates.ca_file) if config.certificates else None,
                "fail": [rule.written for rule in config.faults.rules],
                "max_size": config.size_limit,
                "env": {"url": url, "separate": separate},
            }
            self.stdout.write(json.dumps(document, ensure_ascii=False))
            self.stdout.flush()
            return
        if options["verbosity"] == 0:
            return
        write = self.stdout.write
        where = {"where": f"{config.host}:{server.port}", "security": SECURITY_WORDS[config.security]}
        write(self.style.SUCCESS(_("mailserver is listening on %(where)s (%(security)s).") % where))
        write(
            _("Messages are saved in %(folder)s; `%(command)s` shows them.")
            % {"folder": config.folder, "command": launch.outbox_command(config.folder)}
        )
        if config.profile:
            write(self.profile_text(config, plan))
        if config.certificates:
            made = _("made now") if plan.certificates_made else _("kept from an earlier run")
            write(
                _("CA file: %(path)s (%(made)s); the site trusts it for this mailer only, through ssl_cafile.")
                % {"path": config.certificates.ca_file, "made": made}
            )
        for rule in config.faults.rules:
            write(_("Fault: %(rule)s") % {"rule": rule.written})
        write("")
        write(_("To send this site's mail here, put in .env either"))
        write(f"  {url}")
        write(_("or"))
        for line in separate:
            write(f"  {line}")
        if plan.login and not plan.login.shown:
            write(_("(EMAIL_HOST_PASSWORD is the password given with --login; it is not shown.)"))
        if plan.login:
            write(_("and leave DEFAULT_FROM_EMAIL unset: the sender is then the login."))
        write(_("Then start the site again (make run). Ctrl+C stops this server."))
        self.stdout.flush()

    def profile_text(self, config, plan) -> str:
        profile = config.profile
        real_port = "465" if config.security == "ssl" else "587"
        values = {
            "who": profile.who,
            "whose": profile.whose,
            "host": f"{profile.host}:{real_port}",
            "login": plan.login.user,
            "mib": config.size_limit // (1024 * 1024),
        }
        lines = [
            _(
                "Rehearsing %(whose)s (%(host)s): a login is required (%(login)s), any password but its app "
                "password is refused, messages up to %(mib)s MiB."
            )
            % values
        ]
        if profile.not_owner:
            lines.append(_("A sender other than %(login)s is refused, as %(who)s refuses it.") % values)
        else:
            lines.append(_("A sender other than %(login)s is replaced by it, as %(who)s does.") % values)
        return "\n".join(lines)

    def show_event(self, event) -> None:
        stamp = datetime.now().strftime("%H:%M:%S")
        if event.kind == "saved":
            received = event.received
            text = _("saved %(name)s from %(sender)s to %(recipients)s (%(size)s)") % {
                "name": event.text,
                "sender": received.mail_from,
                "recipients": ", ".join(received.rcpt_tos),
                "size": filesizeformat(received.size),
            }
            self.stdout.write(f"{stamp} {event.peer} {text}")
        else:
            self.stdout.write(f"{stamp} {event.peer} {event.kind}: {event.text}")
        self.stdout.flush()
