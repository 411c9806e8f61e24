"""The language of each page: the visitor's choice, else the site's, else the browser's.

Django's ``LocaleMiddleware`` prefers the browser's Accept-Language to
``LANGUAGE_CODE``. Here a site that sets ``LANGUAGE_CODE`` in its environment
speaks that language to every visitor, whatever the browser says (a learner who
writes ``LANGUAGE_CODE=ru`` gets a Russian site in an English browser); the
header's switch (Django's ``set_language`` cookie) still lets each visitor
choose. With ``LANGUAGE_CODE`` unset (``LANGUAGE_FROM_BROWSER``), the browser's
language decides, as in Django.
"""

from django.conf import settings
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils import translation


class LocaleMiddleware(DjangoLocaleMiddleware):
    def process_request(self, request):
        if settings.LANGUAGE_FROM_BROWSER:
            return super().process_request(request)
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        translation.activate(chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE)
        request.LANGUAGE_CODE = translation.get_language()
