"""When two email addresses name the same mailbox: the one rule the site applies.

Django's reset form compares addresses Unicode-normalised (NFKC) and case-folded;
the rate limits key their counters the same way, and the reset command and the
queued reset pick accounts by it, so ``ＡＮＮＡ@Example.COM`` and ``anna@example.com``
are one mailbox everywhere.
"""

import unicodedata


def normalise_address(address: str) -> str:
    """``ＡＮＮＡ@Example.COM`` → ``anna@example.com``."""
    return unicodedata.normalize("NFKC", address).strip().casefold()


def same_address(a: str, b: str) -> bool:
    return normalise_address(a) == normalise_address(b)
