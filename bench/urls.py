"""The site's URLs plus ``/bench/minimal/``: a view that only answers, the limit the reset endpoint is measured against.

It runs behind the same middleware (sessions, CSRF, auth) under the same WSGI
server, so the difference from the reset endpoint is the reset's own work:
the rate-limit counters, the form, queueing the task.
"""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.http import require_POST

from core.urls import urlpatterns as site_urlpatterns


@require_POST
def minimal(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=204)


urlpatterns = [*site_urlpatterns, path("bench/minimal/", minimal)]
