"""The web outbox at /outbox/ over real HTTP: who may see it, search, message parts, downloads, delete, the API."""

import json
import re

import pytest
import requests
from django.core.mail import EmailMessage, EmailMultiAlternatives

import outbox as ob
from tests.conftest import manage
from tests.outbox_samples import CYRILLIC_SUBJECT, cyrillic_reset, log_file, plain, send, use_folders
from tests.users.test_reset_flow import csrf_post
from users.models import User

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_counters")]
PASSWORD = "staff-Passw0rd-1"


@pytest.fixture
def folder(settings, tmp_path):
    path = tmp_path / "sent_emails"
    use_folders(settings, path)
    return path


def logged_in(live_server, username: str, **flags) -> requests.Session:
    User.objects.create_user(username, f"{username}@example.com", PASSWORD, **flags)
    session = requests.Session()
    answer = csrf_post(session, f"{live_server.url}/users/login/", {"username": username, "password": PASSWORD})
    assert answer.url == f"{live_server.url}/", answer.text
    return session


@pytest.fixture
def staff(live_server):
    return logged_in(live_server, "admin", is_staff=True)


def ids_in(page_text: str) -> list[str]:
    return re.findall(r'href="/outbox/([0-9a-f]{10})/', page_text)


def csrf_token(session, url) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', session.get(url).text).group(1)


# ---------------------------------------------------------------- who may see it


@pytest.mark.parametrize("path", ["/outbox/", "/outbox/latest/", "/outbox/latest/raw/", "/outbox/clear/"])
def test_anonymous_visitors_get_the_login_page(live_server, folder, path):
    send(plain("Secret link"))
    answer = requests.get(f"{live_server.url}{path}", allow_redirects=False)
    assert answer.status_code == 302
    assert answer.headers["Location"] == f"/users/login/?next={path}"


def test_users_who_are_not_staff_get_403_and_the_api_says_so_in_json(live_server, folder):
    send(plain("Secret link"))
    session = logged_in(live_server, "boris")
    assert session.get(f"{live_server.url}/outbox/").status_code == 403
    assert session.get(f"{live_server.url}/outbox/latest/html/").status_code == 403
    api = session.get(f"{live_server.url}/outbox/api/messages/")
    assert api.status_code == 403
    assert api.json() == {"ok": False, "error": "Log in as a staff user to read the outbox."}
    assert "Secret link" not in api.text
    anonymous = requests.get(f"{live_server.url}/outbox/api/messages/latest/")
    assert (anonymous.status_code, anonymous.json()["ok"]) == (403, False)


def test_staff_see_the_list_and_the_home_page_links_to_it(live_server, folder, staff):
    send(cyrillic_reset(), plain("Second"))
    page = staff.get(f"{live_server.url}/outbox/")
    assert page.status_code == 200
    assert "2 messages in " in page.text
    assert CYRILLIC_SUBJECT in page.text and "Second" in page.text
    assert 'href="/outbox/"' in staff.get(f"{live_server.url}/").text
    others = logged_in(live_server, "boris")
    assert 'href="/outbox/"' not in others.get(f"{live_server.url}/").text


# ---------------------------------------------------------------- the list and its search


def test_the_list_is_newest_first_and_pages_by_50(live_server, folder, staff):
    send(*[plain(f"#{n:03}") for n in range(60)])
    first = staff.get(f"{live_server.url}/outbox/")
    subjects = re.findall(r">(#\d{3})</a>", first.text)
    assert subjects == [f"#{n:03}" for n in range(59, 9, -1)]
    assert 'href="/outbox/?page=2"' in first.text
    second = staff.get(f"{live_server.url}/outbox/?page=2")
    assert re.findall(r">(#\d{3})</a>", second.text) == [f"#{n:03}" for n in range(9, -1, -1)]
    assert "?page=3" not in second.text
    assert staff.get(f"{live_server.url}/outbox/?page=x").status_code == 200  # a bad page number is page 1


@pytest.mark.parametrize(
    "query",
    ["reset", "ВОССТАНОВЛЕНИЕ", "to:anna@example.com", "from:cinema", "subject:second", "анна since:1h", "nothing"],
)
def test_the_search_box_finds_what_outbox_list_search_finds(live_server, folder, staff, query):
    send(cyrillic_reset(), plain("Second", to="anna@example.com"), plain("Password reset"), plain("Other"))
    log_file(folder, plain("From a log", to="anna@example.com"))
    page = staff.get(f"{live_server.url}/outbox/", params={"q": query})
    command = manage("outbox", "list", "--all", "--json", "--search", query, env={"EMAIL_URL": f"outbox://{folder}"})
    expected = [message["id"] for message in json.loads(command.stdout)["messages"]]
    assert ids_in(page.text) == expected
    api = staff.get(f"{live_server.url}/outbox/api/messages/", params={"q": query}).json()
    assert [message["id"] for message in api["messages"]] == expected


def test_a_search_with_a_bad_time_says_why_and_the_api_answers_400(live_server, folder, staff):
    send(plain("One"))
    page = staff.get(f"{live_server.url}/outbox/", params={"q": "since:yesterday"})
    assert page.status_code == 200
    assert "since: &#x27;yesterday&#x27; is not a date, a date-time or an age." in page.text
    api = staff.get(f"{live_server.url}/outbox/api/messages/", params={"q": "since:yesterday"})
    assert api.status_code == 400
    assert api.json()["hint"].startswith("For example 2h")


def test_another_file_mailer_is_chosen_with_using_and_an_unknown_one_is_404(live_server, folder, staff):
    send(plain("In the .eml"))
    send(plain("In the log"), using="log")
    both = staff.get(f"{live_server.url}/outbox/", params={"using": "log"})
    assert "In the log" in both.text  # both mailers save into the same folder here
    assert staff.get(f"{live_server.url}/outbox/", params={"using": "memory"}).status_code == 404
    assert staff.get(f"{live_server.url}/outbox/", params={"using": "nope"}).status_code == 404


def test_an_unreadable_file_is_a_row_that_says_why(live_server, folder, staff):
    send(plain("Fine"))
    (folder / "20000101-000000-000000-00000001.eml").write_bytes(b"")
    page = staff.get(f"{live_server.url}/outbox/")
    assert "unreadable: empty file (20000101-000000-000000-00000001.eml)" in page.text
    ident = ob.Outbox(folder).resolve("20000101-000000-000000-00000001.eml")[1]
    message = staff.get(f"{live_server.url}/outbox/{ident}/")
    assert message.status_code == 422 and "empty file" in message.text


# ---------------------------------------------------------------- one message


def html_message() -> EmailMultiAlternatives:
    message = EmailMultiAlternatives("With HTML", "The text part\n", "site@example.com", ["anna@example.com"])
    message.attach_alternative('<p>Hello</p><img src="https://images.example/x.png">', "text/html")
    return message


def test_a_message_page_shows_headers_text_and_the_html_in_a_sandboxed_frame(live_server, folder, staff):
    send(html_message())
    page = staff.get(f"{live_server.url}/outbox/latest/")
    assert page.status_code == 200
    assert "<dt>To</dt><dd>anna@example.com</dd>" in page.text
    assert "The text part" in page.text
    [frame] = re.findall(r"<iframe[^>]*>", page.text)
    assert 'sandbox=""' in frame
    ident = ob.Outbox(folder).resolve("latest")[1]
    assert f'src="/outbox/{ident}/html/"' in frame
    policy = page.headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'self'") and "unsafe-inline" not in policy.split("style-src")[0]
    assert "frame-src 'self'" in policy and "frame-ancestors 'none'" in policy


def test_the_html_part_is_sandboxed_and_loads_nothing_remote_unless_asked(live_server, folder, staff):
    send(html_message())
    ident = ob.Outbox(folder).resolve("latest")[1]
    html = staff.get(f"{live_server.url}/outbox/{ident}/html/")
    assert html.headers["Content-Type"] == "text/html; charset=utf-8"
    policy = html.headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'none'") and "sandbox" in policy.split("; ")
    assert "img-src data:;" in policy + ";" and "https:" not in policy
    assert html.headers["X-Frame-Options"] == "SAMEORIGIN"
    remote = staff.get(f"{live_server.url}/outbox/{ident}/html/?remote=1")
    assert "img-src data: https: http:" in remote.headers["Content-Security-Policy"]
    asked = staff.get(f"{live_server.url}/outbox/{ident}/?remote=1")
    assert f'src="/outbox/{ident}/html/?remote=1"' in asked.text
    assert staff.get(f"{live_server.url}/outbox/{ident}/").text.count("Load remote images") == 1


def test_the_source_is_plain_text_that_no_browser_sniffs(live_server, folder, staff):
    message = plain("<script>alert(1)</script>", body="<html><script>alert(2)</script></html>\n")
    send(message)
    raw = staff.get(f"{live_server.url}/outbox/latest/raw/")
    assert raw.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert raw.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in raw.headers["Content-Security-Policy"]
    assert b"<script>alert(2)</script>" in raw.content
    assert raw.content == (folder / sorted(p.name for p in folder.glob("*.eml"))[0]).read_bytes()


def test_attachments_download_as_files_with_safe_names_never_inline(live_server, folder, staff):
    message = EmailMessage("Files", "See attached\n", "site@example.com", ["anna@example.com"])
    message.attach("../../etc/отчёт.html", "<script>alert(1)</script>", "text/html")
    message.attach("data.bin", b"\x00\x01binary", "application/octet-stream")
    send(message)
    page = staff.get(f"{live_server.url}/outbox/latest/")
    assert "отчёт.html" in page.text and "Attachments (2)" in page.text
    first = staff.get(f"{live_server.url}/outbox/latest/attachments/1/")
    assert first.headers["Content-Type"] == "application/octet-stream"
    assert first.headers["Content-Disposition"] == "attachment; filename*=utf-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.html"
    assert first.headers["X-Content-Type-Options"] == "nosniff"
    assert first.content == ob.Outbox(folder).get("latest").attachments[0].data == b"<script>alert(1)</script>\n"
    second = staff.get(f"{live_server.url}/outbox/latest/attachments/2/")
    assert second.content == b"\x00\x01binary"
    assert second.headers["Content-Disposition"] == 'attachment; filename="data.bin"'
    assert staff.get(f"{live_server.url}/outbox/latest/attachments/3/").status_code == 404
    assert staff.get(f"{live_server.url}/outbox/latest/attachments/0/").status_code == 404


@pytest.mark.parametrize("ref", ["ffffffffff", "zz", "%2E%2E", "latest%2F..%2F..%2Fetc"])
def test_an_unknown_or_hostile_id_is_404(live_server, folder, staff, ref):
    send(plain("One"))
    assert staff.get(f"{live_server.url}/outbox/{ref}/").status_code == 404
    assert staff.get(f"{live_server.url}/outbox/{ref}/raw/").status_code == 404
    assert staff.get(f"{live_server.url}/outbox/api/messages/{ref}/").status_code == 404


# ---------------------------------------------------------------- delete and clear


def test_delete_needs_the_csrf_token_and_then_removes_only_that_message(live_server, folder, staff):
    send(plain("Keep"), plain("Remove"))
    outbox = ob.Outbox(folder)
    ident = outbox.resolve("latest")[1]
    refused = staff.post(f"{live_server.url}/outbox/{ident}/delete/", allow_redirects=False)
    assert refused.status_code == 403
    assert len(outbox.files()) == 2
    token = csrf_token(staff, f"{live_server.url}/outbox/{ident}/")
    done = staff.post(
        f"{live_server.url}/outbox/{ident}/delete/", data={"csrfmiddlewaretoken": token}, allow_redirects=False
    )
    assert (done.status_code, done.headers["Location"]) == (302, "/outbox/")
    assert [item.subject for item in outbox.listing()] == ["Keep"]
    assert staff.get(f"{live_server.url}/outbox/{ident}/delete/").status_code == 405


def test_clearing_a_search_asks_first_then_deletes_only_what_it_finds(live_server, folder, staff):
    send(plain("Reset", to="anna@example.com"), plain("Reset", to="boris@example.com"))
    log_file(folder, plain("Logged", to="anna@example.com"), plain("Logged", to="boris@example.com"))
    url = f"{live_server.url}/outbox/clear/?q=to%3Aanna%40example.com"
    question = staff.get(url)
    assert "Delete the 2 messages the search “to:anna@example.com” finds" in question.text
    assert len(list(ob.Outbox(folder).listing())) == 4  # asking deleted nothing
    assert staff.post(url, data={"q": "to:anna@example.com"}).status_code == 403  # no CSRF token
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', question.text).group(1)
    staff.post(url, data={"q": "to:anna@example.com", "csrfmiddlewaretoken": token})
    assert sorted(item.to[0] for item in ob.Outbox(folder).listing()) == ["boris@example.com", "boris@example.com"]


def test_clearing_everything(live_server, folder, staff):
    send(plain("One"), plain("Two"))
    question = staff.get(f"{live_server.url}/outbox/clear/")
    assert "Delete every message, 2 (" in question.text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', question.text).group(1)
    staff.post(f"{live_server.url}/outbox/clear/", data={"csrfmiddlewaretoken": token})
    assert ob.Outbox(folder).files() == []
    assert "The outbox is empty: nothing to delete." in staff.get(f"{live_server.url}/outbox/clear/").text


# ---------------------------------------------------------------- the API


def test_the_api_lists_shows_and_deletes(live_server, folder, staff):
    send(cyrillic_reset(), plain("Second"))
    listed = staff.get(f"{live_server.url}/outbox/api/messages/", params={"per_page": 1}).json()
    assert (listed["total"], listed["page"], listed["has_next"]) == (2, 1, True)
    [newest] = listed["messages"]
    assert newest["subject"] == "Second"
    older = staff.get(f"{live_server.url}/outbox/api/messages/", params={"per_page": 1, "page": 2}).json()
    [reset] = older["messages"]
    shown = staff.get(f"{live_server.url}/outbox/api/messages/{reset['id']}/").json()
    assert shown["subject"] == CYRILLIC_SUBJECT and shown["html"].startswith("<p>Здравствуйте")
    assert shown["links"] == ["https://cinema.example/users/reset/MQ/c4v-0123456789abcdef/"]
    url = f"{live_server.url}/outbox/api/messages/{newest['id']}/"
    assert staff.delete(url).status_code == 403  # CSRF, as for any change
    token = staff.cookies["csrftoken"]
    deleted = staff.delete(url, headers={"X-CSRFToken": token, "Referer": url})
    assert deleted.json() == {"ok": True, "deleted": 1}
    assert staff.get(url).status_code == 404
    assert staff.get(url).json()["ok"] is False


def test_in_russian_the_pages_speak_russian(live_server, folder, settings):
    settings.LANGUAGE_CODE, settings.LANGUAGE_FROM_BROWSER = "ru", False
    staff = logged_in(live_server, "admin", is_staff=True)
    send(cyrillic_reset(), plain("Second"))
    page = staff.get(f"{live_server.url}/outbox/").text
    assert "<h1>Исходящие</h1>" in page and "2 письма в " in page and "Удалить все письма" in page
    message = staff.get(f"{live_server.url}/outbox/latest/").text
    assert "Исходный текст" in message and "Ссылки" not in message  # "Second" has no link
    assert "Ни одно письмо не подходит." in staff.get(f"{live_server.url}/outbox/", params={"q": "нет"}).text
