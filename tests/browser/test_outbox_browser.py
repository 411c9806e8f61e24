"""The web outbox in Chromium: the live list, a reset from request to new password, a hostile message, two widths."""

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.mail import EmailMultiAlternatives, send_mail

from tests.browser.conftest import needs_chromium, no_sideways_scrolling, screenshot
from tests.delivery.queue import drain
from tests.outbox_samples import cyrillic_reset, plain, send
from testsupport.smtp_servers import RECIPIENT_UNKNOWN, mailers_for, refusal, smtp_server
from users.models import User

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_counters"),
    needs_chromium,
]
PASSWORD = "staff-Passw0rd-1"
QUEUE = {"BACKEND": "delivery.backend.QueueBackend", "OPTIONS": {"sends_through": "direct"}}
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201"
    "e2213bc40000000049454e44ae426082"
)


@pytest.fixture
def recorder():
    """A server on 127.0.0.1 that records every request a message makes it (and answers with a tiny image)."""
    seen: list[str] = []

    class Record(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(PNG)

        do_POST = do_GET

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Record)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seen
    finally:
        server.shutdown()
        server.server_close()


# What the hostile message's HTML would load from the recorder as the frame renders it.
LOADS = ("/stylesheet", "/remote-image.png", "/font", "/css-background")


class Traffic:
    """The requests the browser starts to one origin, and how each ended: "finished", or "failed" (blocked by CSP)."""

    def __init__(self, page, origin: str):
        self.page, self.origin = page, origin
        self.started: list[str] = []
        self.ended: list[tuple[str, str]] = []
        page.context.on("request", lambda request: self._record(request, "started"))
        page.context.on("requestfinished", lambda request: self._record(request, "finished"))
        page.context.on("requestfailed", lambda request: self._record(request, "failed"))

    def _record(self, request, what: str) -> None:
        if not request.url.startswith(self.origin):
            return
        path = request.url.removeprefix(self.origin)
        if what == "started":
            self.started.append(path)
        else:
            self.ended.append((path, what))

    def clear(self) -> None:
        self.started.clear()
        self.ended.clear()

    def settle(self, *paths: str) -> dict[str, str]:
        """Wait until the browser has started a request for each of ``paths`` and every request it started has ended."""
        deadline = time.monotonic() + 10
        while not (set(paths) <= set(self.started) and len(self.ended) == len(self.started)):
            assert time.monotonic() < deadline, f"started {self.started}, ended {self.ended}"
            self.page.wait_for_timeout(50)  # Playwright delivers the browser's events while it waits
        return dict(self.ended)


@pytest.fixture
def staff_page(live_server, outbox_dir, page):
    User.objects.create_user("admin", "admin@example.com", PASSWORD, is_staff=True)
    page.goto(f"{live_server.url}/users/login/?next=/outbox/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Outbox").wait_for()
    return page


def test_the_list_shows_a_message_as_it_arrives(live_server, staff_page):
    page = staff_page
    page.get_by_text("No messages yet").wait_for()
    send(plain("Arrived while looking"))
    page.get_by_role("link", name="Arrived while looking").wait_for(timeout=10_000)  # no reload
    assert page.get_by_text("1 message in ").is_visible()


def test_a_reset_from_the_sites_page_shows_up_with_its_link_marked_good_and_the_link_works(live_server, staff_page):
    page = staff_page
    User.objects.create_user("anna", "anna@example.com", "old-password-1")
    page.goto(f"{live_server.url}/users/password_reset/")
    page.get_by_label("Email").fill("anna@example.com")
    page.get_by_role("button", name="Send me the link").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    drain()  # the worker sends it

    page.goto(f"{live_server.url}/outbox/")
    page.get_by_role("link", name=re.compile("^Password reset on ")).click()
    link = page.locator("ul.links li").filter(has_text="/users/reset/")
    assert link.locator(".good").is_visible()
    link.get_by_role("link").click()
    page.get_by_label(re.compile(r"^New password:?$")).fill("brand-new-Passw0rd")
    page.get_by_label("New password confirmation").fill("brand-new-Passw0rd")
    page.get_by_role("button", name="Set my password").click()
    page.get_by_role("heading", name="Password set").wait_for()
    assert User.objects.get(username="anna").check_password("brand-new-Passw0rd")


def hostile(recorder_url: str) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives("Hostile", "Look at the HTML\n", "evil@example.com", ["admin@example.com"])
    message.attach_alternative(
        f"""<html><head>
<meta http-equiv="refresh" content="0;url={recorder_url}/refresh">
<base href="{recorder_url}/base/">
<style>body {{ background: url({recorder_url}/css-background); }}
@font-face {{ font-family: X; src: url({recorder_url}/font); }} p {{ font-family: X; }}</style>
<link rel="stylesheet" href="{recorder_url}/stylesheet">
</head><body>
<p>Hostile</p>
<script>fetch("{recorder_url}/script"); parent.document.title = "owned";</script>
<img src="{recorder_url}/remote-image.png" alt="remote">
<img src="broken" onerror="new Image().src = '{recorder_url}/onerror'">
<form id="out" method="post" action="/users/logout/"><button id="submit">Log out</button></form>
<script>document.getElementById("out").submit();</script>
<a id="js" href="javascript:fetch('{recorder_url}/javascript-link')">js</a>
<a id="top" href="{recorder_url}/top" target="_top">top</a>
<a id="blank" href="{recorder_url}/blank" target="_blank">blank</a>
<a id="self" href="{recorder_url}/self">self</a>
</body></html>""",
        "text/html",
    )
    return message


def test_a_hostile_message_runs_nothing_loads_nothing_and_goes_nowhere(live_server, staff_page, recorder):
    page = staff_page
    url, seen = recorder
    send(hostile(url))
    loaded: list[str] = []  # what the browser got an answer for (blocked requests fail before they leave)
    page.on("response", lambda response: loaded.append(response.url))
    traffic = Traffic(page, url)
    page.goto(f"{live_server.url}/outbox/latest/")
    frame = page.frame_locator("iframe.html")
    frame.get_by_text("Hostile").wait_for()
    for target in ("#submit", "#js", "#top", "#blank", "#self"):  # #self last: a blocked navigation blanks the frame
        frame.locator(target).click()  # returns once a navigation the click starts has started
    # Scripts and the refresh are refused as the frame is parsed; the loads are requests, blocked by CSP.
    # Once each load has ended and so has every other request the browser started, nothing is on its way.
    assert traffic.settle(*LOADS) == dict.fromkeys(LOADS, "failed")

    assert seen == []
    assert not [address for address in loaded if address.startswith(url)]
    assert page.url == f"{live_server.url}/outbox/latest/"
    assert page.title() == "Hostile"
    assert len(page.context.pages) == 1  # no popup
    page.goto(f"{live_server.url}/outbox/")
    page.get_by_role("heading", name="Outbox").wait_for()  # still logged in: the form never posted

    # The recorder does record: asked to, the message loads its remote image (and only images).
    page.goto(f"{live_server.url}/outbox/latest/")
    traffic.clear()
    page.get_by_role("link", name="Load remote images").click()
    page.frame_locator("iframe.html").get_by_text("Hostile").wait_for()
    traffic.settle(*LOADS)
    assert "/remote-image.png" in seen
    assert set(seen) <= {"/remote-image.png", "/css-background"}


@pytest.mark.parametrize("width", [1280, 390])
def test_list_and_message_fit_the_width_without_sideways_scrolling(live_server, staff_page, width):
    page = staff_page
    page.set_viewport_size({"width": width, "height": 900})
    long = plain("A subject long enough to wrap " * 4, to="someone.with.a.very.long.address@subdomain.example.com")
    send(cyrillic_reset(), long)
    page.goto(f"{live_server.url}/outbox/")
    page.get_by_role("link", name=re.compile("^A subject long")).wait_for()
    no_sideways_scrolling(page)
    screenshot(page, f"outbox-list-{width}")
    page.get_by_role("link", name=re.compile("^Восстановление")).click()
    page.get_by_role("heading", name=re.compile("^Восстановление")).wait_for()
    no_sideways_scrolling(page)
    screenshot(page, f"outbox-message-{width}")


@pytest.mark.parametrize("width", [1280, 390])
def test_the_queue_page_shows_a_failure_with_its_hint_and_sends_it_again(live_server, staff_page, settings, width):
    """The lesson's send_mail() refused by the server: failed on /outbox/queue/, "Send again", then sent."""
    page = staff_page
    page.set_viewport_size({"width": width, "height": 900})
    with smtp_server(fail=[refusal("rcpt", RECIPIENT_UNKNOWN, first=1)]) as server:
        settings.MAILERS = {**settings.MAILERS, "default": QUEUE, **mailers_for(*server, alias="direct")}
        send_mail("Вы получили данные о категории", "Вы довольны нашим сервисом?", "qwerty@mail.ru", ["user1@mail.ru"])
        drain()  # refused: failed
        send_mail("Новый комментарий к задаче", "К вашей задаче добавлен комментарий.", None, ["user2@mail.ru"])
        drain()  # sent
        page.goto(f"{live_server.url}/outbox/queue/")
        page.get_by_role("heading", name="Mail queue").wait_for()
        assert page.get_by_text("Recipient address rejected").is_visible()
        assert page.get_by_text("Hint:").first.is_visible()
        no_sideways_scrolling(page)
        screenshot(page, f"queue-{width}")
        page.get_by_role("button", name="Send again").click()
        page.get_by_text("is queued again; the worker sends it").wait_for()
        drain()
        page.reload()
        assert page.get_by_role("button", name="Send again").count() == 0
    assert server.recipients() == {"user1@mail.ru": 1, "user2@mail.ru": 1}
