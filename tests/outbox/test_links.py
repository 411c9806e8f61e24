"""outbox.links: the verdict on each link of a saved message, with real users, tokens and URLs."""

import dataclasses
import json
import socket

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.contrib.auth.views import PasswordResetConfirmView
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from outbox.links import (
    AFTER_REDIRECT_TOKEN,
    ELSEWHERE,
    MAIL,
    MAX_LENGTH,
    OTHER,
    SITE,
    STATUSES,
    LinkCheck,
    check_link,
    check_links,
)
from testsupport.smtp_servers import HOST, free_port
from users.models import User
from users.reset import reset_context

SITE_URL = "https://cinema.example"


@pytest.fixture
def site(settings):
    """A public site: SITE_URL https://cinema.example, its hosts allowed, DEBUG off."""
    settings.SITE_URL = SITE_URL
    settings.ALLOWED_HOSTS = ["cinema.example", ".cinema.example"]
    settings.DEBUG = False
    return settings


@pytest.fixture
def anna(db):
    return User.objects.create_user("anna", "anna@example.com", "old-password-1")


def reset_link(user, site_url=SITE_URL) -> str:
    """The link the project's reset message carries (users.reset builds it for resetuser and the web form)."""
    return reset_context(user, site_url=site_url)["reset_url"]


# ---------------------------------------------------------------- password-reset links


def test_a_fresh_reset_link_is_valid_and_checking_it_does_not_use_it(site, anna):
    link = reset_link(anna)
    check = check_link(link)
    assert (check.kind, check.status, check.ok) == (SITE, "reset_valid", True)
    assert (check.url, check.url_name, check.user, check.problem, check.hint) == (
        link,
        "password_reset_confirm",
        "anna",
        "",
        "",
    )
    assert "A password-reset link for anna; its token is valid until " in check.verdict
    assert check_link(link).status == "reset_valid"  # still valid: nothing was used
    anna.refresh_from_db()
    assert anna.check_password("old-password-1")


def test_the_token_is_used_once_the_password_changed(site, anna):
    link = reset_link(anna)
    anna.set_password("brand-new-Passw0rd")
    anna.save()
    check = check_link(link)
    assert (check.status, check.ok, check.user) == ("reset_used", False, "anna")
    assert check.verdict == "A password-reset link for anna."
    assert check.problem.startswith("Its token was used or is no longer valid: the password, email or last login")
    assert "resetuser anna" in check.hint


def test_a_login_since_the_link_was_made_also_spends_it(site, anna, client):
    link = reset_link(anna)
    client.force_login(anna)  # sets last_login, which the token hashes
    assert check_link(link).status == "reset_used"


def test_a_token_older_than_password_reset_timeout_is_expired(site, anna):
    link = reset_link(anna)
    site.PASSWORD_RESET_TIMEOUT = -1  # every token is past it
    check = check_link(link)
    assert (check.status, check.ok) == ("reset_expired", False)
    assert "PASSWORD_RESET_TIMEOUT (-1 s) passed" in check.problem


@pytest.mark.parametrize("uid", ["deleted", urlsafe_base64_encode(b"999999"), "!!!", "", "bm90LWEtbnVtYmVy"])
def test_a_uid_that_names_no_user(site, anna, uid):
    if uid == "deleted":
        other = User.objects.create_user("boris", "boris@example.com", "pw")
        uid = urlsafe_base64_encode(force_bytes(other.pk))
        token = default_token_generator.make_token(other)
        other.delete()
    else:
        token = default_token_generator.make_token(anna)
    check = check_link(f"{SITE_URL}/users/reset/{uid}/{token}/")
    if not uid:  # /users/reset//token/ is no page at all
        assert check.status == "no_page"
        return
    assert (check.status, check.ok, check.user) == ("reset_unknown_user", False, "")
    assert f"Its user part ({uid}) names no user" in check.problem


def test_a_uid_too_big_for_the_database_is_an_unknown_user(site, anna):
    uid = urlsafe_base64_encode(b"9" * 40)
    assert check_link(f"{SITE_URL}/users/reset/{uid}/abc-def/").status == "reset_unknown_user"


def test_a_garbled_token_is_not_valid(site, anna):
    uid = urlsafe_base64_encode(force_bytes(anna.pk))
    for token in ("abc-def", "no-dash-here-x", "zzzzzzzzzzzzzzzzzzzzzzz-1", "-"):
        assert check_link(f"{SITE_URL}/users/reset/{uid}/{token}/").status in {"reset_used", "reset_expired"}


def test_the_address_after_the_redirect_is_not_the_link_to_mail(site, anna):
    assert PasswordResetConfirmView.reset_url_token == AFTER_REDIRECT_TOKEN
    uid = urlsafe_base64_encode(force_bytes(anna.pk))
    check = check_link(f"{SITE_URL}/users/reset/{uid}/set-password/")
    assert (check.status, check.ok) == ("reset_after_redirect", False)
    assert "browser session" in check.problem


# ---------------------------------------------------------------- this site or elsewhere


def test_pages_of_this_site_resolve_and_append_slash_counts(site):
    assert [(c.status, c.url_name) for c in check_links([f"{SITE_URL}/", f"{SITE_URL}/users/login"])] == [
        ("page", "home"),
        ("page", "login"),
    ]
    check = check_link(f"{SITE_URL}/users/password-reset/")  # the lessons' spelling: a redirect without a name
    assert check.ok and check.status == "page" and check.url_name == ""
    assert check.verdict == "A page of this site (django.views.generic.base.RedirectView)."


def test_an_unknown_path_is_no_page(site):
    check = check_link(f"{SITE_URL}/users/no-such-page/?x=1")
    assert (check.kind, check.status, check.ok) == (SITE, "no_page", False)
    assert check.problem == "No page at this address: /users/no-such-page/ matches none of the site's URLs."


def test_a_subdomain_allowed_by_allowed_hosts_is_this_site(site):
    assert check_link("https://www.cinema.example/users/login/").status == "page"


def test_another_site_is_elsewhere_and_not_checked(site):
    check = check_link("https://docs.djangoproject.com/en/6.1/")
    assert (check.kind, check.status, check.ok, check.problem) == (ELSEWHERE, "elsewhere", True, "")
    assert "docs.djangoproject.com" in check.verdict


def test_a_reset_link_to_another_host_is_a_problem(site, anna):
    check = check_link(reset_link(anna, "https://cinemahub.example"))
    assert (check.kind, check.status, check.ok) == (ELSEWHERE, "reset_elsewhere", False)
    assert "SITE_URL" in check.hint and "ALLOWED_HOSTS" in check.hint


@pytest.mark.parametrize("link", ["https://example.com/users/login/", "http://www.example.org/", "https://example.net"])
def test_a_placeholder_host_names_site_url(site, link):
    check = check_link(link)
    assert (check.status, check.ok) == ("placeholder", False)
    assert "is a placeholder" in check.problem
    assert check.hint.startswith("Set SITE_URL to the site's public address (it is https://cinema.example now)")


def test_example_com_is_a_placeholder_even_when_site_url_says_it(settings):
    settings.SITE_URL, settings.ALLOWED_HOSTS = "https://example.com", ["example.com"]
    check = check_link("https://example.com/users/login/")
    assert (check.kind, check.status) == (SITE, "placeholder")


@pytest.mark.parametrize(
    "link", ["http://127.0.0.1:8000/users/login/", "http://localhost:8000/", "http://[::1]:8000/", "http://0.0.0.0/"]
)
def test_a_link_to_this_machine_on_a_public_site(site, link):
    check = check_link(link)
    assert (check.status, check.ok) == ("local", False)
    assert "the site is https://cinema.example" in check.problem and "SITE_URL" in check.hint


@pytest.fixture
def local_port():
    """A port where a server listens on 127.0.0.1, as make run's runserver does."""
    with socket.create_server((HOST, 0)) as server:
        yield server.getsockname()[1]


def test_a_local_link_is_right_for_a_local_site(settings, anna, local_port):
    site_url = f"http://127.0.0.1:{local_port}"
    settings.SITE_URL, settings.ALLOWED_HOSTS, settings.DEBUG = site_url, [], True
    link = reset_link(anna, site_url)
    assert check_link(link).status == "reset_valid"
    assert check_link(f"http://localhost:{local_port}/").status == "page"  # DEBUG's default ALLOWED_HOSTS
    check = check_link(f"http://127.0.0.1:{local_port + 1}/users/login/")
    assert (check.status, check.ok) == ("wrong_port", False)
    assert check.problem == f"SITE_URL ({site_url}) says port {local_port}."


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "app.localhost", "[::1]", "0.0.0.0"])  # noqa: S104
def test_a_link_to_a_port_of_this_machine_where_no_server_answers_is_not_good(settings, anna, host):
    """make run PORT=8417 while .env still says SITE_URL=http://127.0.0.1:8000: the links lead nowhere."""
    port = free_port()
    settings.SITE_URL, settings.ALLOWED_HOSTS, settings.DEBUG = f"http://{host}:{port}", [], True
    for link in (reset_link(anna, settings.SITE_URL), f"http://{host}:{port}/users/login/"):
        check = check_link(link)
        assert (check.kind, check.status, check.ok) == (SITE, "not_served", False)
        assert check.verdict == f"A link to this machine, port {port}."
        assert check.problem == f"No server answers at {host}:{port}: the link opens nothing."
        assert check.hint == (
            f"Start the site on that port (make run PORT={port}), or set SITE_URL to the address the site "
            f"runs on (it is {settings.SITE_URL} now) and send the message again"
        )


def test_http_on_an_https_site_is_insecure(site, anna):
    check = check_link(reset_link(anna, "http://cinema.example"))
    assert (check.kind, check.status, check.ok) == (SITE, "insecure", False)
    assert "SITE_URL is https://cinema.example" in check.problem and "SECURE_PROXY_SSL_HEADER" in check.hint


def test_a_wildcard_in_allowed_hosts_leaves_it_to_site_url(settings):
    settings.ALLOWED_HOSTS, settings.DEBUG = ["*"], False
    settings.SITE_URL = ""
    assert check_link("https://anything.example/users/login/").kind == ELSEWHERE
    settings.SITE_URL = SITE_URL
    assert check_link(f"{SITE_URL}/users/login/").status == "page"
    assert check_link("https://anything.example/users/login/").kind == ELSEWHERE


def test_the_requests_host_is_this_site(settings):
    settings.SITE_URL, settings.ALLOWED_HOSTS, settings.DEBUG = "", ["*"], False
    assert check_link("http://review.internal:8080/users/login/", request_host="review.internal:8080").ok
    assert check_link("http://review.internal:8081/", request_host="review.internal:8080").kind == ELSEWHERE
    with socket.create_server(("::1", 0), family=socket.AF_INET6) as server:
        port = server.getsockname()[1]
        assert check_link(f"http://[::1]:{port}/", request_host=f"[::1]:{port}").status == "page"


def test_a_non_ascii_host_is_compared_as_punycode(settings):
    settings.SITE_URL, settings.ALLOWED_HOSTS, settings.DEBUG = "https://киноцентр.рф", [], False
    assert check_link("https://КИНОЦЕНТР.рф/users/login/").status == "page"
    assert check_link("https://xn--h1aaecsclpfd2a.xn--p1ai/users/login/").kind == ELSEWHERE  # another name
    settings.ALLOWED_HOSTS = ["xn--e1affnbeqp7a.xn--p1ai"]
    settings.SITE_URL = ""
    assert check_link("https://киноцентр.рф/").status == "page"


# ---------------------------------------------------------------- hostile links: a verdict, never an exception


@pytest.mark.parametrize(
    ("link", "kind", "status"),
    [
        ("javascript:alert(document.cookie)", OTHER, "refused_scheme"),
        ("JavaScript:alert(1)", OTHER, "refused_scheme"),
        ("data:text/html,<script>alert(1)</script>", OTHER, "refused_scheme"),
        ("mailto:anna@cinema.example", MAIL, "mail"),
        ("tel:+70000000000", OTHER, "not_web"),
        ("/users/login/", OTHER, "relative"),
        ("", OTHER, "relative"),
        ("https://cinema.example/" + "a" * MAX_LENGTH, OTHER, "too_long"),
        ("https://cinema.example/" + "%" * 100_000, OTHER, "too_long"),
        ("http://[::1/", OTHER, "malformed"),
        ("http://[not-an-address]/", OTHER, "malformed"),
        ("http://cinema.example:99999/", OTHER, "malformed"),
        ("http://cinema.example:port/", OTHER, "malformed"),
        ("http://", OTHER, "malformed"),
        ("http:///users/login/", OTHER, "malformed"),
        ("https://cinema.example/users/ login/", OTHER, "malformed"),
        ("https://cinema.example/\x1b[31m", OTHER, "malformed"),
        ("https://cinema.example/\x00", OTHER, "malformed"),
        ("https://under_score.example/", OTHER, "malformed"),
        ("https://" + "a" * 64 + ".example/", OTHER, "malformed"),
        ("https://a..b/", OTHER, "malformed"),
        ("https://cinema.example/%zz%ff%/", SITE, "no_page"),
        ("https://cinema.example/users/reset/%ff/%00-%zz/", SITE, "reset_unknown_user"),
        ("https://cinema.example/users/%1b[2J/", SITE, "no_page"),
        ("https://anna@cinema.example/users/login/", SITE, "userinfo"),
        ("https://cinema.example@evil.example/users/login/", ELSEWHERE, "elsewhere"),
        ("https://cinema.example.:443/users/login/", SITE, "page"),
        ("HTTPS://CINEMA.EXAMPLE/users/login/", SITE, "page"),
        ("https://[2001:db8::1]:8443/", ELSEWHERE, "elsewhere"),
        ("https://192.0.2.1/", ELSEWHERE, "elsewhere"),
        ("https://пример.испытание/", ELSEWHERE, "elsewhere"),
    ],
)
def test_hostile_links_get_a_verdict(site, db, link, kind, status):
    check = check_link(link)
    assert (check.url, check.kind, check.status) == (link, kind, status)
    assert check.ok is (not check.problem)
    assert check.verdict and (check.ok or check.hint)
    json.dumps(check.as_dict())


def test_every_status_is_documented_and_every_result_is_plain_frozen_data(site, anna):
    links = [reset_link(anna), "https://example.com/", "javascript:x", "http://[::1", "https://elsewhere.example/"]
    checks = check_links(links)
    assert [check.url for check in checks] == links
    for check in checks:
        assert isinstance(check, LinkCheck) and check.status in STATUSES
        assert set(check.as_dict()) == {f.name for f in dataclasses.fields(LinkCheck)}
        assert all(isinstance(value, (str, bool)) for value in check.as_dict().values())
        with pytest.raises(dataclasses.FrozenInstanceError):
            check.ok = True


def test_the_verdicts_speak_the_active_language(site, anna):
    link = reset_link(anna)
    anna.set_password("brand-new-Passw0rd")
    anna.save()
    with translation.override("ru"):
        check = check_link(link)
    assert check.status == "reset_used"
    assert "anna" in check.verdict and "Ссылка" in check.verdict
    assert check.problem and not any(
        "a" <= ch <= "z" for ch in check.problem.replace("anna", "").replace("SECRET_KEY", "")
    )
