"""One rule decides which mailbox an address is (users.addresses.mailbox): for accounts, limits and lookups alike.

The rule is the one sending uses (Django converts the domain with IDNA, whose
mapping turns ``ｅｘａｍｐｌｅ.com`` into ``example.com``), so a look-alike spelling
can neither make a second account for a mailbox nor get past its budget.
Invisible characters are refused by every form. Over real HTTP, the worker drained.
"""

import pytest
import requests
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError
from django_tasks_db.models import DBTaskResult

from delivery.models import Delivery
from tests.conftest import saved_messages
from tests.delivery.queue import drain
from tests.users.test_notices import PASSWORD, ask_change, change_link, logged_in, press
from tests.users.test_reset_flow import csrf_post
from tests.users.test_signup import sign_up
from users.forms import UserCreationForm
from users.models import User
from users.reset import find_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_counters", "still_clock")]

FULL_WIDTH = "bob@ｅｘａｍｐｌｅ.com"
INVISIBLE = "The address contains the invisible character U+200B."


@pytest.fixture
def bob():
    return User.objects.create_user("bob", "bob@example.com", PASSWORD)


@pytest.mark.parametrize("look_alike", [FULL_WIDTH, "BOB@EXAMPLE.ＣＯＭ"])
def test_a_look_alike_sign_up_makes_no_second_account_and_tells_the_owner(live_server, outbox_dir, bob, look_alike):
    done = sign_up(live_server, username="mallory", email=look_alike)
    assert done.url == f"{live_server.url}/users/signup/done/"  # the same answer as for a free address
    drain()
    assert list(User.objects.values_list("username", flat=True)) == ["bob"]
    [message] = saved_messages(outbox_dir)
    assert message["To"] == "bob@example.com"
    assert [delivery.kind for delivery in Delivery.objects.all()] == ["signup_exists"]  # no confirmation


@pytest.mark.parametrize(
    ("path", "field"),
    [("/users/signup/", "email"), ("/users/signup/resend/", "email"), ("/users/password_reset/", "email")],
)
def test_an_address_with_an_invisible_character_is_refused_with_a_clear_error(live_server, path, field):
    data = {field: "gina@example.com\u200b"}
    if path == "/users/signup/":
        data.update(username="gina", password1="a-Str0ng-passphrase", password2="a-Str0ng-passphrase")
    answer = csrf_post(requests.Session(), f"{live_server.url}{path}", data)
    assert answer.status_code == 200 and answer.url == f"{live_server.url}{path}"
    assert INVISIBLE in answer.text
    assert DBTaskResult.objects.count() == 0


def test_seven_sign_ups_with_zero_width_spaces_send_nothing(settings, live_server, outbox_dir):
    settings.SIGNUP_RATE_PER_ADDRESS = ["5/d"]
    for count in range(1, 8):
        sign_up(live_server, username=f"gina{count}", email="gina@example.com" + "\u200b" * count)
    drain()
    assert not User.objects.exists()
    assert not outbox_dir.exists() or saved_messages(outbox_dir) == []


def test_the_change_of_address_refuses_invisible_characters_and_knows_a_look_alike_of_its_own(live_server, bob):
    session = logged_in(live_server, "bob")
    refused = ask_change(live_server, session, "new@example.com\u202e")
    assert "The address contains the invisible character U+202E." in refused.text
    same = ask_change(live_server, session, FULL_WIDTH)
    assert "This is already your address." in same.text
    assert DBTaskResult.objects.count() == 0


def test_a_change_to_a_look_alike_of_anothers_address_warns_its_owner(live_server, outbox_dir, bob):
    User.objects.create_user("anna", "anna@example.com", PASSWORD)
    ask_change(live_server, logged_in(live_server, "anna"), FULL_WIDTH)
    drain()
    kinds = sorted((delivery.email, delivery.kind) for delivery in Delivery.objects.all())
    assert kinds == [("anna@example.com", "email_change_requested"), ("bob@example.com", "email_taken")]


@pytest.mark.parametrize(
    ("path", "setting", "make"),
    [
        ("/users/signup/", "SIGNUP_RATE_PER_ADDRESS", None),
        ("/users/signup/resend/", "SIGNUP_RESEND_RATE_PER_ADDRESS", None),
        ("/users/password_reset/", "RESET_RATE_PER_ADDRESS", None),
        ("/users/email/", "EMAIL_CHANGE_RATE_PER_ADDRESS", "login"),
    ],
)
def test_plus_tags_share_the_mailboxs_budget(settings, live_server, bob, path, setting, make):
    """Twelve requests for carol+1@ ... carol+12@: five queued, as for carol@ alone."""
    setattr(settings, setting, ["5/d"])
    settings.SIGNUP_RATE_PER_CLIENT = settings.SIGNUP_RESEND_RATE_PER_CLIENT = ["100/d"]
    settings.RESET_RATE_PER_CLIENT = settings.EMAIL_CHANGE_RATE_PER_CLIENT = ["100/d"]
    session = logged_in(live_server, "bob") if make else requests.Session()
    for tag in range(1, 13):
        data = {"email": f"Carol+{tag}@example.com"}
        if path == "/users/signup/":
            data.update(username=f"carol{tag}", password1="a-Str0ng-passphrase", password2="a-Str0ng-passphrase")
        if path == "/users/email/":
            data["password"] = PASSWORD
        answer = csrf_post(session, f"{live_server.url}{path}", data)
        assert answer.status_code == 200 and "done" in answer.url
    assert DBTaskResult.objects.count() == 5
    csrf_post(session, f"{live_server.url}{path}", {**data, "email": "dora+1@example.com"})
    assert DBTaskResult.objects.count() == 6  # another mailbox has its own budget


def test_plus_tagged_addresses_are_still_distinct_accounts():
    User.objects.create_user("carol", "carol@example.com")
    User.objects.create_user("carol1", "carol+1@example.com")
    assert [user.username for user in User.objects.with_address("CAROL+1@Example.com")] == ["carol1"]


def test_the_model_refuses_a_second_account_for_a_mailbox_however_spelt(bob):
    for spelling in (FULL_WIDTH, "BOB@Example.COM", "bob@example.com\u200b"):
        with pytest.raises(ValidationError, match="A user with this email address already exists."):
            User.objects.create_user("mallory", spelling)
        with pytest.raises(IntegrityError):  # the database's unique mailbox, when the manager is not asked
            User.objects.create(username="mallory", email=spelling)


def test_an_international_domain_is_one_mailbox_in_unicode_and_punycode_and_any_case():
    anna = User.objects.create_user("anna", "anna@пример.рф", PASSWORD)
    assert anna.mailbox == "anna@xn--e1afmkfd.xn--p1ai"
    for spelling in ("ANNA@ПРИМЕР.РФ", "anna@xn--e1afmkfd.xn--p1ai", "Anna@Пример.рф"):
        assert find_user(spelling) == anna


def test_the_admin_refuses_invisible_characters_and_look_alikes(bob):
    data = {"username": "other", "usable_password": "true", "password1": "x-Passw0rd-1", "password2": "x-Passw0rd-1"}
    invisible = UserCreationForm(data={**data, "email": "other@example.com\u200b"})
    assert not invisible.is_valid()
    assert INVISIBLE in str(invisible.errors["email"])
    look_alike = UserCreationForm(data={**data, "email": FULL_WIDTH})
    assert not look_alike.is_valid()
    assert look_alike.errors["email"] == ["A user with this email address already exists."]


def test_resetuser_finds_the_account_of_a_full_width_spelling(outbox_dir, capsys):
    User.objects.create_user("alice", "alice@example.com", PASSWORD)
    call_command("resetuser", "ＡＬＩＣＥ@Example.COM", "--site-url", "http://127.0.0.1:8000")
    assert "Reset message sent to alice <alice@example.com>" in capsys.readouterr().out
    [message] = saved_messages(outbox_dir)
    assert message["To"] == "alice@example.com"


def test_a_changed_address_keeps_the_mailbox_in_step(live_server, outbox_dir, bob):
    """The confirmed change of address moves the account's mailbox: the old one is free, the new one taken."""
    session = logged_in(live_server, "bob")
    ask_change(live_server, session, "robert@example.com")
    drain()
    [link] = [change_link(m) for m in saved_messages(outbox_dir) if m["To"] == "robert@example.com"]
    press(session, link)
    bob.refresh_from_db()
    assert (bob.email, bob.mailbox) == ("robert@example.com", "robert@example.com")
    assert User.objects.create_user("newbob", "BOB@ｅｘａｍｐｌｅ.com").mailbox == "bob@example.com"
    with pytest.raises(ValidationError):
        User.objects.create_user("robert2", "ROBERT@example.com")


def test_the_upgrade_gives_every_account_its_mailbox_and_keeps_old_look_alikes_working():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("users", "0003_email_required")])
    old = executor.loader.project_state([("users", "0003_email_required")]).apps.get_model("users", "User")
    old.objects.create(username="bob", email="Bob@Example.com", password="!")
    old.objects.create(username="mallory", email=FULL_WIDTH, password="!")  # made before the rule
    old.objects.create(username="nomail", email="", password="!")
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    mailboxes = dict(User.objects.values_list("username", "mailbox"))
    assert mailboxes == {"bob": "bob@example.com", "mallory": None, "nomail": None}
    assert [user.username for user in User.objects.with_address("BOB@example.com")] == ["bob"]
