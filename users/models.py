from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Value
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

ADDRESS_TAKEN = _("A user with this email address already exists.")


class UserManager(DjangoUserManager):
    """Django's, and a taken address (any letter case) is a ValidationError, not the database's IntegrityError.

    ``createsuperuser`` turns a ValidationError into its one-line error; the
    model's constraint still decides when two requests race.
    """

    def _create_user_object(self, username, email, password, **extra_fields):
        user = super()._create_user_object(username, email, password, **extra_fields)
        if user.email and self.annotate(_address=Lower("email")).filter(_address=Lower(Value(user.email))).exists():
            raise ValidationError({"email": ADDRESS_TAKEN})
        return user


class User(AbstractUser):
    """The site's user. An email address belongs to one account, whatever its letter case.

    ``email_confirmed``: the owner of the address has shown they read its mail
    (the sign-up link, or a completed password reset). Accounts made any other
    way (createsuperuser, the admin, the shell) are confirmed by default; only
    the sign-up page makes unconfirmed ones, and those cannot log in yet.
    """

    # Required in every form and in createsuperuser (Django's is optional): an account
    # without an address can never get a reset message. Accounts made in code may still have none.
    email = models.EmailField(_("email address"), blank=False)
    email_confirmed = models.BooleanField(
        _("email address confirmed"),
        default=True,
        help_text=_("Whether the owner of the address has confirmed it. Unconfirmed accounts cannot log in."),
    )

    objects = UserManager()

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="users_user_email_ci_unique",
                condition=~models.Q(email=""),
                violation_error_message=ADDRESS_TAKEN,
            ),
        ]
