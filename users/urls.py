from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView, TemplateView

from users import views
from users.forms import AuthenticationForm

# Django's own account views and URL names (login, logout, password_change,
# password_reset, password_reset_confirm, ...), with the reset request going
# through the project's form, the login through the throttled one, and a
# completed reset confirming the address, a changed password telling the account's
# address; then the sign-up pages and the change of address.


def lesson_spelling(name: str):
    """A permanent redirect (308: a POST stays a POST) from a lesson's hyphenated address to Django's."""
    return RedirectView.as_view(pattern_name=name, permanent=True, preserve_request=True, query_string=True)


urlpatterns = [
    path("login/", auth_views.LoginView.as_view(authentication_form=AuthenticationForm), name="login"),
    path("password_reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("signup/", views.SignupView.as_view(), name="signup"),
    path("signup/done/", TemplateView.as_view(template_name="account/signup_done.html"), name="signup_done"),
    path("signup/resend/", views.ResendConfirmationView.as_view(), name="signup_resend"),
    path(
        "signup/resend/done/",
        TemplateView.as_view(template_name="account/resend_done.html"),
        name="signup_resend_done",
    ),
    path("signup/confirm/<str:key>/", views.ConfirmView.as_view(), name="signup_confirm"),
    path("password_change/", views.PasswordChangeView.as_view(), name="password_change"),
    path("email/", views.EmailChangeView.as_view(), name="email_change"),
    path("email/done/", views.EmailChangeDoneView.as_view(), name="email_change_done"),
    path("email/confirm/<str:key>/", views.EmailChangeConfirmView.as_view(), name="email_change_confirm"),
    path("", include("django.contrib.auth.urls")),
    # The lessons' spelling of the reset request and its "check your email" page.
    path("password-reset/", lesson_spelling("password_reset")),
    path("password-reset/done/", lesson_spelling("password_reset_done")),
]
