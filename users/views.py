import logging

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect
from django.shortcuts import render

from core import ratelimit
from core.ratelimit import in_words
from users.forms import PasswordResetForm

logger = logging.getLogger(__name__)


def home(request):
    return render(request, "home.html")


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset request, rate limited (core.ratelimit) and sending in the background.

    Too many requests from one client: 429 with Retry-After. Too many for one
    address: the usual "check your email" page and no message, so the limit
    says nothing about the address.
    """

    form_class = PasswordResetForm
    # Django's text template (email_template_name) and, beside it, the project's HTML alternative.
    html_email_template_name = "registration/password_reset_html_email.html"
    limited_template_name = "registration/password_reset_limited.html"

    def post(self, request, *args, **kwargs):
        verdict = ratelimit.check_client(request)
        if verdict.limited:
            context = {"retry_after": verdict.retry_after, "wait": in_words(verdict.retry_after)}
            response = render(request, self.limited_template_name, context, status=429)
            response["Retry-After"] = str(verdict.retry_after)
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        if ratelimit.check_address(self.request, form.cleaned_data["email"]).limited:
            if settings.DEBUG:  # for the developer at the terminal; the page says nothing
                logger.warning(
                    "Password reset for %s dropped: over RESET_RATE_PER_ADDRESS (%s); nothing queued",
                    form.cleaned_data["email"],
                    ",".join(settings.RESET_RATE_PER_ADDRESS),
                )
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)
