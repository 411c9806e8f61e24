"""The outbox backend: one complete .eml file per message, even under concurrency."""

import multiprocessing
import threading

from django.core import mail
from django.core.mail import EmailMessage, EmailMultiAlternatives

from outbox import index
from tests.conftest import read_eml, saved_messages

CYRILLIC_SUBJECT = "Восстановление пароля на «Киноцентре»"
CYRILLIC_BODY = "Здравствуйте, Анна!\nСсылка: https://example.com/reset/ — действует один раз.\n"


def test_each_message_is_one_eml_file_a_mail_client_can_open(outbox_dir):
    sent = mail.mailers.default.send_messages(
        [EmailMessage(f"Message {n}", "Body", "from@example.com", ["to@example.com"]) for n in range(3)]
    )
    assert sent == 3
    files = sorted(outbox_dir.iterdir())
    assert [path.suffix for path in files] == [".jsonl", ".eml", ".eml", ".eml"]  # the index, a dotfile, first
    assert files[0].name == index.INDEX_NAME
    assert [message["Subject"] for message in saved_messages(outbox_dir)] == ["Message 0", "Message 1", "Message 2"]


def test_cyrillic_subject_names_and_body_come_back_intact(outbox_dir):
    message = EmailMultiAlternatives(
        CYRILLIC_SUBJECT, CYRILLIC_BODY, "Киноцентр <noreply@example.com>", ["Анна Петрова <anna@example.com>"]
    )
    message.attach_alternative("<p>Здравствуйте, Анна!</p>", "text/html")
    message.send()
    [saved] = saved_messages(outbox_dir)
    assert saved["Subject"] == CYRILLIC_SUBJECT
    assert saved["From"].addresses[0].display_name == "Киноцентр"
    assert saved["To"].addresses[0].display_name == "Анна Петрова"
    assert saved.get_body(("plain",)).get_content() == CYRILLIC_BODY
    assert saved.get_body(("html",)).get_content().strip() == "<p>Здравствуйте, Анна!</p>"


def test_bcc_recipients_are_kept_in_the_saved_file(outbox_dir):
    EmailMessage("Hi", "Body", "from@example.com", ["to@example.com"], bcc=["hidden@example.com"]).send()
    [saved] = saved_messages(outbox_dir)
    assert saved["Bcc"] == "hidden@example.com"


def test_file_names_sort_in_sending_order_and_no_temporary_file_is_left(outbox_dir):
    for n in range(20):
        EmailMessage(f"#{n:02}", "Body", "from@example.com", ["to@example.com"]).send()
    names = sorted(path.name for path in outbox_dir.iterdir() if path.name != index.INDEX_NAME)
    assert len(names) == 20
    assert all(name.endswith(".eml") and not name.startswith(".") for name in names)
    assert [m["Subject"] for m in saved_messages(outbox_dir)] == [f"#{n:02}" for n in range(20)]


def test_threads_writing_at_once_give_exactly_n_complete_files(outbox_dir):
    threads_count, per_thread = 8, 25

    def send(worker):
        for n in range(per_thread):
            EmailMessage(f"Поток {worker} письмо {n}", CYRILLIC_BODY * 20, "a@example.com", ["b@example.com"]).send()

    threads = [threading.Thread(target=send, args=(w,)) for w in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert_complete(outbox_dir, threads_count * per_thread)


def test_a_reader_never_sees_a_half_written_message(outbox_dir):
    big_body = CYRILLIC_BODY * 5000  # ~0.5 MB: written in many pieces by a non-atomic writer
    done = threading.Event()
    seen_partial = []

    def read_while_writing():
        while not done.is_set():
            for path in outbox_dir.glob("*.eml"):
                if read_eml(path).get_content() != big_body:
                    seen_partial.append(path.name)

    outbox_dir.mkdir(parents=True)
    reader = threading.Thread(target=read_while_writing)
    reader.start()
    try:
        for n in range(30):
            EmailMessage(f"Big {n}", big_body, "a@example.com", ["b@example.com"]).send()
    finally:
        done.set()
        reader.join()
    assert seen_partial == []
    assert len(list(outbox_dir.glob("*.eml"))) == 30


def _send_from_process(folder, worker, count):
    import django
    from django.conf import settings

    from core.mail.config import OUTBOX_BACKEND

    if not settings.configured:
        django.setup()
    settings.MAILERS = {"default": {"BACKEND": OUTBOX_BACKEND, "OPTIONS": {"file_path": folder}}}
    for n in range(count):
        EmailMessage(f"Процесс {worker} письмо {n}", CYRILLIC_BODY * 20, "a@example.com", ["b@example.com"]).send()


def test_processes_writing_at_once_give_exactly_n_complete_files(outbox_dir):
    processes_count, per_process = 4, 25
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_send_from_process, args=(str(outbox_dir), w, per_process))
        for w in range(processes_count)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert_complete(outbox_dir, processes_count * per_process)


def assert_complete(folder, expected):
    entries = list(folder.iterdir())
    assert len(entries) == expected + 1, "one file per message and the index, no temporary file left behind"
    lines = (folder / index.INDEX_NAME).read_bytes().splitlines()
    assert len(lines) == expected, "one whole line per message in the index: appends did not mix"
    assert {line.split(b"\t")[0].decode() for line in lines} == {path.name for path in folder.glob("*.eml")}
    for name, line in (line.split(b"\t", 1) for line in lines):  # each line describes its file as it is
        assert index.summary(name.decode(), "id", line, (folder / name.decode()).stat()) is not None
    messages = saved_messages(folder)
    assert len({m["Subject"] for m in messages}) == expected
    for message in messages:
        assert not message.defects
        assert message.get_content() == CYRILLIC_BODY * 20
