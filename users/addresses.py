"""When two email addresses name the same mailbox: the one rule the site applies.

``mailbox()`` is the key of the mailbox an address reaches: the domain as the
mail is sent to it (Django's ``punycode``, IDNA with its NFKC mapping, so
``ｅｘａｍｐｌｅ.com``, ``пример.рф`` and ``xn--e1afmkfd.xn--p1ai`` are each one domain), the
local part Unicode-normalised (NFKC) and case-folded, and invisible characters
(format characters such as U+200B or U+202E, controls) dropped, so
``ＡＮＮＡ@Example.COM`` and ``anna@example.com\u200b`` are ``anna@example.com``.
Accounts store it (``User.mailbox``, unique) and are looked up by it; the forms
refuse invisible characters outright (``invisible_characters``).

``budget_key()`` is the mailbox without a ``+tag`` (``carol+1@`` is ``carol@``):
what the per-address rate limits count, never what accounts are told apart by.
"""

import contextlib
import unicodedata

from django.utils.encoding import punycode

INVISIBLE = ("Cf", "Cc")  # format (zero-width, bidi controls, soft hyphen, BOM...) and control characters


def invisible_characters(address: str) -> list[str]:
    """The invisible characters in ``address``, as ``U+200B``."""
    return [f"U+{ord(char):04X}" for char in address if unicodedata.category(char) in INVISIBLE]


def mailbox(address: str) -> str:
    """``ＡＮＮＡ@ｅｘａｍｐｌｅ.COM`` → ``anna@example.com``; "" for no address."""
    text = "".join(char for char in address if unicodedata.category(char) not in INVISIBLE)
    local, at, domain = unicodedata.normalize("NFKC", text).strip().rpartition("@")
    if not at:  # not an address: compared as text
        return domain.casefold()
    with contextlib.suppress(UnicodeError):  # else not a domain mail can go to (an empty label...): compared as text
        domain = punycode(domain)
    return f"{local.casefold()}@{domain.casefold()}"


def same_mailbox(a: str, b: str) -> bool:
    return mailbox(a) == mailbox(b)


def budget_key(address: str) -> str:
    """The mailbox without its ``+tag``: ``Carol+7@Example.com`` → ``carol@example.com``."""
    local, at, domain = mailbox(address).rpartition("@")
    return f"{local.partition('+')[0] or local}{at}{domain}"
