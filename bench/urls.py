"""The site's URLs plus what the reset endpoint is measured against: ``/bench/minimal/``, a view that only
answers (the floor), and ``/bench/stock-reset/``, Django's own ``PasswordResetView`` as the first lesson's
project runs it: the message written in the request by Django's file backend (the ``"stock"`` mailer of
bench/settings.py).

It runs behind the same middleware (sessions, CSRF, auth) under the same WSGI
server, so the difference from the reset endpoint is the reset's own work:
the rate-limit counters, the form, queueing the task.
"""

from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.views import PasswordResetView
from django.core.mail import EmailMultiAlternatives
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.urls import path
from django.views.decorators.http import require_POST

from core.urls import urlpatterns as site_urlpatterns


@require_POST
def minimal(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=204)


class SendingNow(PasswordResetForm):
    """Django's form, its message sent as Django sends it, through Django's file backend (the default mailer
    of this project queues)."""

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email, **html):
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body = loader.render_to_string(email_template_name, context)
        EmailMultiAlternatives(subject, body, from_email, [to_email]).send(using="stock")


urlpatterns = [
    *site_urlpatterns,
    path("bench/minimal/", minimal),
    path("bench/stock-reset/", PasswordResetView.as_view(form_class=SendingNow, success_url="/")),
]
