from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from users.addresses import invisible_characters, mailbox

ADDRESS_TAKEN = _("A user with this email address already exists.")


def validate_visible(address: str) -> None:
    """Refuse an address with invisible characters (U+200B, bidi controls...): it would look like another."""
    if found := invisible_characters(address):
        message = ngettext(
            "The address contains the invisible character %(characters)s. Type the address again without it "
            "(copying it from a document or a chat can bring such characters along).",
            "The address contains the invisible characters %(characters)s. Type the address again without them "
            "(copying it from a document or a chat can bring such characters along).",
            len(found),
        )
        raise ValidationError(message, code="invisible", params={"characters": ", ".join(found)})


class UserManager(DjangoUserManager):
    """Django's, with the accounts of a mailbox, and a taken address being a ValidationError.

    ``createsuperuser`` turns a ValidationError into its one-line error; the
    model's unique ``mailbox`` still decides when two requests race.
    """

    def with_address(self, address: str):
        """The accounts whose address reaches the mailbox ``address`` does (``users.addresses.mailbox``)."""
        key = mailbox(address)
        return self.filter(mailbox=key) if key else self.none()

    def refuse_taken(self, email) -> None:
        """A ValidationError on ``email`` when an account already uses the mailbox it reaches."""
        if email and self.with_address(email).exists():
            raise ValidationError({"email": ADDRESS_TAKEN})

    def create_user(self, username, email=None, password=None, **extra_fields):
        self.refuse_taken(email)
        return super().create_user(username, email, password, **extra_fields)

    def create_superuser(self, username, email=None, password=None, **extra_fields):
        self.refuse_taken(email)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """The site's user. An email address belongs to one account, whatever its spelling.

    ``mailbox``: the key of the mailbox the address reaches (``users.addresses.mailbox``),
    kept by ``save`` and unique, so ``ANNA@Example.COM`` and ``anna@ｅｘａｍｐｌｅ.com`` are
    one account's; NULL without an address. Every lookup by address goes through
    ``User.objects.with_address``. ``bulk_create`` and ``QuerySet.update`` skip ``save``:
    code that writes addresses so must set ``mailbox=mailbox(email)`` itself (as bench/ does).

    ``email_confirmed``: the owner of the address has shown they read its mail
    (the sign-up link, or a completed password reset). Accounts made any other
    way (createsuperuser, the admin, the shell) are confirmed by default; only
    the sign-up page makes unconfirmed ones, and those cannot log in yet.
    """

    # Required in every form and in createsuperuser (Django's is optional): an account
    # without an address can never get a reset message. Accounts made in code may still have none.
    email = models.EmailField(_("email address"), blank=False, validators=[validate_visible])
    # NULL, not "", for no address: unique, and many accounts may have none.
    mailbox = models.TextField(_("mailbox"), null=True, unique=True, editable=False)  # noqa: DJ001
    email_confirmed = models.BooleanField(
        _("email address confirmed"),
        default=True,
        help_text=_("Whether the owner of the address has confirmed it. Unconfirmed accounts cannot log in."),
    )

    objects = UserManager()

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    def save(self, *args, **kwargs):
        self.mailbox = mailbox(self.email) or None
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "email" in update_fields:
            kwargs["update_fields"] = {*update_fields, "mailbox"}
        super().save(*args, **kwargs)

    def validate_constraints(self, exclude=None):
        """The address taken by another account (of any spelling) is the address's error, when it is validated.

        Forms that leave the address out of validation (sign-up: the worker decides) are not told.
        """
        super().validate_constraints(exclude)
        others = type(self)._default_manager.with_address(self.email).exclude(pk=self.pk)
        if self.email and "email" not in (exclude or ()) and others.exists():
            raise ValidationError({"email": ADDRESS_TAKEN})
