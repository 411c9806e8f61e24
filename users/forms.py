from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm as DjangoAdminAuthenticationForm
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from users import limits
from users.addresses import same_mailbox
from users.messages import MessageOptions, generator_path
from users.models import User, validate_visible
from users.tasks import enqueue_password_reset


class AddressField(forms.EmailField):
    """An email address with no invisible characters (``users.models.validate_visible``), in every form."""

    default_validators = [*forms.EmailField.default_validators, validate_visible]

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 254)
        kwargs.setdefault("widget", forms.EmailInput(attrs={"autocomplete": "email"}))
        super().__init__(**kwargs)


class UserCreationForm(auth_forms.AdminUserCreationForm):
    """The admin's "Add user", with the address (required and unique, by the model)."""

    class Meta(auth_forms.AdminUserCreationForm.Meta):
        model = User
        fields = ("username", "email")


class SignupForm(auth_forms.UserCreationForm):
    """/users/signup/: username, address, password twice (AUTH_PASSWORD_VALIDATORS).

    The address is required but not checked against the accounts here: a taken
    one must get the same answer as a free one (the worker decides, users.tasks).
    The form is never saved; the view queues the account.
    """

    class Meta(auth_forms.UserCreationForm.Meta):
        model = User
        fields = ("username", "email")
        field_classes = {**auth_forms.UserCreationForm.Meta.field_classes, "email": AddressField}

    def validate_constraints(self):
        """Not the model's: its one constraint, the address not taken by another account, is left to the worker."""


class ResendConfirmationForm(forms.Form):
    email = AddressField(label=_("Email"))


class EmailChangeForm(forms.Form):
    """/users/email/: the new address and the current password (checked here).

    Whether another account uses the new address is not checked: a taken one
    gets the same answer as a free one (the worker decides, users.tasks).
    """

    error_messages = {
        "password_incorrect": _("Your password was entered incorrectly. Please enter it again."),
        "same_address": _("This is already your address."),
    }
    email = AddressField(label=_("New email address"))
    password = forms.CharField(
        label=_("Current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"])
        if same_mailbox(email, self.user.email):
            raise ValidationError(self.error_messages["same_address"], code="same_address")
        return email

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return password


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's reset form, with the message sent by a background task.

    The request only queues the address: the same work whether or not an
    account uses it, so the page takes the same time either way. The worker
    chooses the users as Django's form does (active, usable password, email
    matched regardless of case) and builds the message with the functions
    ``resetuser`` uses (``users.reset``).
    """

    email = AddressField(label=_("Email"))

    def save(
        self,
        domain_override=None,
        subject_template_name="registration/password_reset_subject.txt",
        email_template_name="registration/password_reset_email.html",
        use_https=False,
        token_generator=default_token_generator,
        from_email=None,
        request=None,
        html_email_template_name=None,
        extra_email_context=None,
    ):
        """Django's signature and defaults; every argument the view passes reaches the queued message."""
        site_url = f"{'https' if use_https else 'http'}://{domain_override or request.get_host()}"
        options = MessageOptions(
            subject_template_name=subject_template_name,
            email_template_name=email_template_name,
            html_email_template_name=html_email_template_name,
            from_email=from_email,
            extra_email_context=extra_email_context,
            token_generator=generator_path(token_generator),
            language=translation.get_language(),
        )
        enqueue_password_reset(self.cleaned_data["email"], site_url, options)


THROTTLED = _("Too many login attempts. Please wait %(wait)s, then try again.")


class ThrottledLoginMixin:
    """Login attempts limited per client and per username (``users.limits``), for every login form of the site.

    Each attempt is counted before the password is checked (a successful one
    too: the budgets are roomy for people and tight for guessing). Over a
    budget the form refuses with the same words whether or not the username
    exists, without checking the password (the right one is refused too).
    """

    def clean(self):
        username = self.cleaned_data.get("username")
        if username is not None and self.cleaned_data.get("password"):
            verdict = limits.check_login(self.request, username)
            if verdict.limited:
                wait = limits.in_words(verdict.retry_after)
                raise ValidationError(THROTTLED, code="throttled", params={"wait": wait})
        return super().clean()


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    """/users/password_change/: guesses at the current password limited per client and per account, as logins are.

    Each attempt is counted before the old password is checked; over a budget the
    form refuses without checking it (the right one is refused too, until the window ends).
    """

    error_messages = {
        **auth_forms.PasswordChangeForm.error_messages,
        "throttled": _("Too many attempts at the current password. Please wait %(wait)s, then try again."),
    }

    def __init__(self, user, *args, request=None, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self):
        verdict = limits.check_password_change(self.request)
        if verdict.limited:
            wait = limits.in_words(verdict.retry_after)
            raise ValidationError(self.error_messages["throttled"], code="throttled", params={"wait": wait})
        return super().clean_old_password()


UNCONFIRMED = _(
    "Your email address is not confirmed yet. Follow the link in the message we sent when you signed up, "
    "or ask for a new one."
)


class ConfirmedAddressMixin:
    """Refuse an account whose address is not confirmed, once the password is known to be right.

    ``confirm_login_allowed`` runs only after the password was checked, so a wrong
    password gets the usual error and says nothing about the address. ``unconfirmed``
    tells the template to show the link to the resend page.
    """

    unconfirmed = False

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not user.email_confirmed:
            self.unconfirmed = True
            raise ValidationError(UNCONFIRMED, code="unconfirmed")


class AuthenticationForm(ThrottledLoginMixin, ConfirmedAddressMixin, auth_forms.AuthenticationForm):
    """The login form of /users/login/."""


class AdminAuthenticationForm(ThrottledLoginMixin, ConfirmedAddressMixin, DjangoAdminAuthenticationForm):
    """The login form of /admin/login/ (``admin.site.login_form``, set in users/admin.py)."""
