import functools
import logging
from collections.abc import Callable
from dataclasses import replace
from functools import partial

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.hashers import make_password
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template import loader
from django.urls import reverse, reverse_lazy
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.generic import FormView, TemplateView, View

from users import limits, notices, signup
from users.forms import EmailChangeForm, PasswordChangeForm, PasswordResetForm, ResendConfirmationForm, SignupForm
from users.limits import client_ip, in_words
from users.models import User
from users.tasks import (
    enqueue_email_change,
    enqueue_notice,
    enqueue_password_changed,
    enqueue_signup,
    enqueue_signup_confirmation,
)

logger = logging.getLogger(__name__)


def home(request):
    return render(request, "home.html")


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset request, rate limited (users.limits) and sending in the background.

    Too many requests from one client: 429 with Retry-After. Too many for one
    address: the usual "check your email" page and no message, so the limit
    says nothing about the address.
    """

    form_class = PasswordResetForm
    # Django's text template (email_template_name) and, beside it, the project's HTML alternative.
    html_email_template_name = "registration/password_reset_html_email.html"
    limited_template_name = "registration/password_reset_limited.html"

    def post(self, request, *args, **kwargs):
        verdict = limits.check_client(request)
        if verdict.limited:
            return too_many(request, verdict, self.limited_template_name)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        if limits.check_address(self.request, form.cleaned_data["email"]).limited:
            if settings.DEBUG:  # for the developer at the terminal; the page says nothing
                logger.warning(
                    "Password reset for %s dropped: over RESET_RATE_PER_ADDRESS (%s); nothing queued",
                    form.cleaned_data["email"],
                    ",".join(settings.RESET_RATE_PER_ADDRESS),
                )
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's "set a new password" page; a completed reset also confirms the address (its mail was read),
    and the account's address is told that the password was changed."""

    def form_valid(self, form):
        response = super().form_valid(form)
        signup.confirm(form.user)
        password_changed(self.request, form.user)
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change page, its guesses at the current password limited (``PasswordChangeForm``);
    the account's address is told of a change (when, from which client)."""

    form_class = PasswordChangeForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def form_valid(self, form):
        response = super().form_valid(form)
        password_changed(self.request, form.user)
        return response


def password_changed(request, user) -> None:
    """Queue the "your password was changed" notice, in the page's language (django-allauth sends one too)."""
    enqueue_password_changed(
        user,
        site_url=site_url(request),
        language=translation.get_language(),
        when=timezone.now(),
        ip=client_ip(request),
    )


# ---------------------------------------------------------------- sign-up


def site_url(request) -> str:
    """The request's own scheme and validated host, as the reset form builds its links."""
    return f"{'https' if request.is_secure() else 'http'}://{request.get_host()}"


def too_many(request, verdict, template: str = "account/limited.html"):
    """The 429 page, with Retry-After, for a client over a budget; "try again" leads back to the page."""
    page = refusal_page(template, translation.get_language(), in_words(verdict.retry_after), request.path)
    return HttpResponse(page, status=429, headers={"Retry-After": str(verdict.retry_after)})


@functools.lru_cache(maxsize=512)
def refusal_page(template: str, language: str, wait: str, again: str) -> str:
    """A 429 page, rendered once for each language, wait ("2 minutes") and page, not once per refusal.

    Refusals come in floods: rendering the page was half of a refusal's cost (bench/machines.py).
    The page holds nothing of the visitor's (no login links, no CSRF token, no messages), so one
    rendering serves every client; ``language`` is the active one, in which it is rendered.
    """
    return loader.render_to_string(template, {"wait": wait, "again": again, "LANGUAGE_CODE": language})


class QueuedRequestView(FormView):
    """A form whose accepted request queues mail, under two budgets of ``users.limits``.

    Per client (``client_budget``): over it, 429 with Retry-After. Per address, once
    the form is valid (``address_budget``): over it, the same answer as always and
    nothing queued, so the limit says nothing about the address. ``queued`` does
    the request's work (the same for every address) and returns the address and
    what queues it.
    """

    client_budget = staticmethod(limits.check_client)
    address_budget = staticmethod(limits.check_address)
    address_setting = ""  # the budget's setting, for the developer's log line
    what = ""  # "Sign-up", for the same line

    def queued(self, form) -> tuple[str, Callable[[], object]]:
        raise NotImplementedError

    def post(self, request, *args, **kwargs):
        verdict = self.client_budget(request)
        if verdict.limited:
            return too_many(request, verdict)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        email, queue = self.queued(form)
        if self.address_budget(self.request, email).limited:
            if settings.DEBUG:  # for the developer at the terminal; the page says nothing
                logger.warning("%s for %s dropped: over %s; nothing queued", self.what, email, self.address_setting)
        else:
            queue()
        return super().form_valid(form)


class SignupView(QueuedRequestView):
    """/users/signup/: the account is made by the worker, unconfirmed; the page says to check the mailbox.

    The request does the same work for a free and a taken address (hash the
    password, queue one task) and answers alike; the worker makes the account and
    sends the confirmation, or tells the address's owner that someone tried.
    """

    template_name = "account/signup.html"
    form_class = SignupForm
    success_url = reverse_lazy("signup_done")
    client_budget = staticmethod(limits.check_signup_client)
    address_budget = staticmethod(limits.check_signup_address)
    address_setting, what = "SIGNUP_RATE_PER_ADDRESS", "Sign-up"

    def queued(self, form):
        email = User.objects.normalize_email(form.cleaned_data["email"])
        password = make_password(form.cleaned_data["password1"])  # the task carries the hash, never the password
        return email, partial(
            enqueue_signup,
            username=form.cleaned_data["username"],
            email=email,
            password=password,
            site_url=site_url(self.request),
            language=translation.get_language(),
        )


class ResendConfirmationView(QueuedRequestView):
    """/users/signup/resend/: a new confirmation for an unconfirmed address; the same answer for every address."""

    template_name = "account/resend_form.html"
    form_class = ResendConfirmationForm
    success_url = reverse_lazy("signup_resend_done")
    client_budget = staticmethod(limits.check_resend_client)
    address_budget = staticmethod(limits.check_resend_address)
    address_setting, what = "SIGNUP_RESEND_RATE_PER_ADDRESS", "Resend"

    def queued(self, form):
        email = form.cleaned_data["email"]
        return email, partial(enqueue_signup_confirmation, email, site_url(self.request), translation.get_language())


class ConfirmView(View):
    """The link in the confirmation: a page with a button (GET changes nothing, so a mail scanner
    following links confirms nothing, as django-allauth does); the POST confirms and leads to the login."""

    template_name = "account/signup_confirm.html"

    def get(self, request, key):
        return render(request, self.template_name, {"validlink": signup.user_for_key(key) is not None})

    def post(self, request, key):
        user = signup.user_for_key(key)
        if user is None or not signup.confirm(user):
            return render(request, self.template_name, {"validlink": False})
        messages.success(request, _("Your email address is confirmed. You can log in now."))
        return HttpResponseRedirect(reverse("login"))


# ---------------------------------------------------------------- change of address


class EmailChangeView(LoginRequiredMixin, QueuedRequestView):
    """/users/email/: the new address and the password; the worker sends the link to the new address.

    The page answers alike whether or not another account uses the new address
    (the worker decides, as for sign-up), and the address changes only when the
    link is followed (``EmailChangeConfirmView``).
    """

    template_name = "account/email_change.html"
    form_class = EmailChangeForm
    success_url = reverse_lazy("email_change_done")
    client_budget = staticmethod(limits.check_email_change_client)
    address_budget = staticmethod(limits.check_email_change_address)
    address_setting, what = "EMAIL_CHANGE_RATE_PER_ADDRESS", "Change of address"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def queued(self, form):
        email = form.cleaned_data["email"]  # normalised by the form
        return email, partial(
            enqueue_email_change,
            self.request.user,
            email,
            site_url=site_url(self.request),
            language=translation.get_language(),
            when=timezone.now(),
            ip=client_ip(self.request),
        )


class EmailChangeDoneView(LoginRequiredMixin, TemplateView):
    template_name = "account/email_change_done.html"


class EmailChangeConfirmView(View):
    """The link sent to the new address: a page with a button (GET changes nothing), the POST changes the address,
    marks it confirmed, and queues a short notice to the old one."""

    template_name = "account/email_change_confirm.html"

    def get(self, request, key):
        change = notices.change_for_key(key)
        if change is None:
            return render(request, self.template_name, {"validlink": False})
        user, new_email = change
        return render(
            request, self.template_name, {"validlink": True, "username": user.get_username(), "new_email": new_email}
        )

    def post(self, request, key):
        change = notices.change_for_key(key)
        if change is None:
            return render(request, self.template_name, {"validlink": False})
        user, new_email = change
        old_email = user.email
        if not notices.apply_change(user, new_email):
            return render(request, self.template_name, {"validlink": False})
        extra = {"new_email": new_email, "when": timezone.now().isoformat(), "ip": client_ip(request)}
        options = replace(
            notices.EMAIL_CHANGED_OPTIONS, to=old_email, language=translation.get_language(), extra_email_context=extra
        )
        if old_email:
            enqueue_notice(user, site_url(request), options)
        messages.success(request, _("Your email address is now %(email)s.") % {"email": new_email})
        return HttpResponseRedirect(reverse("home"))
