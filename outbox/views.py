"""The web outbox at ``/outbox/``: the saved messages in the browser, for staff, from ``outbox``.

Pages (list with search, a message, its HTML in a sandboxed frame, its source, its
attachments, delete and clear) and a small JSON API (``api/...``) that the live list
uses and that other projects' tests can assert on. Nothing here reads a file itself:
every read, search and deletion is the library's, as for ``manage.py outbox``.

What a hostile message cannot do: its HTML is served on its own URL with a
Content-Security-Policy that sandboxes it (no script, form, navigation, popup or
plugin) and lets it load nothing but inline styles and ``data:`` images (remote
images only when the viewer asks, for that message); the page around it allows
frames from this site only, so the frame cannot navigate elsewhere either.
Attachments and the source are downloads or plain text with ``nosniff``, never
rendered as HTML by the site's origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.csp import CSP, build_policy
from django.utils.formats import date_format
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_GET, require_http_methods, require_POST

import outbox as ob
from core.mail.dkim import saved_signature
from core.mail.errors import MailProblem
from core.staff import staff_api, staff_page
from outbox.documents import message_document, summary_document
from outbox.links import check_links
from outbox.messages import html_to_text

PER_PAGE = 50
# The HTML frame's height, in lines of 1.5em: a sandboxed frame without scripts cannot say how tall
# its content is, so the page estimates it from the HTML's text (FRAME_LINE characters a line, an
# image as IMAGE_LINES), within FRAME_LINES; the viewer can drag the frame taller.
FRAME_LINE = 70
IMAGE_LINES = 8
FRAME_LINES = (6, 40)

# The pages: scripts only with the page's nonce, frames and everything else from this site only.
PAGE_POLICY = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.NONCE],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "frame-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
# A message's HTML: sandboxed (no script, forms, popups, navigation of the page), nothing fetched.
MESSAGE_POLICY = {
    "default-src": [CSP.NONE],
    "style-src": [CSP.UNSAFE_INLINE],
    "img-src": ["data:"],
    "form-action": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.SELF],
    "sandbox": True,
}
REMOTE_IMAGES_POLICY = {**MESSAGE_POLICY, "img-src": ["data:", "https:", "http:"]}
# Downloads and the source: nothing in them runs or loads, even if a browser were to render them.
FILE_POLICY = {"default-src": [CSP.NONE], "sandbox": True}


# ---------------------------------------------------------------- which folder


def file_mailers() -> list[str]:
    """The aliases of the mailers that save to a folder, in MAILERS' order, one per folder ("default" queues
    into "direct": one folder)."""
    folders = {}
    for alias in settings.MAILERS:
        folders.setdefault(ob.mailer_folder(alias), alias)
    return [alias for folder, alias in folders.items() if folder]


def chosen_outbox(request) -> tuple[ob.Outbox, str | None]:
    """The folder of ``?using=ALIAS`` (a mailer that saves to a folder), else the command's default."""
    using = request.GET.get("using") or None
    if using is not None and (using not in settings.MAILERS or not ob.mailer_folder(using)):
        raise Http404(_("No mailer saves to a folder under that name."))
    return ob.Outbox(ob.folder_for(using=using)), using


def with_using(url: str, using: str | None, **query) -> str:
    params = {key: value for key, value in {"using": using, **query}.items() if value}
    return f"{url}?{urlencode(params)}" if params else url


# ---------------------------------------------------------------- one page of the list


@dataclass
class Page:
    items: list  # Summary | Unreadable, newest first
    number: int
    has_next: bool
    total: int  # every message in the folder
    searching: bool
    error: str = ""
    hint: str = ""

    @property
    def state(self) -> str:
        """What the live list compares with the API's answer: the count and the newest readable ID."""
        first = next((item.id for item in self.items if isinstance(item, ob.Summary)), "")
        return f"{self.total}:{first}"


def page_number(request) -> int:
    try:
        number = int(request.GET.get("page", "1"))
    except ValueError:
        return 1
    return min(max(number, 1), 10**6)


def list_page(outbox: ob.Outbox, query: str, number: int, per_page: int = PER_PAGE) -> Page:
    """Page ``number`` of the messages ``query`` finds (``outbox list --search``'s language)."""
    try:
        filters = ob.parse_search(query)
    except MailProblem as problem:
        return Page([], number, False, outbox.listing(limit=0).total, True, problem.message, problem.hint)
    listing = outbox.listing(limit=number * per_page, **filters)
    start = (number - 1) * per_page
    items = list(islice(listing, start, None))
    return Page(items, number, not listing.complete, listing.total, bool(filters))


def frame_lines(html: str) -> int:
    """How many lines of text the HTML part takes, about (``FRAME_LINE``, ``IMAGE_LINES``), within ``FRAME_LINES``."""
    lines = sum(1 + len(line) // FRAME_LINE for line in html_to_text(html).splitlines())
    lines += IMAGE_LINES * html.lower().count("<img")
    return min(max(lines + 2, FRAME_LINES[0]), FRAME_LINES[1])


def shown_header(name: str, value: str, summary: ob.Summary) -> str:
    """A header's value on the page: the Date in the page's language and the site's time zone, when it was read."""
    if name == "Date" and summary.date and not summary.date_from_file:
        return date_format(timezone.localtime(summary.date), "DATETIME_FORMAT")
    return value


def message_or_404(outbox: ob.Outbox, ref: str):
    try:
        message = outbox.get(ref)
    except MailProblem as problem:
        raise Http404(problem.message) from None
    return message


# ---------------------------------------------------------------- pages


@require_GET
@staff_page
@csp_override(PAGE_POLICY)
def message_list(request):
    outbox, using = chosen_outbox(request)
    query = request.GET.get("q", "").strip()
    page = list_page(outbox, query, page_number(request))
    context = {
        "page": page,
        "query": query,
        "using": using,
        "mailers": file_mailers(),
        "folder": outbox.folder,
        "api_url": with_using(reverse("outbox:api_list"), using, q=query),
        "previous_url": with_using(reverse("outbox:list"), using, q=query, page=page.number - 1)
        if page.number > 1
        else "",
        "next_url": with_using(reverse("outbox:list"), using, q=query, page=page.number + 1) if page.has_next else "",
        "clear_url": with_using(reverse("outbox:clear"), using, q=query),
    }
    template = "outbox/rows.html" if request.GET.get("rows") else "outbox/list.html"
    return render(request, template, context)


@require_GET
@staff_page
@csp_override(PAGE_POLICY)
def message_detail(request, ref):
    outbox, using = chosen_outbox(request)
    message = message_or_404(outbox, ref)
    remote = request.GET.get("remote") == "1"
    context = {"message": message, "using": using, "remote": remote, "folder": outbox.folder}
    if isinstance(message, ob.Message):
        ident = message.summary.id
        downloads = [
            (item, with_using(reverse("outbox:attachment", args=[ident, number]), using))
            for number, item in enumerate(message.files, start=1)
        ]
        context.update(
            headers=[
                (ob.header_label(name), shown_header(name, value, message.summary)) for name, value in message.headers
            ],
            frame_height=f"{frame_lines(message.html) * 1.5:g}em" if message.html is not None else "",
            html_url=with_using(reverse("outbox:html", args=[ident]), using, remote="1" if remote else ""),
            remote_url=with_using(reverse("outbox:detail", args=[ident]), using, remote="1"),
            raw_url=with_using(reverse("outbox:raw", args=[ident]), using),
            delete_url=with_using(reverse("outbox:delete", args=[ident]), using),
            attachments=downloads[: len(message.attachments)],
            inline=downloads[len(message.attachments) :],
            links=check_links(message.links, request_host=request.get_host()),
        )
        if signature := saved_signature(message.raw):  # signed: does it verify against DNS today?
            context["headers"].append(("DKIM", signature.words))
    return render(request, "outbox/message.html", context, status=200 if isinstance(message, ob.Message) else 422)


@require_GET
@staff_page
@xframe_options_sameorigin
def message_html(request, ref):
    outbox, _using = chosen_outbox(request)
    message = message_or_404(outbox, ref)
    if not isinstance(message, ob.Message) or message.html is None:
        raise Http404(_("This message has no HTML part."))
    response = HttpResponse(message.html, content_type="text/html; charset=utf-8")
    policy = REMOTE_IMAGES_POLICY if request.GET.get("remote") == "1" else MESSAGE_POLICY
    response[str(CSP.HEADER_ENFORCE)] = build_policy(policy)
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_GET
@staff_page
@csp_override(FILE_POLICY)
def message_raw(request, ref):
    outbox, _using = chosen_outbox(request)
    chunks: list[bytes] = []
    try:
        unreadable = outbox.raw(ref, chunks.append)
    except MailProblem as problem:
        raise Http404(problem.message) from None
    if unreadable is not None:
        raise Http404(unreadable.reason)
    response = HttpResponse(b"".join(chunks), content_type="text/plain; charset=utf-8")
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
@staff_page
@csp_override(FILE_POLICY)
def message_attachment(request, ref, number):
    outbox, _using = chosen_outbox(request)
    message = message_or_404(outbox, ref)
    if not isinstance(message, ob.Message) or not 1 <= number <= len(message.files):
        raise Http404(_("This message has no such attachment."))
    item = message.files[number - 1]  # the attachments, then the inline files: each a download
    name = ob.safe_filename(item.name, f"attachment-{number}")
    response = HttpResponse(item.data, content_type="application/octet-stream")
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@staff_page
def message_delete(request, ref):
    outbox, using = chosen_outbox(request)
    delete_messages(outbox, ids=[resolved_id(outbox, ref)])
    return redirect(with_using(reverse("outbox:list"), using))


@require_http_methods(["GET", "POST"])
@staff_page
@csp_override(PAGE_POLICY)
def message_clear(request):
    """GET: what would go, and a button; POST: delete it (all, or what the search finds)."""
    outbox, using = chosen_outbox(request)
    query = (request.POST if request.method == "POST" else request.GET).get("q", "").strip()
    try:
        filters = ob.parse_search(query)
    except MailProblem as problem:
        raise Http404(problem.message) from None
    if request.method == "POST":
        delete_messages(outbox, **filters)
        return redirect(with_using(reverse("outbox:list"), using))
    plan = ob.plan_clear(outbox, **filters)
    context = {"plan": plan, "query": query, "using": using, "folder": outbox.folder}
    context["back_url"] = with_using(reverse("outbox:list"), using, q=query)
    return render(request, "outbox/clear.html", context)


def resolved_id(outbox: ob.Outbox, ref: str) -> str:
    try:
        return outbox.resolve(ref)[1]
    except MailProblem as problem:
        raise Http404(problem.message) from None


def delete_messages(outbox: ob.Outbox, **filters) -> ob.ClearResult:
    if not outbox.folder.is_dir():
        return ob.ClearResult()
    return ob.clear(outbox, ob.plan_clear(outbox, **filters))


# ---------------------------------------------------------------- the JSON API


@require_GET
@staff_api
def api_list(request):
    """``?q=`` (the search box's language), ``?page=``, ``?per_page=`` (1 to 500), ``?using=``."""
    outbox, _using = chosen_outbox(request)
    try:
        per_page = min(max(int(request.GET.get("per_page", PER_PAGE)), 1), 500)
    except ValueError:
        per_page = PER_PAGE
    page = list_page(outbox, request.GET.get("q", "").strip(), page_number(request), per_page)
    if page.error:
        return JsonResponse({"ok": False, "error": page.error, "hint": page.hint}, status=400)
    readable = [item for item in page.items if isinstance(item, ob.Summary)]
    return JsonResponse(
        {
            "ok": True,
            "folder": str(outbox.folder),
            "total": page.total,
            "page": page.number,
            "has_next": page.has_next,
            "messages": [summary_document(item) for item in readable],
            "unreadable": [summary_document(item) for item in page.items if isinstance(item, ob.Unreadable)],
        },
        json_dumps_params={"ensure_ascii": False},
    )


@require_http_methods(["GET", "DELETE"])
@staff_api
def api_message(request, ref):
    outbox, _using = chosen_outbox(request)
    if request.method == "DELETE":
        result = delete_messages(outbox, ids=[resolved_id(outbox, ref)])
        return JsonResponse({"ok": not result.failed, "deleted": result.count})
    message = message_or_404(outbox, ref)
    if isinstance(message, ob.Unreadable):
        return JsonResponse({"ok": False, **summary_document(message)}, status=422)
    return JsonResponse({"ok": True, **message_document(message)}, json_dumps_params={"ensure_ascii": False})


@require_GET
@staff_api
def api_links(request, ref):
    outbox, _using = chosen_outbox(request)
    message = message_or_404(outbox, ref)
    if isinstance(message, ob.Unreadable):
        return JsonResponse({"ok": False, **summary_document(message)}, status=422)
    checks = [check.as_dict() for check in check_links(message.links, request_host=request.get_host())]
    return JsonResponse(
        {"ok": True, "id": message.summary.id, "links": checks}, json_dumps_params={"ensure_ascii": False}
    )
