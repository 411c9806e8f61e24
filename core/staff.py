"""Pages and API for staff only: the web outbox and the queue page hold every user's mail and links."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _


def staff_page(view):
    """Staff users only: the outbox holds every user's reset links. Django's ``login_required`` sends a visitor
    to the login page; a user who is logged in but not staff gets 403 (``staff_member_required`` would send them
    to the admin's login page, where they are already logged in)."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def staff_api(view):
    """The API's ``staff_page``: JSON, never a page: 403 when not logged in as staff, 404 for a missing message."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not (request.user.is_authenticated and request.user.is_staff):
            return JsonResponse({"ok": False, "error": _("Log in as a staff user to read the outbox.")}, status=403)
        try:
            return view(request, *args, **kwargs)
        except Http404 as missing:
            return JsonResponse({"ok": False, "error": str(missing)}, status=404)

    return wrapped
