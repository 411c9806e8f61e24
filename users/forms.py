from django.contrib.auth import forms as auth_forms

from core.mail.tasks import enqueue_password_reset
from users.models import User


class UserCreationForm(auth_forms.AdminUserCreationForm):
    class Meta(auth_forms.AdminUserCreationForm.Meta):
        model = User
        fields = ("username", "email")


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's reset form, with the message sent by a background task.

    The request only queues the address: the same work whether or not an
    account uses it, so the page takes the same time either way. The worker
    chooses the users as Django's form does (active, usable password, email
    matched regardless of case) and builds the message with the functions
    ``resetuser`` uses (``core.mail.reset``).
    """

    def save(self, *, request, **kwargs):
        site_url = f"{request.scheme}://{request.get_host()}"
        enqueue_password_reset(self.cleaned_data["email"], site_url)
