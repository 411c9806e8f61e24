"""Keys in links that work once: signed, expiring, and bound to the account's state.

A key is ``signing.dumps([pk, *data, state], salt)``. ``state`` is an HMAC of the
account's mailbox and the ``fields`` the link's use changes (its confirmation, the
password), so a key stops working once it has been used or the account has
changed. Sign-up's confirmation (users.signup) and the change of address
(users.notices) each use it with a salt and fields of their own.
"""

from __future__ import annotations

from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

from users.addresses import mailbox


def account_state(user, salt: str, fields: tuple[str, ...]) -> str:
    """Changes when the account's address or one of ``fields`` changes."""
    values = [user.pk, mailbox(getattr(user, user.get_email_field_name()) or ""), *(getattr(user, f) for f in fields)]
    return salted_hmac(salt, ":".join(map(str, values)), algorithm="sha256").hexdigest()[:32]


def make_key(user, salt: str, data: list, state: str) -> str:
    """A key for ``user`` carrying ``data``, valid while the account's state is ``state``."""
    return signing.dumps([user.pk, *data, state], salt=salt)


def read_key(key: str, salt: str, *, max_age: int, fields: tuple[str, ...], users) -> tuple[object, list] | None:
    """``(user, data)`` for a key, the user taken from ``users``; None: forged, expired, used, the account changed."""
    try:
        pk, *data, state = signing.loads(key, salt=salt, max_age=max_age)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    user = users.filter(pk=pk).first() if isinstance(state, str) else None
    if user is None or not constant_time_compare(state, account_state(user, salt, fields)):
        return None
    return user, data
