"""``manage.py confirmuser``: a new sign-up confirmation for unconfirmed accounts, as the resend page sends it.

``resetuser``'s arguments, output, ``--json`` and exit codes (``--dry-run`` prints the
link and sends nothing); only the message differs.
"""

from django.utils.translation import gettext as _

from core.management.commands.resetuser import Command as ResetUserCommand
from users.signup import confirm_user


class Command(ResetUserCommand):
    help = (
        "Send a new confirmation message to accounts whose address is not confirmed yet, exactly as "
        "/users/signup/resend/ would (same templates and link), and say what happened. Each argument is "
        "an email address (any letter case) or, failing that, a username."
    )
    deliver = staticmethod(confirm_user)
    timeout_setting = "SIGNUP_CONFIRM_TIMEOUT"

    def made_text(self) -> str:
        return _("Confirmation link made for %(who)s (nothing sent: --dry-run)")

    def sent_text(self) -> str:
        return _("Confirmation message sent to %(who)s")

    def failed_text(self) -> str:
        return _("%(failed)d of %(total)d confirmations failed.")
