import pytest
from django.db import IntegrityError

from users.forms import UserCreationForm
from users.models import User

pytestmark = pytest.mark.django_db


def test_email_is_unique_whatever_its_letter_case():
    User.objects.create_user("anna", "anna@example.com")
    with pytest.raises(IntegrityError):
        User.objects.create_user("anna2", "ANNA@Example.COM")


def test_many_users_may_have_no_email():
    User.objects.create_user("a")
    User.objects.create_user("b")
    assert User.objects.filter(email="").count() == 2


def test_the_form_says_the_address_is_taken():
    User.objects.create_user("anna", "anna@example.com")
    form = UserCreationForm(
        data={
            "username": "other",
            "email": "Anna@Example.com",
            "password1": "x-Passw0rd-1",
            "password2": "x-Passw0rd-1",
        }
    )
    assert not form.is_valid()
    assert "A user with this email address already exists." in str(form.errors)
