from django.urls import include, path

from users import views

# Django's own account views and URL names (login, logout, password_change,
# password_reset, password_reset_confirm, ...), with the reset request going
# through the project's form.
urlpatterns = [
    path("password_reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("", include("django.contrib.auth.urls")),
]
