"""``manage.py outbox list|show|clear``: the saved messages, from a terminal.

Reading, filtering and deleting are ``outbox``; this module parses
arguments and renders its results as text or JSON.
"""

import argparse
import base64
import json
import sys

from django.core.management.base import CommandParser
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

import outbox as ob
from core.mail.dkim import saved_signature
from core.mail.errors import ExitCode, MailProblem
from core.management.base import ProjectCommand, command_error, given, labelled, whole
from outbox.documents import message_document, summary_document
from outbox.headers import escaped


def dumps(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


encode = json.JSONEncoder(ensure_ascii=False).encode  # one encoder for every batch, not one per json.dumps call


def cut(text: str, width: int) -> str:
    """A table cell: on one line, control characters escaped, at most ``width`` characters (Django's ``Truncator``)."""
    return Truncator(escaped(" ".join(text.split()))).chars(width)


class ActionParser(CommandParser):
    """An action's parser: ``--check`` is refused without ``--links`` as argparse refuses any wrong argument."""

    def parse_known_args(self, args=None, namespace=None):
        namespace, extras = super().parse_known_args(args, namespace)
        if getattr(namespace, "check", False) and not getattr(namespace, "links", False):
            self.error(_("--check works only with --links (outbox show ID --links --check)"))
        return namespace, extras


MARKS = {True: "✓", False: "✗"}
UNCHECKED = "·"  # another site, an email address: nothing to check
UNCHECKED_STATUSES = {"elsewhere", "mail", "not_web"}


class Command(ProjectCommand):
    help = "List, show and clear the messages saved in the outbox folder (sent_emails/ by default)."
    # It only reads and deletes files in one folder: the project's system checks
    # (URLs, models, admin) are irrelevant here and cost ~15 ms of every run.
    requires_system_checks = []

    def add_arguments(self, parser):
        actions = parser.add_subparsers(
            dest="action", required=True, metavar="{list,show,clear}", parser_class=ActionParser
        )

        def folder_options(sub):
            # Django's common options belong to the main parser; after the action
            # (`outbox list --traceback`) argparse looks for them in the subparser.
            sub.add_argument("--traceback", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
            sub.add_argument(
                "-v", "--verbosity", type=int, choices=[0, 1, 2, 3], default=argparse.SUPPRESS, help=argparse.SUPPRESS
            )
            sub.add_argument("--path", metavar="DIR", help="Read this folder instead of the mailer's file_path.")
            sub.add_argument(
                "--using",
                metavar="ALIAS",
                help="The MAILERS alias whose file_path is the outbox (default: default; sent_emails/ when"
                " the default mailer sends instead).",
            )

        listing = actions.add_parser("list", help="List messages, newest first.")
        many = listing.add_mutually_exclusive_group()
        many.add_argument("--limit", type=whole, default=ob.DEFAULT_LIMIT, metavar="N", help="Show N (default 20).")
        many.add_argument("--all", action="store_true", help="Show every message.")
        listing.add_argument(
            "--to", type=given, metavar="ADDRESS", help="Only messages to this address (To, Cc or Bcc)."
        )
        listing.add_argument(
            "--search",
            metavar="TEXT",
            help="Only messages whose subject, sender or recipients hold every word of TEXT (any case); "
            "TEXT may also hold to:ADDRESS, from:TEXT, subject:TEXT, since:WHEN, before:WHEN.",
        )
        listing.add_argument(
            "--since",
            type=given,
            metavar="WHEN",
            help="Only messages since WHEN: 2h, 7d, 2026-05-01, 2026-05-01T14:30.",
        )
        listing.add_argument("--json", action="store_true", help="Print one JSON document.")
        folder_options(listing)

        show = actions.add_parser("show", help="Show one message.")
        show.add_argument(
            "id", metavar="ID", help="A message ID from `outbox list` (a unique start is enough), or latest."
        )
        part = show.add_mutually_exclusive_group()
        part.add_argument("--raw", action="store_true", help="Print the message exactly as saved.")
        part.add_argument("--html", action="store_true", help="Print the HTML part.")
        part.add_argument("--links", action="store_true", help="Print only the links, one per line.")
        show.add_argument(
            "--check",
            action="store_true",
            help="With --links: say whether each link works on this site (its page, a reset token's state); "
            "exit 7 when one does not.",
        )
        show.add_argument(
            "--save-attachments", metavar="DIR", help="Write the attachments into DIR (never replacing a file)."
        )
        show.add_argument("--json", action="store_true", help="Print one JSON document.")
        folder_options(show)

        clear = actions.add_parser("clear", help="Delete messages (all, or those matching the filters).")
        clear.add_argument(
            "--older-than", type=given, metavar="AGE", help="Only messages older than AGE (7d, 12h) or a date."
        )
        clear.add_argument("--to", type=given, metavar="ADDRESS", help="Only messages to this address (To, Cc or Bcc).")
        clear.add_argument("--dry-run", action="store_true", help="List what would be deleted; delete nothing.")
        clear.add_argument(
            "--noinput", "--no-input", action="store_false", dest="interactive", help="Do not ask for confirmation."
        )
        clear.add_argument("--json", action="store_true", help="Print one JSON document.")
        folder_options(clear)

    def handle(self, *args, action, **options):
        try:
            outbox = ob.Outbox(ob.folder_for(path=options.get("path"), using=options.get("using")))
            if not options.get("path") and not options.get("using") and ob.mailer_folder("default") is None:
                self.stderr.write(
                    _("Note: the default mailer sends instead of saving; reading %(folder)s, where mailserver saves.")
                    % {"folder": outbox.folder}
                )
            getattr(self, f"do_{action}")(outbox, **options)
        except MailProblem as problem:
            raise command_error(problem) from None

    # ------------------------------------------------------------ list

    def do_list(self, outbox, **options):
        filters = ob.parse_search(options.get("search"))
        if options.get("to"):
            filters["to"] = options["to"]
        if options.get("since"):
            filters["since"] = ob.parse_when(options["since"])
        limit = None if options.get("all") else options.get("limit") or ob.DEFAULT_LIMIT
        listing = outbox.listing(limit=limit, **filters)
        if listing.missing:
            self.stderr.write(
                _("Note: the folder %(folder)s does not exist yet: no messages were saved there.")
                % {"folder": listing.folder}
            )
        if options["json"]:
            self.list_json(listing)
        else:
            self.list_text(listing, options["verbosity"])

    def list_text(self, listing, verbosity):
        row = "{:<10}  {:<17}  {:<24}  {:<24}  {:<34}  {:>5}  {:>10}"
        header = from_file = False
        for item in listing:
            if not header:
                names = (_("Date"), _("From"), _("To"), _("Subject"), _("Att."), _("Size"))
                self.stdout.write(row.format("ID", *(name.upper() for name in names)))
                header = True
            if isinstance(item, ob.Unreadable):
                self.stdout.write(
                    self.style.WARNING(
                        f"{item.id:<10}  unreadable: {item.reason} ({escaped(item.file)}, message {item.index + 1})"
                    )
                    if item.file.endswith(ob.LOG_SUFFIX)
                    else self.style.WARNING(f"{item.id:<10}  unreadable: {item.reason} ({escaped(item.file)})")
                )
                continue
            to = item.to + item.cc + item.bcc
            recipients = to[0] + (f" +{len(to) - 1}" if len(to) > 1 else "") if to else ""
            from_file = from_file or item.date_from_file
            self.stdout.write(
                row.format(
                    item.id,
                    ("~" if item.date_from_file else "") + timezone.localtime(item.date).strftime("%Y-%m-%d %H:%M")
                    if item.date
                    else "?",
                    cut(item.sender, 24),
                    cut(recipients, 24),
                    cut(item.subject, 34),
                    item.attachments,
                    filesizeformat(item.size),
                )
            )
        if verbosity >= 1:
            if from_file:
                self.stdout.write(_("~ the time of the file: the message has no readable Date header."))
            self.stdout.write(self.list_summary(listing))

    def list_summary(self, listing) -> str:
        if not listing.total:
            return _("The outbox %(folder)s is empty.") % {"folder": listing.folder}
        values = {"shown": listing.shown, "total": listing.total, "folder": listing.folder}
        values["size"] = filesizeformat(listing.size)
        if listing.filters:
            text = ngettext(
                "%(shown)d matching shown of %(total)d message in %(folder)s (%(size)s).",
                "%(shown)d matching shown of %(total)d messages in %(folder)s (%(size)s).",
                listing.total,
            )
        else:
            text = ngettext(
                "%(shown)d shown of %(total)d message in %(folder)s (%(size)s).",
                "%(shown)d shown of %(total)d messages in %(folder)s (%(size)s).",
                listing.total,
            )
        text %= values
        if listing.unreadable:
            text += " " + _("%(count)d unreadable.") % {"count": len(listing.unreadable)}
        if not listing.complete:
            text += " " + _("--all or --limit N shows more.")
        return text

    def list_json(self, listing):
        # Written as it is read, so that 100,000 messages need little memory; still one document.
        write = self.stdout.write
        write(f'{{"folder": {json.dumps(str(listing.folder))}, "messages": [', ending="")
        batch, separator, tz = [], "", timezone.get_current_timezone()
        for item in listing:
            if isinstance(item, ob.Unreadable):
                self.stderr.write(f"Unreadable: {escaped(item.file)}: {item.reason}")
                continue
            batch.append(summary_document(item, tz))
            if len(batch) >= 1000:  # one encode call for many rows: half the cost of one per row
                write(separator + encode(batch)[1:-1], ending="")
                batch, separator = [], ", "
        if batch:
            write(separator + encode(batch)[1:-1], ending="")
        tail = {
            "shown": listing.shown,
            "total": listing.total,
            "size": listing.size,
            "complete": listing.complete,
            "unreadable": [summary_document(item) for item in listing.unreadable],
        }
        write("], " + json.dumps(tail, ensure_ascii=False)[1:])

    # ------------------------------------------------------------ show

    def do_show(self, outbox, **options):
        if options.get("raw"):  # the bytes as saved, even of a message that cannot be parsed
            if options["json"]:
                self.raw_json(outbox, options["id"])
                return
            unreadable = outbox.raw(options["id"], self.write_bytes)
            if unreadable is not None:
                self.unreadable(unreadable, options["json"])
            return
        message = outbox.get(options["id"])
        if isinstance(message, ob.Unreadable):
            self.unreadable(message, options["json"])
            return
        saved = []
        if options.get("save_attachments"):
            saved = ob.save_attachments(message, options["save_attachments"])
        if options.get("html"):
            if message.html is None:
                raise MailProblem(
                    ExitCode.BAD_INPUT,
                    _("The message %(id)s has no HTML part.") % {"id": message.summary.id},
                    _("drop --html to see its text"),
                )
            if options["json"]:
                summary = message.summary
                self.stdout.write(dumps({"id": summary.id, "file": summary.file, "html": message.html}))
            else:
                self.stdout.write(message.html, ending="" if message.html.endswith("\n") else "\n")
        elif options.get("check"):
            self.show_link_checks(message, options["json"])
        elif options.get("links") and options["json"]:
            self.stdout.write(dumps(message.links))
        elif options.get("links"):
            for link in message.links:
                self.stdout.write(escaped(link))
        elif options["json"]:
            self.stdout.write(dumps(self.message_json(message, saved)))
            return
        else:
            self.show_text(message)
        for path in saved:
            self.stderr.write(_("Saved %(path)s") % {"path": path})
        if options.get("save_attachments") and not message.files:
            self.stderr.write(_("The message has no attachments; nothing was saved."))

    def show_link_checks(self, message, as_json):
        """One line per link (URL, mark, verdict), or the list as JSON; exit 7 (unhealthy) when one does not work."""
        from outbox.links import check_links  # loads the URL configuration: only when asked

        checks = check_links(message.links)
        if as_json:
            self.stdout.write(dumps([check.as_dict() for check in checks]))
        else:
            for check in checks:
                mark = UNCHECKED if check.ok and check.status in UNCHECKED_STATUSES else MARKS[check.ok]
                text = f"{escaped(check.url)}  {mark} {escaped(check.verdict)}"  # a decoded path may hold ESC
                if check.ok:
                    self.stdout.write(text)
                else:
                    self.stdout.write(self.style.ERROR(f"{text} {escaped(check.problem)} Hint: {check.hint}"))
            if not checks:
                self.stdout.write(_("The message %(id)s has no links.") % {"id": message.summary.id})
        bad = sum(not check.ok for check in checks)
        if bad:
            raise MailProblem(
                ExitCode.UNHEALTHY,
                ngettext(
                    "%(bad)d of %(count)d links of message %(id)s does not work.",
                    "%(bad)d of %(count)d links of message %(id)s do not work.",
                    bad,
                )
                % {"bad": bad, "count": len(checks), "id": message.summary.id},
                _("fix what each ✗ says, then send the message again: a saved message's links do not change"),
            )

    def unreadable(self, item, as_json):
        text = _("The message %(id)s (%(file)s) cannot be read: %(reason)s.") % {
            "id": item.id,
            "file": escaped(item.file),
            "reason": item.reason,
        }
        if item.size:  # the file has bytes: they can be seen as they are
            text += " " + _("`outbox show %(id)s --raw` prints it as saved.") % {"id": item.id}
        if as_json:
            self.stderr.write(text)
            self.stdout.write(dumps(summary_document(item)))
        else:
            self.stdout.write(self.style.WARNING(text))

    def raw_json(self, outbox, ref):
        """The bytes as saved, in one document: as text when they are UTF-8 (mail mostly is), else base64."""
        name, ident = outbox.resolve(ref)
        chunks: list[bytes] = []
        unreadable = outbox.raw(ident, chunks.append)
        if unreadable is not None:
            self.unreadable(unreadable, True)
            return
        data = b"".join(chunks)
        try:
            raw, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            raw, encoding = base64.b64encode(data).decode("ascii"), "base64"
        self.stdout.write(dumps({"id": ident, "file": name, "size": len(data), "encoding": encoding, "raw": raw}))

    def message_json(self, message, saved) -> dict:
        return {**message_document(message), "saved": [str(path) for path in saved]}

    def show_text(self, message):
        summary = message.summary
        self.stdout.write(
            self.style.MIGRATE_HEADING(_("Message %(id)s") % {"id": summary.id}) + f"  ({escaped(summary.file)})"
        )
        rows = []
        for name, value in message.headers:
            if name == "Date" and summary.date:
                value = f"{value}  ({self.shown_date(summary)})"
            rows.append((ob.header_label(name), escaped(value)))
        if summary.date_from_file and not any(name == "Date" for name, _value in message.headers):
            rows.append((ob.header_label("Date"), f"({self.shown_date(summary)})"))
        if signature := saved_signature(message.raw):
            rows.append(("DKIM", signature.words))
        self.stdout.write("\n".join(labelled(rows, colon=":", indent="")))
        self.stdout.write("")
        if message.text_from_html:
            self.stdout.write(self.style.NOTICE(_("(no text part: the HTML part as text)")))
        self.stdout.write(escaped(message.text.rstrip("\n")))
        for files, heading in (
            (message.attachments, _("Attachments (%(count)d)")),
            (message.inline, _("Inline files (%(count)d)")),
        ):
            if files:
                self.stdout.write("")
                self.stdout.write(self.style.MIGRATE_HEADING(heading % {"count": len(files)}))
            for item in files:
                name = escaped(item.name) or _("(no name)")
                self.stdout.write(f"  {name}  {escaped(item.content_type)}  {filesizeformat(item.size)}")
        if message.links:
            self.stdout.write("")
            self.stdout.write(self.style.MIGRATE_HEADING(_("Links (%(count)d)") % {"count": len(message.links)}))
            for link in message.links:
                self.stdout.write(f"  {escaped(link)}")

    @staticmethod
    def shown_date(summary) -> str:
        """The date in local time; a file's time says so."""
        moment = f"{timezone.localtime(summary.date):%Y-%m-%d %H:%M:%S %Z}"
        if summary.date_from_file:
            return _("~%(time)s, the time of the file: no readable Date header") % {"time": moment}
        return moment

    def write_bytes(self, data: bytes):
        self.stdout.written = True  # the bytes are the command's output, as a document would be
        buffer = getattr(self.stdout.stream, "buffer", None)
        if buffer is not None:
            self.stdout.flush()
            buffer.write(data)
            buffer.flush()
        else:  # a text stream (call_command with stdout=StringIO)
            self.stdout.write(data.decode("utf-8", "replace"), ending="")

    # ------------------------------------------------------------ clear

    def do_clear(self, outbox, *, interactive=True, dry_run=False, **options):
        as_json = options.get("json", False)
        before = ob.parse_when(options["older_than"], option="--older-than") if options.get("older_than") else None
        plan = ob.plan_clear(outbox, before=before, to=options.get("to"))
        where = outbox.folder
        for item in plan.kept_unreadable:
            self.stderr.write(
                _("Kept unreadable %(file)s: %(reason)s (a filter cannot tell whether it matches).")
                % {"file": escaped(item.file), "reason": item.reason}
            )
        if not plan.count and not plan.files:
            nothing = _("Nothing to delete in %(folder)s.") % {"folder": where}
            self.clear_done(where, plan, as_json, nothing, dry_run=dry_run)
            return
        what = ngettext("%(count)d message (%(size)s)", "%(count)d messages (%(size)s)", plan.count) % {
            "count": plan.count,
            "size": filesizeformat(plan.size),
        }
        if dry_run:
            if not as_json:
                for item in plan.messages:
                    self.stdout.write(f"{item.id}  {escaped(item.file)}  {cut(item.subject, 60)}")
                if not plan.messages:
                    for name in sorted(plan.files, reverse=True):  # newest first: the names start with their time
                        self.stdout.write(escaped(name))
            sentence = _("Would delete %(what)s from %(folder)s. Nothing was deleted (--dry-run).")
            self.clear_done(where, plan, as_json, sentence % {"what": what, "folder": where}, dry_run=True)
            return
        if interactive:
            if not sys.stdin.isatty():
                raise command_error(
                    MailProblem(
                        ExitCode.BAD_INPUT,
                        _(
                            "Refusing to delete %(what)s from %(folder)s without confirmation: "
                            "there is no terminal to ask."
                        )
                        % {"what": what, "folder": where},
                        _("add --noinput to delete without asking, or --dry-run to see what would go"),
                    )
                )
            # The question goes to stderr: stdout is the command's output (one JSON document with --json).
            self.stderr.write(
                _("Delete %(what)s from %(folder)s? Type 'yes' to continue, or 'no' to cancel: ")
                % {"what": what, "folder": where},
                ending="",
            )
            self.stderr.flush()
            if input().strip().lower() != "yes":
                self.clear_done(where, plan, as_json, _("Nothing was deleted."), cancelled=True)
                return
        result = ob.clear(outbox, plan)
        for name in result.skipped:
            self.stderr.write(_("Left %(name)s: it was removed or written to meanwhile.") % {"name": name})
        deleted = ngettext(
            "Deleted %(count)d message from %(folder)s: %(size)s freed.",
            "Deleted %(count)d messages from %(folder)s: %(size)s freed.",
            result.count,
        ) % {"count": result.count, "folder": where, "size": filesizeformat(result.size)}
        problem = None
        if result.failed:
            name, reason = result.failed[0]
            problem = MailProblem(
                ExitCode.BAD_INPUT,
                ngettext(
                    "%(count)d file could not be deleted or rewritten and is as it was: %(name)s (%(reason)s).",
                    "%(count)d files could not be deleted or rewritten and are as they were: %(name)s (%(reason)s)…",
                    len(result.failed),
                )
                % {"count": len(result.failed), "name": name, "reason": reason},
                _("make room on the disk or let this user write to the folder, then run clear again"),
            )
        self.clear_done(where, plan, as_json, deleted, result=result, problem=problem)
        if problem:
            raise problem

    def clear_done(self, folder, plan, as_json, sentence, *, dry_run=False, cancelled=False, result=None, problem=None):
        """The outcome of ``clear``: its sentence, or one document with what matched and what was deleted."""
        if not as_json:
            self.stdout.write(self.style.SUCCESS(sentence) if result else sentence)
            return
        result = result or ob.ClearResult()
        document = {
            "ok": problem is None,
            "folder": str(folder),
            "dry_run": dry_run,
            "cancelled": cancelled,
            "matched": {"count": plan.count, "size": plan.size},
            "messages": [summary_document(item) for item in plan.messages],
            "files": sorted(plan.files, reverse=True),
            "deleted": {"count": result.count, "size": result.size},
            "skipped": result.skipped,
            "failed": [{"file": name, "reason": reason} for name, reason in result.failed],
            "kept_unreadable": [summary_document(item) for item in plan.kept_unreadable],
        }
        if problem:
            document |= {"code": int(problem.code), "error": problem.message, "hint": problem.hint}
        self.stdout.write(dumps(document))
