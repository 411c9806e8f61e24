"""outbox: reading, filtering and deleting saved messages (.eml and Django's .log)."""

import os
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core.mail import EmailMessage, EmailMultiAlternatives

import outbox as ob
from core.mail.errors import ExitCode, MailProblem
from outbox.clearing import IN_THREADS
from tests.outbox_samples import (
    CYRILLIC_SUBJECT,
    DASHES,
    RESET_LINK,
    cyrillic_reset,
    log_file,
    plain,
    send,
    use_folders,
)


@pytest.fixture
def folder(settings, tmp_path):
    path = tmp_path / "sent_emails"
    use_folders(settings, path)
    return path


def readable(items):
    return [item for item in items if isinstance(item, ob.Summary)]


# ---------------------------------------------------------------- listing


def test_list_shows_the_20_newest_first_and_counts_all(folder):
    send(*[plain(f"#{n:02}") for n in range(25)])
    listing = ob.Outbox(folder).listing()
    subjects = [item.subject for item in listing]
    assert subjects == [f"#{n:02}" for n in range(24, 4, -1)]
    assert (listing.shown, listing.total, listing.complete) == (20, 25, False)
    assert listing.size == sum(item.size for item in readable(ob.Outbox(folder).listing(limit=None))[:20])


def test_cyrillic_headers_are_decoded_and_search_ignores_case(folder):
    send(cyrillic_reset(), plain("Other"))
    outbox = ob.Outbox(folder)
    [found] = list(outbox.listing(**ob.parse_search("КИНОЦЕНТРЕ")))
    assert found.subject == CYRILLIC_SUBJECT
    assert found.sender == "Киноцентр <noreply@cinema.example>"
    assert found.to == ["Анна Петрова <anna@example.com>"]
    assert [item.subject for item in outbox.listing(**ob.parse_search("анна петрова"))] == [CYRILLIC_SUBJECT]
    assert list(outbox.listing(**ob.parse_search("nobody"))) == []


def test_to_matches_any_recipient_ignoring_case(folder):
    send(
        plain("to", to="a@example.com"),
        plain("cc", to="x@example.com", cc=["A@Example.com"]),
        plain("bcc", to="x@example.com", bcc=["a@example.com"]),
        plain("none", to="b@example.com"),
    )
    assert [item.subject for item in ob.Outbox(folder).listing(to="A@EXAMPLE.COM")] == ["bcc", "cc", "to"]


def test_since_keeps_newer_messages(folder):
    old = plain("old")
    old.extra_headers["Date"] = "Mon, 01 Jan 2024 10:00:00 +0300"
    send(old, plain("new"))
    outbox = ob.Outbox(folder)
    assert [item.subject for item in outbox.listing(since=ob.parse_when("1d"))] == ["new"]
    assert [item.subject for item in outbox.listing(since=ob.parse_when("2024-01-01T06:59:59"))] == ["new", "old"]
    [old_item] = list(outbox.listing(**ob.parse_search("old")))
    assert old_item.date == datetime(2024, 1, 1, 7, tzinfo=UTC)


def test_a_missing_folder_is_an_empty_outbox(tmp_path):
    listing = ob.Outbox(tmp_path / "nothing-here").listing()
    assert list(listing) == []
    assert listing.missing and listing.total == 0


def test_a_file_given_as_folder_is_bad_input(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(MailProblem) as caught:
        ob.Outbox(tmp_path / "file").listing()
    assert caught.value.code == ExitCode.BAD_INPUT


def test_only_message_files_directly_in_the_folder_are_read(folder, tmp_path):
    [name] = send(plain("real"))
    outside = tmp_path / "outside.eml"
    outside.write_bytes((folder / name).read_bytes())
    (folder / "20991231-235959-000000-deadbeef.eml").symlink_to(outside)
    (folder / "20991231-235959-000000-cafecafe.eml").mkdir()
    (folder / ".tmp-abc.part").write_bytes(b"Subject: half\n\n")
    (folder / ".hidden.eml").write_bytes(b"Subject: hidden\n\n")
    (folder / "app.log").write_bytes(b"Subject: not Django's\n\n")
    (folder / ".gitkeep").write_bytes(b"")
    (folder / "notes.txt").write_text("notes")
    outbox = ob.Outbox(folder)
    assert outbox.files() == [name]
    assert [item.subject for item in outbox.listing()] == ["real"]


def test_a_name_with_a_newline_is_not_taken_for_two_message_names(folder):
    [name] = send(plain("real"))
    (folder / "20260101-120000-a.eml\n20260101-120000-1.log").write_bytes(b"Subject: not Django's\n\n")
    outbox = ob.Outbox(folder)
    assert outbox.files() == [name]
    assert [item.subject for item in outbox.listing()] == ["real"]


def test_an_eml_named_by_hand_is_placed_by_its_modification_time(folder):
    [name] = send(plain("sent"))
    (folder / "hand-made.eml").write_bytes((folder / name).read_bytes())
    outbox = ob.Outbox(folder)
    hour_ago = datetime.now().timestamp() - 3600
    os.utime(folder / "hand-made.eml", (hour_ago, hour_ago))
    assert outbox.files() == [name, "hand-made.eml"]
    os.utime(folder / "hand-made.eml", (hour_ago + 7200, hour_ago + 7200))
    assert outbox.files() == ["hand-made.eml", name]


def test_the_newest_picked_first_and_the_rest_sorted_later_make_one_order(folder):
    """The newest few names come from a heap, the rest from a sort made only when a listing reads on
    (a search that matches none of the newest): one order, a file named by hand placed by its time."""
    send(*[plain(f"#{n:02}") for n in range(30)])
    names = sorted(path.name for path in folder.iterdir() if path.suffix == ".eml")
    (folder / "hand-made.eml").write_bytes((folder / names[10]).read_bytes().replace(b"#10", b"hand"))
    stamps = [datetime.strptime(name[:22], "%Y%m%d-%H%M%S-%f").timestamp() for name in names[20:22]]
    middle = round(sum(stamps) / 2 * 1e9)  # saved between #20 and #21
    os.utime(folder / "hand-made.eml", ns=(middle, middle))
    outbox = ob.Outbox(folder)
    every = [item.subject for item in outbox.listing(limit=None)]
    assert every == [f"#{n:02}" for n in range(29, 20, -1)] + ["hand"] + [f"#{n:02}" for n in range(20, -1, -1)]
    assert [item.subject for item in outbox.listing(limit=3)] == every[:3]
    assert [item.subject for item in outbox.listing(limit=4, subject="1")] == ["#21", "#19", "#18", "#17"]
    assert [item.subject for item in outbox.listing(limit=2, subject="hand")] == ["hand"]
    assert outbox.resolve("latest")[0] == names[-1]


# "0001" too: the standard library alone would read it as 2001 (a two-digit year); headers.EARLY_YEAR refuses it.
FAR_DATES = ["Fri, 31 Dec 9999 23:59:59 -2359", "Mon, 01 Jan 0001 00:00:00 +2359", "31 Dec 9999 23:00:00 -0500"]


@pytest.mark.parametrize("date", FAR_DATES)
def test_a_date_that_no_time_zone_can_show_is_no_date_and_the_others_list(folder, date):
    folder.mkdir()
    (folder / "20260101-000000-000000-00000000.eml").write_text(f"Subject: far\nDate: {date}\n\nbody\n")
    send(plain("near"))
    near, far = ob.Outbox(folder).listing()  # newest first
    assert (near.subject, far.subject) == ("near", "far")
    assert far.date == datetime(2026, 1, 1, tzinfo=UTC) and far.date_from_file, "the file's time, marked as such"
    assert near.date.year == datetime.now().year and not near.date_from_file


def test_a_missing_or_unreadable_date_is_the_files_time_and_says_so(folder):
    folder.mkdir()
    (folder / "20260102-030405-000000-00000000.eml").write_text("Subject: no date\n\nbody\n")
    (folder / "20260102-030406-000000-00000000.eml").write_text("Subject: bad\nDate: next Tuesday\n\nbody\n")
    (folder / "hand-made.eml").write_text("Subject: no name time\nDate: soon\n\nbody\n")
    items = {item.subject: item for item in ob.Outbox(folder).listing()}
    assert items["no date"].date == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC) and items["no date"].date_from_file
    assert items["bad"].date_from_file
    assert items["no name time"].date is None and not items["no name time"].date_from_file


# ---------------------------------------------------------------- Django's .log files


def test_a_log_file_with_several_messages_lists_each_newest_first(folder):
    log_file(folder, plain("log 0"), plain("log 1", body=f"above\n{DASHES}\nbelow\n"), plain("log 2"))
    items = list(ob.Outbox(folder).listing())
    assert [item.subject for item in items] == ["log 2", "log 1", "log 0"]
    assert [item.index for item in items] == [2, 1, 0]
    assert len({item.id for item in items}) == 3
    message = ob.Outbox(folder).get(items[1].id)
    assert message.text == f"above\n{DASHES}\nbelow\n"  # dashes inside a body are not a separator


def test_two_logs_of_one_second_are_in_the_order_they_were_written(folder):
    """Django names a .log by the second and id() of its backend: the later one must be latest regardless."""
    # Each moved to its name at once: Django appends to a file of the same second and id(), which a backend
    # made right after another freed one can have.
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    log_file(folder, plain("first")).rename(folder / f"{stamp}-9999.log")  # a larger id than the later file's
    log_file(folder, plain("second")).rename(folder / f"{stamp}-1111.log")
    now = time.time()
    os.utime(folder / f"{stamp}-9999.log", (now - 0.5, now - 0.5))
    os.utime(folder / f"{stamp}-1111.log", (now, now))
    assert [item.subject for item in ob.Outbox(folder).listing()] == ["second", "first"]


def test_eml_and_log_messages_are_listed_together(folder):
    send(plain("eml"))
    log_file(folder, plain("log"))
    listing = ob.Outbox(folder).listing()
    assert sorted(item.subject for item in listing) == ["eml", "log"]
    assert listing.total == 2


def test_an_incomplete_last_message_of_a_log_is_unreadable(folder):
    path = log_file(folder, plain("whole"), plain("cut"))
    path.write_bytes(path.read_bytes()[:-100])
    items = list(ob.Outbox(folder).listing())
    assert isinstance(items[0], ob.Unreadable) and "incomplete" in items[0].reason
    assert items[1].subject == "whole"


# ---------------------------------------------------------------- unreadable files


def test_junk_files_are_listed_as_unreadable_with_the_reason(folder):
    [good] = send(cyrillic_reset())
    (folder / "20000101-000000-000000-00000001.eml").write_bytes(b"")
    (folder / "20000101-000000-000000-00000002.eml").write_bytes(bytes(range(256)) * 4)
    (folder / "20000101-000000-000000-00000003.eml").write_bytes((folder / good).read_bytes()[:700])
    (folder / "20000101-000000-000000-00000004.eml").write_bytes(b"just some words\nand more\n")
    (folder / "20000101-000000-000000-00000005.eml").write_bytes(b"Subject: headers that never end\nFrom: a@b.c")
    reasons = {item.file[-6:-4]: item.reason for item in ob.Outbox(folder).listing() if isinstance(item, ob.Unreadable)}
    assert reasons == {
        "01": "empty file",
        "02": "binary data, not a mail message",
        "03": "truncated: the closing MIME boundary is missing",
        "04": "not a mail message (it does not start with headers)",
        "05": "truncated: the headers do not end",
    }


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_a_file_without_permission_is_unreadable(folder):
    [name] = send(plain("secret"))
    (folder / name).chmod(0)
    [item] = list(ob.Outbox(folder).listing())
    assert item.reason == "permission denied"


def test_a_file_removed_between_listing_and_reading_is_unreadable(folder):
    [first, _second] = send(plain("first"), plain("second"))
    listing = ob.Outbox(folder).listing()  # the names are read here
    (folder / first).unlink()
    items = list(listing)
    assert items[0].subject == "second"
    assert items[1].reason == "removed while reading"


# ---------------------------------------------------------------- IDs


def test_ids_stay_the_same_when_other_messages_come_and_go(folder):
    [first, _second] = send(plain("first"), plain("second"))
    outbox = ob.Outbox(folder)
    before = {item.subject: item.id for item in outbox.listing(limit=None)}
    send(plain("third"))
    (folder / first).unlink()
    after = {item.subject: item.id for item in outbox.listing(limit=None)}
    assert after["second"] == before["second"]


def test_ids_of_kept_log_messages_survive_a_filtered_clear(folder):
    log_file(folder, plain("a", to="a@example.com"), plain("b", to="b@example.com"), plain("c", to="c@example.com"))
    outbox = ob.Outbox(folder)
    before = {item.subject: item.id for item in outbox.listing(limit=None)}
    ob.clear(outbox, ob.plan_clear(outbox, to="a@example.com"))
    assert {item.subject: item.id for item in outbox.listing(limit=None)} == {"b": before["b"], "c": before["c"]}


def test_a_unique_prefix_latest_or_file_name_names_a_message(folder):
    [first, _second] = send(plain("first"), plain("second"))
    outbox = ob.Outbox(folder)
    ids = {item.subject: item.id for item in outbox.listing(limit=None)}
    assert outbox.get(ids["first"][:6]).summary.subject == "first"
    assert outbox.get(ids["first"].upper()).summary.subject == "first"
    assert outbox.get("latest").summary.subject == "second"
    assert outbox.get(first).summary.subject == "first"


def test_an_unknown_id_is_bad_input(folder):
    send(plain("only"))
    for ref in ("0123456789", "not-an-id"):
        with pytest.raises(MailProblem) as caught:
            ob.Outbox(folder).get(ref)
        assert caught.value.code == ExitCode.BAD_INPUT and ref in caught.value.message


def test_an_ambiguous_prefix_names_the_candidates(folder):
    send(*[plain(f"#{n}") for n in range(17)])  # 17 IDs, 16 first digits: two share one
    outbox = ob.Outbox(folder)
    ids = [item.id for item in outbox.listing(limit=None)]
    shared = next(first for first in "0123456789abcdef" if sum(i.startswith(first) for i in ids) > 1)
    with pytest.raises(MailProblem) as caught:
        outbox.get(shared)
    assert caught.value.code == ExitCode.BAD_INPUT
    for ident in ids:
        assert (ident in caught.value.message) == ident.startswith(shared)


def test_latest_in_an_empty_folder_is_bad_input(folder):
    with pytest.raises(MailProblem) as caught:
        ob.Outbox(folder).get("latest")
    assert caught.value.code == ExitCode.BAD_INPUT


# ---------------------------------------------------------------- one message


def test_show_gives_headers_text_attachments_and_links(folder):
    message = cyrillic_reset()
    message.attach("отчёт.pdf", b"%PDF-1.4 fake", "application/pdf")
    send(message)
    shown = ob.Outbox(folder).get("latest")
    assert ("Subject", CYRILLIC_SUBJECT) in shown.headers
    assert shown.text.startswith("Здравствуйте, Анна!") and not shown.text_from_html
    assert [(a.name, a.content_type, a.size) for a in shown.attachments] == [("отчёт.pdf", "application/pdf", 13)]
    assert shown.summary.attachments == 1
    assert shown.links == [RESET_LINK]
    assert shown.raw == next(folder.glob("*.eml")).read_bytes()


def test_an_html_only_message_is_rendered_as_text_with_its_links(folder):
    message = EmailMessage(
        "HTML",
        "<html><head><style>p{}</style></head><body><h1>Hello &amp; welcome</h1>"
        '<p>Reset: <a href="https://x.example/r?a=1&amp;b=2">here</a>.</p><script>alert(1)</script></body></html>',
        "a@example.com",
        ["b@example.com"],
    )
    message.content_subtype = "html"
    send(message)
    shown = ob.Outbox(folder).get("latest")
    assert shown.text_from_html
    assert shown.text == "Hello & welcome\n\nReset: here.\n"
    assert shown.links == ["https://x.example/r?a=1&b=2"]


def test_links_come_from_text_and_html_without_trailing_punctuation(folder):
    message = EmailMultiAlternatives("L", "See https://a.example/x. Or (https://b.example/y).", "a@x.com", ["b@x.com"])
    message.attach_alternative('<a href="https://c.example/z">z</a> <a href="javascript:x()">no</a>', "text/html")
    send(message)
    assert ob.Outbox(folder).get("latest").links == [
        "https://a.example/x",
        "https://b.example/y",
        "https://c.example/z",
    ]


# ---------------------------------------------------------------- attachments


@pytest.mark.parametrize(
    ("name", "saved_as"),
    [
        ("../../x.txt", "x.txt"),
        ("/etc/x.txt", "x.txt"),
        ("..\\..\\win.txt", "win.txt"),
        ("..", "attachment-1"),
        (".bashrc", "bashrc"),
        ("a\tb\x07c.txt", "abc.txt"),
    ],
)
def test_hostile_attachment_names_are_saved_inside_the_folder_only(folder, tmp_path, name, saved_as):
    message = plain("att")
    message.attach(name, b"payload", "application/octet-stream")
    send(message)
    target = tmp_path / "saved"
    paths = ob.save_attachments(ob.Outbox(folder).get("latest"), target)
    assert paths == [target / saved_as]
    assert [path.name for path in target.iterdir()] == [saved_as]
    assert (target / saved_as).read_bytes() == b"payload"
    assert not (tmp_path / "x.txt").exists() and not (tmp_path.parent / "x.txt").exists()


def test_saving_attachments_never_overwrites_or_follows_a_link(folder, tmp_path):
    message = plain("att")
    message.attach("report.txt", b"new", "text/plain")
    message.attach("link.txt", b"new", "text/plain")
    send(message)
    target = tmp_path / "saved"
    target.mkdir()
    (target / "report.txt").write_bytes(b"mine")
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"victim")
    (target / "link.txt").symlink_to(victim)
    paths = ob.save_attachments(ob.Outbox(folder).get("latest"), target)
    assert [path.name for path in paths] == ["report-1.txt", "link-1.txt"]
    assert (target / "report.txt").read_bytes() == b"mine"
    assert victim.read_bytes() == b"victim"


# ---------------------------------------------------------------- clearing


def test_clear_removes_every_message_file_and_nothing_else(folder, tmp_path):
    send(plain("a"), plain("b"))
    log_file(folder, plain("c"), plain("d"))
    (folder / "20000101-000000-000000-00000001.eml").write_bytes(b"")  # unreadable, still a message file
    target = tmp_path / "target.eml"
    target.write_bytes(b"Subject: keep me\n\n")
    (folder / "20991231-000000-000000-00000000.eml").symlink_to(target)
    (folder / "notes.txt").write_text("keep")
    (folder / "sub").mkdir()
    outbox = ob.Outbox(folder)
    plan = ob.plan_clear(outbox)
    sizes = sum((folder / name).stat().st_size for name in plan.files)
    result = ob.clear(outbox, plan)
    assert (result.count, result.size) == (5, sizes)
    assert sorted(path.name for path in folder.iterdir()) == ["20991231-000000-000000-00000000.eml", "notes.txt", "sub"]
    assert target.read_bytes() == b"Subject: keep me\n\n"


def test_clear_by_recipient_rewrites_a_log_file_keeping_the_others(folder):
    [eml_a, _eml_b] = send(plain("eml a", to="a@example.com"), plain("eml b", to="b@example.com"))
    path = log_file(folder, plain("log a", to="a@example.com"), plain("log b", to="b@example.com"))
    outbox = ob.Outbox(folder)
    size_before = path.stat().st_size + (folder / eml_a).stat().st_size
    plan = ob.plan_clear(outbox, to="a@example.com")
    assert sorted(item.subject for item in plan.messages) == ["eml a", "log a"]
    result = ob.clear(outbox, plan)
    assert result.count == 2
    assert result.size == size_before - path.stat().st_size
    assert sorted(item.subject for item in outbox.listing(limit=None)) == ["eml b", "log b"]
    assert not list(folder.glob(".tmp-*"))


def test_clear_by_age_keeps_newer_messages_and_removes_an_emptied_log(folder):
    old = plain("old")
    old.extra_headers["Date"] = "Mon, 01 Jan 2024 10:00:00 +0000"
    send(old, plain("new"))
    path = log_file(folder, old)
    outbox = ob.Outbox(folder)
    result = ob.clear(outbox, ob.plan_clear(outbox, before=ob.parse_when("7d")))
    assert result.count == 2
    assert not path.exists()
    assert [item.subject for item in outbox.listing(limit=None)] == ["new"]


def test_a_filtered_clear_keeps_unreadable_files(folder):
    send(plain("a", to="a@example.com"))
    junk = folder / "20000101-000000-000000-00000001.eml"
    junk.write_bytes(b"")
    outbox = ob.Outbox(folder)
    plan = ob.plan_clear(outbox, to="a@example.com")
    assert [item.file for item in plan.kept_unreadable] == [junk.name]
    ob.clear(outbox, plan)
    assert junk.exists()


def test_a_file_removed_after_the_plan_is_skipped(folder):
    [a, _b] = send(plain("a"), plain("b"))
    outbox = ob.Outbox(folder)
    plan = ob.plan_clear(outbox)
    (folder / a).unlink()
    result = ob.clear(outbox, plan)
    assert (result.count, result.skipped) == (1, [a])


def test_clearing_many_files_in_two_threads_removes_each_once_and_counts_them(folder):
    names = send(*[plain(f"#{n}") for n in range(IN_THREADS + 201)])
    log = log_file(folder, plain("c"), plain("d"))
    (folder / "hand.eml").write_bytes(b"Subject: dropped in by hand\n\nHi\n")  # no index line: stat-ed
    (folder / "notes.txt").write_text("keep")
    sizes = sum(path.stat().st_size for path in folder.iterdir() if path.suffix in (".eml", ".log"))
    outbox = ob.Outbox(folder)
    plan = ob.plan_clear(outbox)
    gone = names[::7]  # removed by someone else between the plan and the clear
    for name in gone:
        (folder / name).unlink()
    result = ob.clear(outbox, plan)
    assert sorted(result.skipped) == sorted(gone)
    assert result.count == len(names) - len(gone) + 2 + 1
    assert result.size == sizes - sum(plan.files[name][1] for name in gone)
    assert sorted(os.listdir(folder)) == ["notes.txt"]
    assert not log.exists()


# ---------------------------------------------------------------- folder and times


def test_the_folder_is_the_file_path_of_the_chosen_mailer(folder, tmp_path):
    assert ob.folder_for() == folder
    assert ob.folder_for(using="log") == folder
    assert ob.folder_for(path=tmp_path / "x", using="nope") == tmp_path / "x"


@pytest.mark.parametrize("alias", ["nope", "memory"])
def test_an_unknown_or_not_file_based_mailer_is_a_configuration_error(folder, alias):
    with pytest.raises(MailProblem) as caught:
        ob.folder_for(using=alias)
    assert caught.value.code == ExitCode.CONFIG and caught.value.hint


def test_when_takes_ages_dates_and_date_times():
    now = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
    assert ob.parse_when("2h", now=now) == now - timedelta(hours=2)
    assert ob.parse_when("7d", now=now) == now - timedelta(days=7)
    assert ob.parse_when("30min", now=now) == now - timedelta(minutes=30)
    assert ob.parse_when("2026-05-01") == datetime(2026, 5, 1, tzinfo=UTC)  # TIME_ZONE is UTC in tests
    assert ob.parse_when("2026-05-01 14:30") == datetime(2026, 5, 1, 14, 30, tzinfo=UTC)
    for bad in ("yesterday", "7 parsecs", "2026-13-01", ""):
        with pytest.raises(MailProblem) as caught:
            ob.parse_when(bad, option="--older-than")
        assert caught.value.code == ExitCode.BAD_INPUT and "--older-than" in caught.value.message


def test_reading_errors_are_named_in_words():
    assert ob.os_reason(PermissionError(13, "Permission denied")) == "permission denied"
    assert ob.os_reason(FileNotFoundError(2, "No such file or directory")) == "removed while reading"


# ---------------------------------------------------------------- what a person types (search.parse_search)


@pytest.mark.parametrize(
    ("text", "filters"),
    [
        ("", {}),
        ("   ", {}),
        ("reset", {"words": ("reset",)}),
        ("Сброс ПАРОЛЯ", {"words": ("Сброс", "ПАРОЛЯ")}),
        ('"new password" link', {"words": ("new password", "link")}),
        ("to:anna@example.com", {"to": "anna@example.com"}),
        (
            "TO:Anna@Example.com FROM:site Subject:Сброс",
            {"to": "Anna@Example.com", "sender": "site", "subject": "Сброс"},
        ),
        ('subject:"Password reset"', {"subject": "Password reset"}),
        ("http://x.example a:b", {"words": ("http://x.example", "a:b")}),  # other colons: plain words
        ("don't", {"words": ("don't",)}),  # an unclosed quote is a character
    ],
)
def test_parse_search_turns_words_and_prefixes_into_filters(text, filters):
    assert ob.parse_search(text) == filters


def test_parse_search_reads_times_as_the_since_option_does():
    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    found = ob.parse_search("since:2h before:2026-05-01T11:30", now=now)
    assert found["since"] == datetime(2026, 5, 1, 10, tzinfo=UTC)
    assert found["before"] == datetime(2026, 5, 1, 11, 30, tzinfo=UTC)  # TIME_ZONE is UTC in the tests
    with pytest.raises(MailProblem) as raised:
        ob.parse_search("since:yesterday")
    assert raised.value.code == ExitCode.BAD_INPUT
    assert str(raised.value) == "since: 'yesterday' is not a date, a date-time or an age."


def test_every_word_and_prefix_must_hold(folder):
    send(
        plain("Password reset", to="anna@example.com"),
        plain("Password changed", to="anna@example.com"),
        plain("Password reset", to="boris@example.com"),
        plain("Сброс пароля", to="anna@example.com"),
    )
    outbox = ob.Outbox(folder)

    def subjects(text):
        return [f"{item.subject} → {item.to[0]}" for item in outbox.listing(**ob.parse_search(text))]

    assert subjects("password anna") == ["Password changed → anna@example.com", "Password reset → anna@example.com"]
    assert subjects("reset to:BORIS@example.com") == ["Password reset → boris@example.com"]
    assert subjects("subject:reset to:anna@example.com") == ["Password reset → anna@example.com"]
    assert subjects("from:nobody") == []
    assert subjects("ПАРОЛЯ") == ["Сброс пароля → anna@example.com"]
    assert subjects('"password changed"') == ["Password changed → anna@example.com"]


# ---------------------------------------------------------------- a reading kept between calls (files.listed)


def settle(folder, seconds_ago: float = 10) -> None:
    """Date the folder's last change ``seconds_ago``: its reading may then be kept."""
    moment = time.time() - seconds_ago
    os.utime(folder, (moment, moment))


def test_a_kept_reading_is_dropped_when_the_folder_changes(folder):
    send(plain("One"))
    settle(folder)
    outbox = ob.Outbox(folder)
    assert [item.subject for item in outbox.listing()] == ["One"]  # read, and kept
    assert [item.subject for item in outbox.listing()] == ["One"]  # kept
    send(plain("Two"))  # a new name: the folder's time moves
    assert [item.subject for item in outbox.listing()] == ["Two", "One"]
    settle(folder)
    first = outbox.resolve("latest")[0]
    (folder / first).unlink()
    assert [item.subject for item in outbox.listing()] == ["One"]


def test_a_folder_changed_within_the_clocks_tick_is_never_kept(folder):
    """A directory's time is coarse: a file added in the same tick as a reading leaves it unchanged.
    A reading of a folder changed less than SETTLED seconds ago is therefore not kept."""
    send(plain("One"))
    before = os.stat(folder)
    outbox = ob.Outbox(folder)
    assert len(list(outbox.listing())) == 1
    send(plain("Two"))
    os.utime(folder, ns=(before.st_atime_ns, before.st_mtime_ns))  # as if in the same tick
    assert [item.subject for item in outbox.listing()] == ["Two", "One"]


def test_a_log_file_that_grows_is_counted_afresh_from_a_kept_reading(folder):
    log = log_file(folder, plain("First"))
    settle(folder)
    outbox = ob.Outbox(folder)
    assert outbox.listing().total == 1
    again = log.read_bytes().replace(b"Subject: First", b"Subject: Second")
    with open(log, "ab") as stream:  # Django's backend appends to its file: the folder does not change
        stream.write(again)
    assert outbox.listing().total == 2
    assert [item.subject for item in outbox.listing()] == ["Second", "First"]
