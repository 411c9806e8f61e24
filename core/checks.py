"""System checks of the project's settings that are not about a mailer (those are core/mail/checks.py).

Registered from ``core.apps.CoreConfig.ready``, so ``manage.py check``, ``runserver``
(and so ``make run``) and every command that runs the checks show them. Ids are ``core.W00x``.
"""

from __future__ import annotations

from django.core.checks import Warning, register
from django.utils.translation import gettext as _

from core.env import Env


@register()
def check_renamed_variables(app_configs=None, **kwargs) -> list:
    """A variable set under its old name (``core.env.RENAMED``) still works: one line naming the new one."""
    return [
        Warning(
            _("%(old)s is deprecated: rename it to %(new)s in .env or the environment (the old name still works).")
            % {"old": old, "new": new},
            id="core.W001",
        )
        for old, new in Env().renamed().items()
    ]
