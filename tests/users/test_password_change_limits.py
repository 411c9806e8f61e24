"""Guesses at the current password on /users/password_change/ are limited per client and per account,
as logins are: counted before the password is checked, refused without checking it. Over real HTTP."""

import re

import pytest
from django_tasks_db.models import DBTaskResult

from core import settings as project_settings
from tests.users.test_notices import NEW_PASSWORD, PASSWORD, logged_in
from tests.users.test_reset_flow import csrf_post
from users.models import User

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_counters", "still_clock")]

WRONG = "Your old password was entered incorrectly."
WAIT = re.compile(r"Too many attempts at the current password\. Please wait (\d+ (?:seconds?|minutes|hours)), then")


@pytest.fixture(autouse=True)
def daily_budgets(settings):
    settings.PASSWORD_CHANGE_RATE_PER_CLIENT = ["10/d"]
    settings.PASSWORD_CHANGE_RATE_PER_ACCOUNT = ["5/d"]
    settings.LOGIN_RATE_PER_CLIENT = settings.LOGIN_RATE_PER_USERNAME = ["100/d"]


@pytest.fixture
def anna():
    return User.objects.create_user("anna", "anna@example.com", PASSWORD)


def change(live_server, session, old_password, client=None):
    """One attempt; ``client`` is sent as X-Forwarded-For (TRUSTED_PROXY_COUNT = 1)."""
    if client:
        session.headers["X-Forwarded-For"] = client
    data = {"old_password": old_password, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    answer = csrf_post(session, f"{live_server.url}/users/password_change/", data)
    if answer.url.endswith("/users/password_change/done/"):
        return "changed"
    assert answer.status_code == 200
    return "wait" if WAIT.search(answer.text) else "wrong" if WRONG in answer.text else answer.text


def test_the_defaults_are_as_strict_as_the_logins():
    assert project_settings.PASSWORD_CHANGE_RATE_PER_CLIENT == project_settings.LOGIN_RATE_PER_CLIENT == ["10/m"]
    assert project_settings.PASSWORD_CHANGE_RATE_PER_ACCOUNT == project_settings.LOGIN_RATE_PER_USERNAME == ["5/5m"]


def test_forty_guesses_then_the_right_password_is_refused_without_checking_it(live_server, anna):
    session = logged_in(live_server)
    answers = [change(live_server, session, f"guess-{i}") for i in range(40)]
    assert answers == ["wrong"] * 5 + ["wait"] * 35
    assert change(live_server, session, PASSWORD) == "wait"  # refused too: the password is not checked
    anna.refresh_from_db()
    assert anna.check_password(PASSWORD)
    assert DBTaskResult.objects.count() == 0  # no "password changed" notice


def test_the_account_budget_holds_from_another_client(settings, live_server, anna):
    settings.TRUSTED_PROXY_COUNT = 1
    session = logged_in(live_server)
    assert [change(live_server, session, "guess", client=f"203.0.113.{i}") for i in range(6)] == ["wrong"] * 5 + [
        "wait"
    ]


def test_the_client_budget_holds_for_every_account(settings, live_server, anna):
    settings.PASSWORD_CHANGE_RATE_PER_ACCOUNT = ["100/d"]
    User.objects.create_user("boris", "boris@example.com", PASSWORD)
    anna_session, boris_session = logged_in(live_server), logged_in(live_server, "boris")
    assert [change(live_server, anna_session, "guess") for _ in range(10)] == ["wrong"] * 10
    assert change(live_server, boris_session, PASSWORD) == "wait"


def test_within_the_budget_the_right_password_changes_it(live_server, anna):
    session = logged_in(live_server)
    assert [change(live_server, session, "guess") for _ in range(4)] == ["wrong"] * 4
    assert change(live_server, session, PASSWORD) == "changed"
