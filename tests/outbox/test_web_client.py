"""The web outbox's pages through Django's test client: what they show, in Russian too, whatever a message holds."""

import re
from html import escape

import pytest

from tests.outbox_samples import cyrillic_reset, plain, send, use_folders, with_inline_image
from users.models import User

RU = {"HTTP_ACCEPT_LANGUAGE": "ru"}


@pytest.fixture
def folder(settings, tmp_path):
    path = tmp_path / "sent_emails"
    use_folders(settings, path)
    settings.LANGUAGE_FROM_BROWSER = True
    return path


@pytest.fixture
def staff(client, db):
    client.force_login(User.objects.create_user("admin", "admin@example.com", "x", is_staff=True))
    return client


def far_message(folder, date="Fri, 31 Dec 9999 23:59:59 -2359"):
    folder.mkdir(exist_ok=True)
    (folder / "20260101-000000-000000-00000000.eml").write_text(f"Subject: far\nDate: {date}\n\nbody\n")


@pytest.mark.parametrize("date", ["Fri, 31 Dec 9999 23:59:59 -2359", "Mon, 01 Jan 0001 00:00:00 +2359"])
def test_a_date_out_of_range_lists_as_the_files_time_on_the_page_and_in_the_api(folder, staff, date):
    far_message(folder, date)
    send(plain("near"))
    page = staff.get("/outbox/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "near" in text and "far" in text
    assert '2026-01-01 00:00 <small class="hint">(file time)</small>' in text
    answer = staff.get("/outbox/api/messages/")
    assert answer.status_code == 200
    far = next(item for item in answer.json()["messages"] if item["subject"] == "far")
    assert (far["date"], far["date_from_file"]) == ("2026-01-01T00:00:00+00:00", True)
    detail = staff.get(f"/outbox/{far['id']}/")
    assert detail.status_code == 200 and "(the time of the file: no readable Date header)" in detail.content.decode()


@pytest.mark.parametrize(
    ("query", "language", "words"),
    [("to:", {}, "The search's to: is empty."), ("since:", RU, "В поиске since: без значения.")],
)
def test_an_empty_prefix_in_the_search_box_says_so_on_the_page(folder, staff, query, language, words):
    send(plain("anything"))
    page = staff.get("/outbox/", {"q": query}, **language)
    assert page.status_code == 200
    assert f'<p class="problem">{escape(words)}</p>' in page.content.decode()
    assert staff.get("/outbox/api/messages/", {"q": query}).status_code == 400


def test_the_message_page_in_russian_labels_headers_sizes_and_lists_inline_files(folder, staff):
    message = with_inline_image()
    message.attach("отчёт.txt", "данные", "text/plain")
    send(message)
    text = staff.get("/outbox/latest/", **RU).content.decode()
    labels = re.findall(r"<dt>([^<]+)</dt>", text)
    assert labels[:4] == ["От", "Кому", "Тема", "Дата"]
    assert "Встроенный файл (1)" in text and "logo.gif</a> image/gif, 6\xa0байт" in text
    assert "отчёт.txt</a> text/plain, 13\xa0байт" in text and " B<" not in text and "KB" not in text
    [url] = re.findall(r'href="(/outbox/[0-9a-f]+/attachments/2/)"', text)
    download = staff.get(url)
    assert download.content == b"GIF89a" and download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Disposition"] == 'attachment; filename="logo.gif"'
    assert download["Content-Type"] == "application/octet-stream"


def test_the_message_page_in_russian_gives_the_date_in_russian_not_the_headers_english(folder, staff):
    message = plain("когда")
    message.extra_headers["Date"] = "Mon, 07 Dec 2026 10:40:05 +0000"
    send(message)
    text = staff.get("/outbox/latest/", **RU).content.decode()
    [date] = re.findall(r"<dt>Дата</dt><dd>([^<]+)</dd>", text)
    assert date == "7 декабря 2026 г. 10:40" and "Mon, 07 Dec" not in text


def test_the_html_frame_is_as_tall_as_its_text_within_limits(folder, staff):
    short = cyrillic_reset()
    send(short)
    text = staff.get("/outbox/latest/").content.decode()
    assert 'style="height: 9em"' in text  # two paragraphs: the least
    long = cyrillic_reset()
    long.alternatives = []
    long.attach_alternative("".join(f"<p>Line {n}</p>" for n in range(200)), "text/html")
    send(long)
    text = staff.get("/outbox/latest/").content.decode()
    assert 'style="height: 60em"' in text  # 200 lines: the most; the frame scrolls, and drags taller


def test_a_right_to_left_override_in_an_attachment_name_is_shown_escaped(folder, staff):
    message = plain("bill")
    message.attach("invoice\u202egnp.exe", b"MZ", "application/octet-stream")
    send(message)
    text = staff.get("/outbox/latest/").content.decode()
    assert "\u202e" not in text and "invoice\\u202egnp.exe</a>" in text


@pytest.mark.parametrize(
    ("language", "words"),
    [({}, ["Access denied", "You are logged in as bob."]), (RU, ["Доступ запрещён", "Вы вошли как bob."])],
)
def test_a_user_who_is_not_staff_gets_the_sites_403_page_in_their_language(folder, client, db, language, words):
    client.force_login(User.objects.create_user("bob", "bob@example.com", "x"))
    page = client.get("/outbox/", **language)
    assert page.status_code == 403
    text = page.content.decode()
    assert all(word in text for word in words)
    assert 'action="/users/logout/"' in text or "logout" in text, "the site's header, from base.html"
