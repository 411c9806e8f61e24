"""Template filters of the web outbox: sizes as the command prints them."""

from django import template

from core.mail.outbox.documents import human_size as _human_size

register = template.Library()


@register.filter
def human_size(size: int) -> str:
    return _human_size(size)
