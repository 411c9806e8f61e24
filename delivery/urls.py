from django.urls import path

from delivery import views

app_name = "queue"

urlpatterns = [
    path("", views.queue_page, name="list"),
    path("<int:pk>/retry/", views.retry, name="retry"),
]
