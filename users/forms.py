from django.contrib.auth import forms as auth_forms

from core.mail.reset import send_reset_messages
from users.models import User


class UserCreationForm(auth_forms.AdminUserCreationForm):
    class Meta(auth_forms.AdminUserCreationForm.Meta):
        model = User
        fields = ("username", "email")


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's reset form, sending through the same function as ``resetuser``.

    The users are chosen by Django's own ``get_users`` (active, usable password,
    email matched regardless of case); the page answers the same either way.
    """

    def save(self, *, request, **kwargs):
        site_url = f"{request.scheme}://{request.get_host()}"
        send_reset_messages(self.get_users(self.cleaned_data["email"]), site_url=site_url, raise_errors=False)
