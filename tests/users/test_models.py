import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError

from users.forms import UserCreationForm
from users.models import User

pytestmark = pytest.mark.django_db


def test_email_is_unique_whatever_its_letter_case():
    User.objects.create_user("anna", "anna@example.com")
    with pytest.raises(ValidationError, match="A user with this email address already exists."):
        User.objects.create_user("anna2", "ANNA@Example.COM")
    with pytest.raises(IntegrityError):  # the database's constraint, when the manager is not asked
        User.objects.create(username="anna2", email="ANNA@Example.COM")


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


def test_accounts_made_outside_sign_up_count_as_confirmed():
    assert User.objects.create_user("anna", "anna@example.com").email_confirmed
    assert User.objects.create_superuser("root", "root@example.com", "x").email_confirmed


def test_the_admins_add_form_needs_an_address():
    data = {"username": "other", "email": "", "usable_password": "true", "password1": "x-Passw0rd-1"}
    form = UserCreationForm(data={**data, "password2": "x-Passw0rd-1"})
    assert not form.is_valid()
    assert form.errors["email"] == ["This field is required."]


@pytest.mark.django_db(transaction=True)
def test_the_upgrade_marks_every_existing_account_confirmed():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("users", "0001_initial")])
    old = executor.loader.project_state([("users", "0001_initial")]).apps.get_model("users", "User")
    old.objects.create(username="anna", email="anna@example.com", password="!")
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert User.objects.get(username="anna").email_confirmed


def test_the_admin_shows_filters_and_marks_confirmed(admin_client):
    boris = User.objects.create_user("boris", "boris@example.com", email_confirmed=False)
    listing = admin_client.get("/admin/users/user/?email_confirmed__exact=0")
    rows = listing.text.split("<tbody>")[1].split("</tbody>")[0]
    assert ">boris</a>" in rows and ">admin</a>" not in rows  # the filter keeps the unconfirmed only
    assert 'class="field-email_confirmed"' in rows
    answer = admin_client.post(
        "/admin/users/user/", {"action": "mark_confirmed", "_selected_action": [boris.pk]}, follow=True
    )
    assert "1 address marked confirmed." in answer.text
    boris.refresh_from_db()
    assert boris.email_confirmed


def test_createsuperuser_refuses_an_empty_or_taken_address(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "x-Passw0rd-1")
    with pytest.raises(CommandError, match="You must use --email with --noinput."):
        call_command("createsuperuser", "--noinput", username="root", email="")
    User.objects.create_user("anna", "anna@example.com")
    with pytest.raises(CommandError, match="^A user with this email address already exists.$"):
        call_command("createsuperuser", "--noinput", username="root", email="Anna@Example.COM")
    assert not User.objects.filter(username="root").exists()
    call_command("createsuperuser", "--noinput", username="root", email="root@example.com", verbosity=0)
    assert User.objects.get(username="root").is_superuser


def answer_prompts(monkeypatch, *answers):
    """createsuperuser at a terminal: ``answers`` to its questions in turn, and the password twice."""
    given = iter(answers)
    monkeypatch.setattr("builtins.input", lambda prompt="": next(given))
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "x-Passw0rd-1")
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)


def test_createsuperuser_asks_again_for_an_empty_address(monkeypatch, capsys):
    answer_prompts(monkeypatch, "root", "", "root@example.com")
    call_command("createsuperuser", interactive=True, stdin=None)
    assert "Error: This field cannot be blank." in capsys.readouterr().err
    assert User.objects.get(username="root").email == "root@example.com"


def test_the_admins_change_form_refuses_an_empty_or_taken_address(admin_client):
    User.objects.create_user("anna", "anna@example.com")
    boris = User.objects.create_user("boris", "boris@example.com")
    page = admin_client.get(f"/admin/users/user/{boris.pk}/change/").context["adminform"].form
    data = {name: value for name, value in page.initial.items() if value is not None and name != "password"}
    data.update(groups=[], user_permissions=[], last_login_0="", last_login_1="", date_joined_0="2026-01-01")
    data.update(date_joined_1="00:00:00")
    for email, error in (("", "This field is required."), ("ANNA@example.com", "A user with this email address")):
        answer = admin_client.post(f"/admin/users/user/{boris.pk}/change/", {**data, "email": email})
        assert answer.status_code == 200 and error in answer.text
    answer = admin_client.post(f"/admin/users/user/{boris.pk}/change/", {**data, "email": "b@example.com"})
    assert answer.status_code == 302
    boris.refresh_from_db()
    assert boris.email == "b@example.com"


def test_createsuperuser_at_the_prompt_refuses_a_taken_address(monkeypatch):
    User.objects.create_user("anna", "anna@example.com")
    answer_prompts(monkeypatch, "root", "ANNA@example.com")
    with pytest.raises(CommandError, match="^A user with this email address already exists.$"):
        call_command("createsuperuser", interactive=True, stdin=None)
    assert not User.objects.filter(username="root").exists()
