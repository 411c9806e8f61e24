"""Failed logins are limited per client and per username, on every login form of the site, over real HTTP.

The HTTP tests count against daily budgets of the same sizes as the defaults
(10 per client, 5 per username): the counting is the same, and a window ending
in the middle of a test, which a one-minute window could, is out of the way.
"""

import re

import pytest
import requests
from django.core.cache import caches

from core import settings as project_settings
from users.models import User

pytestmark = pytest.mark.django_db(transaction=True)

WRONG = re.compile(r"Please enter (a|the) correct username and password")  # the admin adds "for a staff account"
WAIT = re.compile(r"Too many login attempts\. Please wait (\d+ (?:seconds?|minutes|hours)), then try again\.")


@pytest.fixture(autouse=True)
def fresh_counters(settings):
    caches["counters"].clear()
    settings.LOGIN_RATE_PER_CLIENT = ["10/d"]
    settings.LOGIN_RATE_PER_USERNAME = ["5/d"]


@pytest.fixture
def anna():
    return User.objects.create_user("anna", "anna@example.com", "right-password-1", is_staff=True)


@pytest.fixture
def login(live_server):
    def post(username, password, *, path="/users/login/", client=None):
        """One login attempt in a fresh session; ``client`` is sent as X-Forwarded-For."""
        session = requests.Session()
        url = f"{live_server.url}{path}"
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', session.get(url).text).group(1)
        headers = {"Referer": url, **({"X-Forwarded-For": client} if client else {})}
        data = {"csrfmiddlewaretoken": token, "username": username, "password": password}
        response = session.post(url, data=data, headers=headers, allow_redirects=False)
        response.logged_in = response.status_code == 302 and "sessionid" in session.cookies
        return response

    return post


def answer(response) -> str:
    """What the form says: "wrong", "wait", or "in" (logged in)."""
    if response.logged_in:
        return "in"
    assert response.status_code == 200
    if WAIT.search(response.text):
        return "wait"
    assert WRONG.search(response.text)
    return "wrong"


def test_the_defaults_are_as_strict_as_allauths():
    """The budgets the site starts with (the fixture above swaps in daily ones for the other tests)."""
    assert project_settings.LOGIN_RATE_PER_CLIENT == ["10/m"]
    assert project_settings.LOGIN_RATE_PER_USERNAME == ["5/5m"]


def test_forty_wrong_passwords_in_a_row_then_the_right_one(login, anna):
    answers = [answer(login("anna", f"guess-{i}")) for i in range(40)]
    assert answers == ["wrong"] * 5 + ["wait"] * 35  # the 6th: 5 per username
    assert answer(login("anna", "right-password-1")) == "wait"  # refused too, the password not even checked


def test_the_eleventh_failure_from_one_client_is_refused(login, anna):
    answers = [answer(login(f"someone{i}", "guess")) for i in range(11)]
    assert answers == ["wrong"] * 10 + ["wait"]
    assert answer(login("anna", "right-password-1")) == "wait"  # every username, from this client


def test_the_sixth_failure_for_one_username_is_refused_from_any_client(settings, login, anna):
    settings.TRUSTED_PROXY_COUNT = 1
    answers = [answer(login(name, "guess", client=f"203.0.113.{i}")) for i, name in enumerate(["anna", "ANNA"] * 3)]
    assert answers == ["wrong"] * 5 + ["wait"]  # ANNA is anna: usernames are normalised like addresses
    assert answer(login("anna", "right-password-1", client="198.51.100.1")) == "wait"
    assert answer(login("boris", "guess", client="198.51.100.1")) == "wrong"  # another username has its own budget


def test_an_existing_and_an_unknown_username_get_the_same_answers(settings, login, anna):
    settings.TRUSTED_PROXY_COUNT = 1

    def errors(username):
        texts = []
        for i in range(7):
            page = login(username, "guess", client=f"203.0.113.{i}").text
            [error] = re.findall(r'<ul class="errorlist nonfield">.*?</ul>', page, re.DOTALL)
            # The wait itself depends on where each key's window ends (django-ratelimit staggers them by key).
            texts.append(re.sub(r"\d+ (seconds?|minutes?|hours?)", "N", error))
        return texts

    existing, unknown = errors("anna"), errors("nobody")
    assert existing == unknown
    assert "Too many login attempts. Please wait N, then try again." in existing[-1]


def test_every_attempt_counts_so_a_parallel_burst_cannot_slip_past(login, anna):
    # Counted before the password is checked: had only failures been counted
    # after the (slow) hash, guesses in flight at once would all get through.
    assert [answer(login("anna", "right-password-1")) for _ in range(6)] == ["in"] * 5 + ["wait"]


def test_the_admin_login_is_throttled_too(login, anna):
    answers = [answer(login("anna", "guess", path="/admin/login/")) for _ in range(6)]
    assert answers == ["wrong"] * 5 + ["wait"]
    assert answer(login("anna", "right-password-1", path="/admin/login/")) == "wait"
    assert answer(login("anna", "right-password-1")) == "wait"  # one budget for both forms
