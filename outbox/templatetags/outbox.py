"""Template filters of the web outbox."""

from django import template

from outbox.headers import escaped

register = template.Library()


@register.filter
def visible(text: str) -> str:
    """Control and bidirectional characters as ``\\u202e`` escapes, as ``outbox show`` prints them: a file
    name with a right-to-left override (``invoice\\u202egnp.exe``) cannot pass for another (``invoiceexe.png``)."""
    return escaped(text)
