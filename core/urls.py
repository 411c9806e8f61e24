from django.contrib import admin
from django.urls import include, path

from users.views import home

urlpatterns = [
    path("", home, name="home"),
    path("users/", include("users.urls")),
    path("outbox/queue/", include("delivery.urls")),  # before the outbox's own: its IDs are any slug
    path("outbox/", include("outbox.urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the header's language switch
]
