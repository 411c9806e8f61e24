from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """The site's user. An email address belongs to one account, whatever its letter case.

    ``email_confirmed``: the owner of the address has shown they read its mail
    (the sign-up link, or a completed password reset). Accounts made any other
    way (createsuperuser, the admin, the shell) are confirmed by default; only
    the sign-up page makes unconfirmed ones, and those cannot log in yet.
    """

    email_confirmed = models.BooleanField(
        _("email address confirmed"),
        default=True,
        help_text=_("Whether the owner of the address has confirmed it. Unconfirmed accounts cannot log in."),
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="users_user_email_ci_unique",
                condition=~models.Q(email=""),
                violation_error_message="A user with this email address already exists.",
            ),
        ]
