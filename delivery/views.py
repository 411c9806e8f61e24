"""The queue in the browser, at ``/outbox/queue/``: each message's state, and a retry for a failed one (staff only).

What ``mailqueue`` says on the terminal, from the same functions (``delivery.status``).
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.mail.errors import MailProblem
from core.staff import staff_page
from delivery import status
from delivery.models import Delivery

SHOWN = 100  # the latest deliveries on the page


@require_GET
@staff_page
def queue_page(request):
    chosen = request.GET.get("status", "")
    deliveries = Delivery.objects.defer("message", "payload").order_by("-created_at")
    if chosen in Delivery.Status.values:
        deliveries = deliveries.filter(status=chosen)
    else:
        chosen = ""
    rows = [(delivery, status.what(delivery), status.STATUS_WORDS[delivery.status]) for delivery in deliveries[:SHOWN]]
    context = {
        "rows": rows,
        "status": status.queue_status(),
        "chosen": chosen,
        "states": list(status.STATUS_WORDS.items()),
        "shown": SHOWN,
    }
    return render(request, "outbox/queue.html", context)


@require_POST
@staff_page
def retry(request, pk: int):
    try:
        status.retry([pk])
    except MailProblem as problem:
        messages.error(request, problem.message)
    else:
        messages.success(request, _("Delivery %(id)d is queued again; the worker sends it.") % {"id": pk})
    return redirect(reverse("queue:list"))
