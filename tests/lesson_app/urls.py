from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from . import views

urlpatterns = [
    path("categories/<int:category_id>/", views.category_detail),
    path("categories/<int:category_id>/quiet/", views.nothing_sent),
    path("report/", views.send_with_attachment),
    path("tasks/new/", csrf_exempt(views.new_task)),
    path("", include("core.urls")),
]
