"""A reset view given every argument Django's PasswordResetView takes (tests/users/test_reset_semantics.py)."""

from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.urls import include, path

from users import views


class OtherTokens(PasswordResetTokenGenerator):
    key_salt = "tests.reset_view_urls.OtherTokens"


urlpatterns = [
    path(
        "custom-reset/",
        views.PasswordResetView.as_view(
            subject_template_name="custom_reset/subject.txt",
            email_template_name="custom_reset/body.txt",
            html_email_template_name=None,
            from_email="Кино <noreply@cinema.example>",
            extra_email_context={"brand": "Кино"},
            token_generator=OtherTokens(),
        ),
    ),
    path("", include("core.urls")),
]
