"""Benchmark of the web outbox (``/outbox/``) against baselines measured in the same process and run.

    .venv/bin/python -m bench.web_outbox_bench [--messages 100000] [--search-messages 20000] [--rounds 5] [--keep DIR]

Server time is the time of ``django.test.Client.get`` (the whole middleware stack and
the view; no network, no browser) as a logged-in staff user, the default mailer saving
to the folder measured. The database is SQLite in a temporary folder. Each figure is the
best of ``--rounds`` requests after a warm-up request (Django's imports, templates,
translations), and both sides of a ratio are measured in the same rounds, taking turns.

1. The list page, ``GET /outbox/``, on ``--messages`` messages vs on the newest 100 of
   them (target ≤ 1.5×, steady state). "Cold" is the first request to each folder: no
   index yet and nothing of the folder cached in this process (the files themselves are
   in the OS's page cache: they were just written); "warm" is the best of the rounds.
2. A search, ``GET /outbox/?q=WORD``, over ``--search-messages`` messages vs
   ``outbox list --all --search WORD --path DIR`` called in this process (``call_command``,
   stdout to a StringIO: no start-up on either side), WORD found in 1 message of 1000 so
   that both read the whole folder (target ≤ 1.5×). Cold: no index yet (the command goes
   first on one copy, the web on another); warm: the index both built.
3. A message page, ``GET /outbox/<id>/``, of a message with a 10 MB attachment saved by
   the project's backend vs ``Path.read_bytes()`` of its file (target < 2×).

The messages are written directly as ``.eml`` files (about 3 KB, reset-like, text and
HTML in base64 as Django encodes Cyrillic), named as the project's backend names them,
``YYYYmmdd-HHMMSS-ffffff-xxxxxxxx.eml``; the smaller folders are hard links to them.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta
from email.header import Header
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SMALL = 100
RARE_EVERY = 1000  # one message in RARE_EVERY has the word searched for in its subject
WORD = "заказ"
SUBJECT = "Восстановление пароля на «Киноцентре»"
RARE_SUBJECT = "Ваш заказ на «Киноцентре» оплачен"
SITE = "https://cinema.example"
TARGETS = {"list": 1.5, "search": 1.5, "message": 2.0}


# ---------------------------------------------------------------- messages


def _encoded(text: str) -> str:
    return Header(text, "utf-8", header_name="Subject").encode()


def _b64(text: str) -> str:
    return base64.encodebytes(text.encode()).decode("ascii")


HEAD = """\
MIME-Version: 1.0
Content-Type: multipart/alternative;
 boundary="===============%(boundary)019d=="
Subject: %(subject)s
From: %(sender)s <noreply@cinema.example>
To: %(user)s %(n)d <user%(n)d@example.com>
Date: %(date)s
Message-ID: <%(stamp)s.%(n)d@cinema.example>

--===============%(boundary)019d==
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: base64

%(text)s
--===============%(boundary)019d==
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: base64
MIME-Version: 1.0

%(html)s
--===============%(boundary)019d==--
"""
LINES = (
    "Здравствуйте, пользователь {n}!\n"
    "Вы получили это письмо, потому что кто-то запросил сброс пароля для вашей учётной записи на «Киноцентре».\n"
    "Если это были не вы, просто проигнорируйте письмо: пароль останется прежним.\n"
    "Чтобы задать новый пароль, откройте ссылку (она действует три дня и только один раз):\n"
    "{link}\n\n"
    "Ваше имя пользователя: user{n}\n"
    "Спасибо, что пользуетесь нашим сайтом!\n"
    "Команда «Киноцентра»\n"
)


def eml(n: int, when: datetime) -> bytes:
    """Message ``n``, about 3 KB: a password reset (or, one in RARE_EVERY, an order) to user ``n``."""
    link = f"{SITE}/users/reset/{base64.urlsafe_b64encode(str(n).encode()).decode().rstrip('=')}/c4v-{n:032x}/"
    text = LINES.format(n=n, link=link)
    html = "".join(f"<p>{line}</p>\n" for line in text.splitlines() if line).replace(
        f"<p>{link}</p>", f'<p><a href="{link}">{link}</a></p>'
    )
    values = {
        "boundary": n * 7919 + 10**18,
        "subject": ENCODED[n % RARE_EVERY == 0],
        "sender": ENCODED["sender"],
        "user": ENCODED["user"],
        "n": n,
        "date": format_datetime(when),
        "stamp": when.strftime("%Y%m%d%H%M%S%f"),
        "text": _b64(text),
        "html": _b64(f"<html><body>{html}</body></html>"),
    }
    return (HEAD % values).encode("ascii")


ENCODED = {
    False: _encoded(SUBJECT),
    True: _encoded(RARE_SUBJECT),
    "sender": _encoded("Киноцентр"),
    "user": _encoded("Пользователь"),
}


def write_messages(folder: Path, count: int, seed: int = 14) -> list[str]:
    """``count`` messages as the backend names them (oldest first, one every 7 s from 2026-01-05 09:00)."""
    folder.mkdir(parents=True)
    rng = random.Random(seed)
    start = datetime(2026, 1, 5, 9, 0).astimezone()
    names = []
    for n in range(count):
        when = start + timedelta(seconds=7 * n, microseconds=rng.randrange(10**6))
        name = f"{when.strftime('%Y%m%d-%H%M%S-%f')}-{rng.getrandbits(32):08x}.eml"
        fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, eml(n, when))
        finally:
            os.close(fd)
        names.append(name)
    return names


def linked(source: Path, target: Path, names: list[str]) -> Path:
    """``target`` holding ``names`` of ``source`` as hard links (no index)."""
    target.mkdir()
    for name in names:
        os.link(source / name, target / name)
    return target


def write_attachment_message(folder: Path, size: int) -> str:
    """A message with text, HTML and a ``size``-byte attachment, saved by the project's backend; its ID."""
    from django.core import mail
    from django.core.mail import EmailMultiAlternatives
    from django.test import override_settings

    import outbox as ob
    from core.mail.config import OUTBOX_BACKEND

    link = f"{SITE}/users/reset/MQ/c4v-0123456789abcdef/"
    message = EmailMultiAlternatives(
        "Отчёт за неделю",
        f"Отчёт во вложении.\nСсылка: {link}\n",
        "Киноцентр <noreply@cinema.example>",
        ["a@example.com"],
    )
    message.attach_alternative(f'<p>Отчёт во вложении.</p><p><a href="{link}">Ссылка</a></p>', "text/html")
    message.attach("отчёт.bin", random.Random(size).randbytes(size), "application/octet-stream")
    with override_settings(MAILERS={"default": {"BACKEND": OUTBOX_BACKEND, "OPTIONS": {"file_path": str(folder)}}}):
        mail.mailers["default"].send_messages([message])
    [name] = ob.Outbox(folder).files()
    return ob.Outbox(folder).resolve(name)[1]


# ---------------------------------------------------------------- Django


def setup_django(work: Path) -> None:
    """The project's settings (no .env, DEBUG on as bench/outbox_bench.py), SQLite and counters in ``work``."""
    from django.conf import settings

    if settings.configured:
        return
    os.environ.update(
        DJANGO_SETTINGS_MODULE="core.settings",
        DJANGO_ENV_FILE="",
        DEBUG="true",
        ALLOWED_HOSTS="testserver",  # django.test.Client's host, as the test runner allows it
        DATABASE_URL=f"sqlite:///{work / 'db.sqlite3'}",
        CACHE_URL=f"diskcache://{work / 'cache'}",
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def staff_client():
    from django.contrib.auth import get_user_model
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(username="bench-staff", defaults={"is_staff": True})
    client = Client()
    client.force_login(user)
    return client


def on(folder: Path):
    """The settings with the default mailer saving to ``folder`` (what the web outbox reads)."""
    from django.test import override_settings

    from core.mail.config import OUTBOX_BACKEND

    return override_settings(MAILERS={"default": {"BACKEND": OUTBOX_BACKEND, "OPTIONS": {"file_path": str(folder)}}})


def get(client, folder: Path, url: str) -> tuple[float, bytes]:
    """Seconds of one GET with the web outbox on ``folder``, and the page (which must be 200)."""
    with on(folder):
        start = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} on {folder}: HTTP {response.status_code}")
    return elapsed, response.content


def command_search(folder: Path, word: str) -> tuple[float, str]:
    """Seconds of ``outbox list --all --search WORD --path DIR`` in this process, and what it printed."""
    from django.core.management import call_command

    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    call_command("outbox", "list", "--all", "--search", word, "--path", str(folder), stdout=out, stderr=err)
    return time.perf_counter() - start, out.getvalue()


def read_file(path: Path) -> tuple[float, int]:
    start = time.perf_counter()
    size = len(path.read_bytes())
    return time.perf_counter() - start, size


def rows(page: bytes) -> int:
    return page.count(b'<tr>\n        <td class="date">')


def best_of(rounds: int, *sides):
    """Each side's best time over ``rounds`` rounds, the sides taking turns at going first; the last results."""
    times: list[list[float]] = [[] for _ in sides]
    results: list = [None] * len(sides)
    for turn in range(rounds):
        order = list(range(len(sides)))
        if turn % 2:
            order.reverse()
        for index in order:
            elapsed, results[index] = sides[index]()
            times[index].append(elapsed)
    return [min(each) for each in times], results, times


# ---------------------------------------------------------------- the run


def run(
    work: Path,
    messages: int = 100_000,
    search_messages: int = 20_000,
    rounds: int = 5,
    attachment: int = 10_000_000,
    source: Path | None = None,
) -> dict:
    """Every measurement, in seconds, with what the pages held (for the tests: no time is asserted there).

    ``source``: a folder of ``messages`` generated messages to reuse (``--keep``); written into ``work`` otherwise.
    """
    import outbox as ob
    from outbox.index import INDEX_NAME

    result: dict = {"rounds": rounds}
    if source is None or not source.is_dir():
        source = source or work / "source"
        started = time.perf_counter()
        write_messages(source, messages)
        result["generated_seconds"] = time.perf_counter() - started
    names = sorted(name for name in os.listdir(source) if name.endswith(".eml"))
    big = linked(source, work / "big", names)
    small = linked(source, work / "small", names[-SMALL:])
    search_a = linked(source, work / "search-web", names[:search_messages])
    search_b = linked(source, work / "search-command", names[:search_messages])
    attached = work / "attached"
    attached_id = write_attachment_message(attached, attachment)
    [attached_file] = attached.glob("*.eml")

    client = staff_client()
    warmup = linked(source, work / "warmup", names[-3:])
    get(client, warmup, "/outbox/")
    get(client, warmup, "/outbox/?q=" + WORD)
    get(client, warmup, f"/outbox/{ob.Outbox(warmup).resolve('latest')[1]}/")
    command_search(warmup, WORD)

    # 1. the list page
    cold_big, page = get(client, big, "/outbox/")
    cold_small, _ = get(client, small, "/outbox/")
    result["list"] = {
        "cold": (cold_big, cold_small),
        "rows": rows(page),
        "index_after_cold": (big / INDEX_NAME).exists(),
    }
    (web, base), (page, _), every = best_of(
        rounds, lambda: get(client, big, "/outbox/"), lambda: get(client, small, "/outbox/")
    )
    result["list"].update(warm=(web, base), every=every)

    # 2. search: cold (no index; each side on its own copy), then warm (the index each built)
    query = f"/outbox/?q={WORD}"
    cold_command, printed = command_search(search_b, WORD)
    cold_web, page = get(client, search_a, query)
    (web, base), (page, printed), every = best_of(
        rounds, lambda: get(client, search_a, query), lambda: command_search(search_b, WORD)
    )
    found = len([line for line in printed.splitlines() if WORD in line.lower()])
    result["search"] = {
        "cold": (cold_web, cold_command),
        "warm": (web, base),
        "every": every,
        "web_rows": rows(page),
        "command_rows": found,
        "expected": len(range(0, min(search_messages, len(names)), RARE_EVERY)),
    }

    # 3. the message page of a message with a big attachment
    url = f"/outbox/{attached_id}/"
    (web, base), (page, size), every = best_of(
        rounds, lambda: get(client, attached, url), lambda: read_file(attached_file)
    )
    result["message"] = {"warm": (web, base), "every": every, "file_size": size, "shows": "отчёт.bin" in page.decode()}
    # what any message page costs (sessions, the template, a link check): the part no file size explains
    small_url = f"/outbox/{ob.Outbox(small).resolve('latest')[1]}/"
    result["message"]["small_page"] = min(get(client, small, small_url)[0] for _ in range(rounds))
    return result


def report(label: str, web: float, base: float, target: float, strict: bool = False) -> None:
    ratio = web / base
    met = ratio < target if strict else ratio <= target
    sign = "<" if strict else "≤"
    print(
        f"{label:<44} {web * 1000:>9.1f} {base * 1000:>9.1f} {ratio:>7.2f}×  {sign} {target}×  "
        f"{'met' if met else 'MISSED'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--search-messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--attachment", type=int, default=10_000_000, help="bytes (default 10 MB)")
    parser.add_argument("--keep", metavar="DIR", help="reuse (or write) the generated messages in DIR")
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="web-outbox-bench-", dir="/tmp"))
    try:
        setup_django(work)
        source = Path(options.keep) if options.keep else None
        result = run(work, options.messages, options.search_messages, options.rounds, options.attachment, source)
        if "generated_seconds" in result:
            print(f"wrote {options.messages} messages in {result['generated_seconds']:.0f} s")
        print(f"server time (django.test.Client.get), best of {options.rounds} rounds after a warm-up request\n")
        print(f"{'case':<44} {'web ms':>9} {'base ms':>9} {'ratio':>8}  target")
        listing, search, message = result["list"], result["search"], result["message"]
        n, s = f"{options.messages:,}", f"{options.search_messages:,}"
        report(f"list, {n} vs {SMALL} messages, cold", *listing["cold"], TARGETS["list"])
        report(f"list, {n} vs {SMALL} messages, warm", *listing["warm"], TARGETS["list"])
        report(f"?q={WORD} vs outbox list --search, {s}, cold", *search["cold"], TARGETS["search"])
        report(f"?q={WORD} vs outbox list --search, {s}, warm", *search["warm"], TARGETS["search"])
        mb = options.attachment / 1e6
        report(f"message, {mb:g} MB attachment vs read_bytes", *message["warm"], TARGETS["message"], strict=True)
        small_page = message["small_page"] * 1000
        print(f"{'  (the page of a 3 KB message, for scale)':<44} {small_page:>9.1f}")
        print(f"\n(targets apply to the warm figures; the list page showed {listing['rows']} rows;", end=" ")
        print(f"the search found {search['web_rows']} on the web and {search['command_rows']} in the command;", end=" ")
        print(f"the message file is {message['file_size'] / 1e6:.1f} MB)")
        for name, case in (("list", listing), ("search", search), ("message", message)):
            web, base = (" ".join(f"{t * 1000:.1f}" for t in side) for side in case["every"])
            print(f"  every round, {name}: web {web} ms; baseline {base} ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
