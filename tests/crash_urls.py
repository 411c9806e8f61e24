"""The project's URLs plus ``/crash/``, a page that fails (tests only)."""

from django.urls import path

from core.urls import urlpatterns as project_urlpatterns


def crash(request):
    raise RuntimeError("the test page failed on purpose")


urlpatterns = [*project_urlpatterns, path("crash/", crash)]
