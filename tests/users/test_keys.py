"""users/keys.py: the signed keys of the confirmation and change-of-address links."""

import pytest
from django.core import signing
from django.utils.crypto import salted_hmac

from users import keys, notices, signup
from users.models import User


@pytest.fixture
def anna(db):
    return User.objects.create_user("anna", "Anna@Example.com", "old-password-1", email_confirmed=False)


def test_a_state_is_the_hmac_links_already_sent_carry(anna):
    """The state's text is as it was before keys.py existed: links in mail already sent keep working."""
    signup_text = f"{anna.pk}:anna@example.com:False"
    change_text = f"{anna.pk}:anna@example.com:False:{anna.password}"
    assert signup.confirm_key(anna) == signing.dumps(
        [anna.pk, salted_hmac(signup.SALT, signup_text, algorithm="sha256").hexdigest()[:32]], salt=signup.SALT
    )
    assert notices.change_state(anna) == salted_hmac(notices.SALT, change_text, algorithm="sha256").hexdigest()[:32]


def test_a_key_dies_when_a_field_of_its_state_changes(anna):
    key = keys.make_key(anna, "test.salt", ["extra"], keys.account_state(anna, "test.salt", ("password",)))
    read = keys.read_key(key, "test.salt", max_age=60, fields=("password",), users=User.objects.all())
    assert read == (anna, ["extra"])
    anna.set_password("new-password-2")
    anna.save()
    assert keys.read_key(key, "test.salt", max_age=60, fields=("password",), users=User.objects.all()) is None
    assert keys.read_key(key, "other.salt", max_age=60, fields=("password",), users=User.objects.all()) is None
    assert keys.read_key("forged", "test.salt", max_age=60, fields=("password",), users=User.objects.all()) is None
