from django.contrib.auth import views as auth_views
from django.urls import include, path

from users import views
from users.forms import AuthenticationForm

# Django's own account views and URL names (login, logout, password_change,
# password_reset, password_reset_confirm, ...), with the reset request going
# through the project's form and the login through the throttled one.
urlpatterns = [
    path("login/", auth_views.LoginView.as_view(authentication_form=AuthenticationForm), name="login"),
    path("password_reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("", include("django.contrib.auth.urls")),
]
