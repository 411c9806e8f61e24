"""``manage.py dkimkey``: a DKIM key pair for the site, and the DNS record and ``.env`` lines that use it."""

import json
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from core.mail import dkim
from core.mail.errors import ExitCode, MailProblem
from core.mail.senderdomain import dkim_txt_record, domain_of
from core.management.base import ProjectCommand, command_error

KEY_FOLDER = ".dkim"  # in .gitignore: a private key is never committed


class Command(ProjectCommand):
    help = (
        "Make a DKIM private key for signing the site's mail, write it to a file only you can read, and "
        "print the TXT record to publish and the .env lines that turn signing on."
    )

    def add_arguments(self, parser):
        parser.add_argument("--selector", default="mail", help="The key's name in DNS (default: mail).")
        parser.add_argument("--domain", help="The signing domain (default: the domain of DEFAULT_FROM_EMAIL).")
        parser.add_argument(
            "--out", metavar="PATH", help=f"Key file (default: {KEY_FOLDER}/SELECTOR.pem), never replaced."
        )
        parser.add_argument(
            "--bits", type=int, choices=(1024, 2048, 4096), default=dkim.KEY_BITS, help="RSA key size (default 2048)."
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, **options):
        selector = options["selector"]
        if not dkim.NAME.match(selector):
            raise command_error(
                MailProblem(
                    ExitCode.BAD_INPUT,
                    _("%(selector)r is not a DNS name.") % {"selector": selector},
                    _("Use letters, digits and -, like mail."),
                )
            )
        domain = dkim.ascii_domain(options["domain"] or domain_of(settings.DEFAULT_FROM_EMAIL))
        if "." not in domain.strip(".") or not dkim.NAME.match(domain):
            raise command_error(
                MailProblem(
                    ExitCode.BAD_INPUT,
                    _("%(domain)r is not a domain receivers can look up in DNS.") % {"domain": domain},
                    _("Give the domain your mail is sent from: --domain example.com (or set DEFAULT_FROM_EMAIL)."),
                )
            )
        out = Path(options["out"] or Path(KEY_FOLDER) / f"{selector}.pem")
        path = out if out.is_absolute() else Path(settings.BASE_DIR) / out
        pem = dkim.make_private_key(options["bits"])
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            dkim.write_private_key(path, pem)
        except FileExistsError:
            raise command_error(
                MailProblem(
                    ExitCode.BAD_INPUT,
                    _("%(path)s already exists: a key in use is never replaced.") % {"path": out},
                    _("Give another --out or --selector, or delete the file if no DNS record uses it."),
                )
            ) from None
        except OSError as error:
            raise command_error(
                MailProblem(
                    ExitCode.BAD_INPUT,
                    _("%(path)s cannot be written: %(error)s") % {"path": out, "error": error.strerror or error},
                )
            ) from None
        name, record = f"{selector}._domainkey.{domain}", dkim_txt_record(pem)
        env_lines = [f"DKIM_PRIVATE_KEY={out}", f"DKIM_SELECTOR={selector}"]
        if options["domain"]:
            env_lines.append(f"DKIM_DOMAIN={domain}")
        if options["json"]:
            document = {"ok": True, "key_file": str(out), "selector": selector, "domain": domain}
            self.stdout.write(json.dumps({**document, "record_name": name, "record": record, "env": env_lines}))
            return
        self.stdout.write(_("Private key written to %(path)s (readable by you only).") % {"path": out})
        self.stdout.write("")
        self.stdout.write(_("1. Publish this TXT record in the DNS of %(domain)s:") % {"domain": domain})
        self.stdout.write(f"   {name}")
        self.stdout.write(f"   {record}")
        self.stdout.write(_("   (Some DNS panels want a value over 255 characters split into quoted parts.)"))
        self.stdout.write(_("2. Add to .env:"))
        for line in env_lines:
            self.stdout.write(f"   {line}")
        self.stdout.write(_("3. Once the record is visible, check it: python manage.py sendtestmail --check"))
