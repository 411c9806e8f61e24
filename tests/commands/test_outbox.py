"""manage.py outbox list|show|clear: output, exit codes and streams, in-process and as real processes."""

import base64
import io
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import ROOT, manage
from tests.outbox_samples import (
    CYRILLIC_SUBJECT,
    RESET_LINK,
    cyrillic_reset,
    log_file,
    plain,
    send,
    use_folders,
    with_inline_image,
)
from tests.outbox_samples import run_outbox as run
from testsupport.smtp_servers import HOST, free_port


@pytest.fixture
def folder(settings, tmp_path):
    path = tmp_path / "sent_emails"
    use_folders(settings, path)
    return path


def env_for(folder):
    return {"EMAIL_URL": f"outbox://{folder}"}  # absolute: outbox:///tmp/...


# ---------------------------------------------------------------- list


def test_list_prints_decoded_rows_and_a_summary(folder):
    send(cyrillic_reset(), plain("Second"))
    log_file(folder, plain("From a log"))
    out, err = run("list")
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "DATE", "FROM", "TO", "SUBJECT", "ATT.", "SIZE"]
    assert "Восстановление пароля" in out and "Киноцентр" in out and "From a log" in out
    assert lines[-1].startswith("3 shown of 3 messages in ")
    assert err == ""


def test_list_cuts_a_long_subject_to_its_column_on_one_line_with_an_ellipsis(folder):
    send(plain("Очень длинная тема,  перенесённая на\tвторую строку и ещё длиннее"))
    out, _ = run("list")
    [row] = [line for line in out.splitlines() if "Очень" in line]
    assert "Очень длинная тема, перенесённая …" in row  # 34 characters, the ellipsis one of them


def test_list_search_finds_cyrillic_in_any_case_and_limit_stops(folder):
    send(cyrillic_reset(), *[plain(f"#{n}") for n in range(5)])
    out, _ = run("list", "--search", "восстановление")
    assert "Восстановление пароля" in out and "#4" not in out
    out, _ = run("list", "--limit", "2")
    assert "#4" in out and "#3" in out and "#2" not in out
    assert "2 shown of 6 messages" in out and "--all" in out


def test_list_search_takes_the_search_boxs_prefixes_and_a_bad_time_is_exit_2(folder):
    send(plain("Reset", to="anna@example.com"), plain("Reset", to="boris@example.com"), plain("Other"))
    out, _ = run("list", "--search", "reset to:ANNA@example.com", "--json")
    assert [message["to"] for message in json.loads(out)["messages"]] == [["anna@example.com"]]
    with pytest.raises(CommandError) as raised:
        run("list", "--search", "since:soon")
    assert str(raised.value).startswith("since: 'soon' is not a date, a date-time or an age.\nHint: For example 2h")
    assert raised.value.returncode == 2


def test_list_json_is_one_document_and_unreadable_files_go_to_stderr(folder):
    send(cyrillic_reset())
    (folder / "20000101-000000-000000-00000001.eml").write_bytes(b"")
    out, err = run("list", "--all", "--json")
    document = json.loads(out)
    [message] = document["messages"]
    assert message["subject"] == CYRILLIC_SUBJECT and message["to"] == ["Анна Петрова <anna@example.com>"]
    assert message["date"].endswith("+00:00")  # local time: TIME_ZONE is UTC in the tests
    assert (document["shown"], document["total"]) == (1, 2)
    assert document["unreadable"][0]["reason"] == "empty file"
    assert "empty file" in err


def test_list_of_a_missing_folder_is_empty_with_a_note(tmp_path):
    out, err = run("list", "--path", str(tmp_path / "none"))
    assert out == f"The outbox {tmp_path / 'none'} is empty.\n"
    assert "does not exist" in err


def test_list_shows_junk_files_as_unreadable(folder):
    send(plain("good"))
    (folder / "20000101-000000-000000-00000002.eml").write_bytes(b"\x00\x01\x02" * 100)
    out, _ = run("list")
    assert "good" in out and "unreadable: binary data" in out and "1 unreadable" in out


# ---------------------------------------------------------------- show


def test_show_latest_links_gives_the_reset_link_alone(folder):
    send(cyrillic_reset())
    out, _ = run("show", "latest", "--links")
    assert out == RESET_LINK + "\n"


def test_show_prints_headers_body_attachments_and_links(folder):
    message = cyrillic_reset()
    message.attach("отчёт.txt", "данные", "text/plain")
    send(message)
    out, _ = run("show", "latest")
    assert f"Subject:    {CYRILLIC_SUBJECT}" in out
    assert "Здравствуйте, Анна!" in out
    assert "отчёт.txt  text/plain" in out
    assert RESET_LINK in out


def test_show_html_and_json(folder):
    send(cyrillic_reset())
    out, _ = run("show", "latest", "--html")
    assert out.startswith("<p>Здравствуйте, Анна!</p>")
    out, _ = run("show", "latest", "--json")
    document = json.loads(out)
    assert document["subject"] == CYRILLIC_SUBJECT and document["links"] == [RESET_LINK]


def test_show_save_attachments_writes_inside_the_folder_only(folder, tmp_path):
    message = plain("att")
    message.attach("../../../escape.txt", b"payload", "text/plain")
    send(message)
    target = tmp_path / "attachments"
    _, err = run("show", "latest", "--save-attachments", str(target))
    assert [path.name for path in target.iterdir()] == ["escape.txt"]
    assert f"Saved {target / 'escape.txt'}" in err
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path.parent / "escape.txt").exists()


def test_show_html_of_a_text_only_message_is_bad_input(folder):
    send(plain("text only"))
    with pytest.raises(CommandError) as caught:
        run("show", "latest", "--html")
    assert caught.value.returncode == 2 and "no HTML part" in str(caught.value)


# ---------------------------------------------------------------- clear


def test_clear_dry_run_lists_and_deletes_nothing(folder):
    send(plain("a"), plain("b"))
    out, _ = run("clear", "--dry-run")
    assert "Would delete 2 messages" in out
    assert len(list(folder.glob("*.eml"))) == 2


def test_clear_noinput_deletes_and_reports_count_and_bytes(folder, tmp_path):
    send(plain("a", to="a@example.com"), plain("b", to="b@example.com"))
    target = tmp_path / "outside.eml"
    target.write_text("Subject: outside\n\n")
    (folder / "20991231-000000-000000-00000000.eml").symlink_to(target)
    out, _ = run("clear", "--to", "a@example.com", "--noinput")
    assert "Deleted 1 message from" in out and "freed" in out
    out, _ = run("clear", "--no-input")
    assert "Deleted 1 message from" in out
    assert [path.name for path in folder.iterdir()] == ["20991231-000000-000000-00000000.eml"]
    assert target.exists()


# ---------------------------------------------------------------- real processes


def test_process_clear_without_a_terminal_refuses_and_deletes_nothing(tmp_path):
    folder = tmp_path / "box"
    folder.mkdir()
    (folder / "20260101-000000-000000-00000000.eml").write_text("Subject: keep\n\nbody\n")
    result = manage("outbox", "clear", env=env_for(folder), input="yes\n")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "without confirmation" in result.stderr and "Hint: Add --noinput" in result.stderr
    assert (folder / "20260101-000000-000000-00000000.eml").exists()


def test_process_clear_asks_on_a_terminal(tmp_path):
    folder = tmp_path / "box"
    folder.mkdir()
    (folder / "20260101-000000-000000-00000000.eml").write_text("Subject: keep\n\nbody\n")
    for answer, remaining in (("no", 1), ("yes", 0)):
        primary, secondary = os.openpty()  # a real terminal on stdin
        try:
            os.write(primary, answer.encode() + b"\n")
            env = {"PATH": os.environ["PATH"], "DJANGO_ENV_FILE": "", "DEBUG": "true", **env_for(folder)}
            result = subprocess.run(
                [sys.executable, "manage.py", "outbox", "clear"],
                cwd=ROOT,
                env=env,
                stdin=secondary,
                capture_output=True,
                text=True,
                timeout=60,
            )
        finally:
            os.close(primary)
            os.close(secondary)
        assert result.returncode == 0, result.stderr
        assert len(list(folder.glob("*.eml"))) == remaining


def test_process_show_raw_prints_the_exact_bytes(tmp_path):
    folder = tmp_path / "box"
    folder.mkdir()
    data = "Subject: =?utf-8?b?0J/RgNC40LLQtdGC?=\nFrom: a@example.com\n\nПривет\n".encode()
    (folder / "20260101-000000-000000-00000000.eml").write_bytes(data)
    result = subprocess.run(
        [sys.executable, "manage.py", "outbox", "show", "latest", "--raw"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "DJANGO_ENV_FILE": "", "DEBUG": "true", **env_for(folder)},
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0 and result.stdout == data


def test_process_list_json_stdout_is_only_json(tmp_path):
    folder = tmp_path / "box"
    folder.mkdir()
    (folder / "20260101-000000-000000-00000000.eml").write_text("Subject: =?utf-8?b?0J/RgNC40LLQtdGC?=\n\nbody\n")
    (folder / "20260101-000000-000000-00000001.eml").write_bytes(b"")
    result = manage("outbox", "list", "--json", env=env_for(folder))
    assert result.returncode == 0
    assert json.loads(result.stdout)["messages"][0]["subject"] == "Привет"
    assert "empty file" in result.stderr


def test_process_with_an_smtp_mailer_reads_sent_emails_where_mailserver_saves_and_says_so():
    result = manage("outbox", "list", "--json", env={"EMAIL_URL": "smtp://mail.example.com:25"})
    assert result.returncode == 0
    assert json.loads(result.stdout)["folder"] == str(ROOT / "sent_emails")
    assert "the default mailer sends instead of saving" in result.stderr


@pytest.mark.parametrize(
    ("args", "env", "code", "words"),
    [
        (["show", "ffffffffff"], {}, 2, "No message has the ID"),
        (["list", "--since", "yesterday"], {}, 2, "is not a date"),
        (["list", "--limit", "0"], {}, 2, "must be 1 or more"),
        (["list", "--using", "nope"], {}, 3, "no mailer named 'nope'"),
        (["list", "--using", "default"], {"EMAIL_URL": "smtp://mail.example.com:25"}, 3, "--path DIR"),
    ],
)
def test_process_bad_input_exits_with_one_line_and_a_hint(tmp_path, args, env, code, words):
    folder = tmp_path / "box"
    folder.mkdir()
    (folder / "20260101-000000-000000-00000000.eml").write_text("Subject: one\n\nbody\n")
    result = manage("outbox", *args, env={**env_for(folder), **env})
    assert result.returncode == code
    assert words in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_process_ambiguous_id_names_the_candidates(tmp_path):
    folder = tmp_path / "box"
    folder.mkdir()
    for n in range(17):  # 17 IDs, 16 first digits: two share one
        (folder / f"20260101-000000-{n:06}-00000000.eml").write_text(f"Subject: {n}\n\nbody\n")
    ids = [row.split()[0] for row in manage("outbox", "list", "--all", env=env_for(folder)).stdout.splitlines()[1:-1]]
    shared = next(first for first in "0123456789abcdef" if sum(i.startswith(first) for i in ids) > 1)
    result = manage("outbox", "show", shared, env=env_for(folder))
    assert result.returncode == 2
    assert all(ident in result.stderr for ident in ids if ident.startswith(shared))
    assert "Hint: Type more characters" in result.stderr


def test_process_output_cut_short_by_head_is_no_error(tmp_path):
    folder = tmp_path / "box"
    folder.mkdir()
    for n in range(2000):
        (folder / f"20260101-000000-{n:06}-00000000.eml").write_text(f"Subject: {n}\n\nbody\n" + "line\n" * 50)
    env = {"PATH": os.environ["PATH"], "DJANGO_ENV_FILE": "", "DEBUG": "true", **env_for(folder)}
    for args in (["list", "--all"], ["show", "latest"], ["list", "--all", "--json"]):
        process = subprocess.Popen(
            [sys.executable, "manage.py", "outbox", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        process.stdout.read(10)
        process.stdout.close()  # as `| head -c 10` does
        err = process.stderr.read().decode()
        assert process.wait(timeout=60) == 0, err
        assert err == "", "nothing to say: the reader went away"


# ---------------------------------------------------------------- show --links --check


SITE = "https://cinemahub.example"


@pytest.fixture
def anna(db):
    from users.models import User

    return User.objects.create_user("anna", "anna@example.com", "old-password-1")


@pytest.fixture
def public_site(settings):
    settings.SITE_URL, settings.ALLOWED_HOSTS, settings.DEBUG = SITE, ["cinemahub.example"], False


def test_check_says_a_fresh_reset_message_works(folder, anna, public_site):
    call_command("resetuser", "anna", stdout=io.StringIO())  # the project's own reset message, to SITE_URL
    out, err = run("show", "latest", "--links", "--check")
    [line] = out.splitlines()
    link, verdict = line.split("  ", 1)
    assert link.startswith(f"{SITE}/users/reset/")
    assert verdict.startswith("✓ A password-reset link for anna; its token is valid until ")
    assert err == ""


def test_check_of_a_used_link_is_exit_7_with_the_verdict_and_a_hint(folder, anna, public_site):
    call_command("resetuser", "anna", stdout=io.StringIO())
    anna.set_password("brand-new-Passw0rd")
    anna.save()
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("outbox", "show", "latest", "--links", "--check", stdout=out, stderr=err)
    assert caught.value.returncode == 7
    assert str(caught.value).startswith("1 of 1 links of message ")
    assert "\nHint: Fix what each ✗ says, then send the message again" in str(caught.value)
    [line] = out.getvalue().splitlines()
    assert "  ✗ A password-reset link for anna. Its token was used or is no longer valid" in line
    assert "Hint: Ask for a new link: python manage.py resetuser anna" in line


def test_check_marks_other_sites_as_unchecked_and_counts_only_bad_links(folder, public_site, db):
    body = f"Home: {SITE}/\nDocs: https://docs.djangoproject.com/\nOld: https://example.com/users/login/\n"
    send(plain("links", body=body, to="anna@example.com"))
    with pytest.raises(CommandError) as caught:
        run("show", "latest", "--links", "--check")
    assert caught.value.returncode == 7 and str(caught.value).startswith("1 of 3 links")
    checks = json.loads(run_json_despite_exit_7(["show", "latest", "--links", "--check", "--json"]))
    assert [(c["status"], c["ok"]) for c in checks] == [("page", True), ("elsewhere", True), ("placeholder", False)]
    assert set(checks[0]) == {"url", "kind", "status", "ok", "verdict", "problem", "hint", "url_name", "user"}


def run_json_despite_exit_7(args) -> str:
    stdout = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("outbox", *args, stdout=stdout, stderr=io.StringIO())
    assert caught.value.returncode == 7
    return stdout.getvalue()


def test_check_lines_mark_each_kind(folder, public_site, db):
    send(plain("links", body=f"{SITE}/users/login/\nhttps://docs.djangoproject.com/\n"))
    out, _ = run("show", "latest", "--links", "--check")
    assert out.splitlines() == [
        f"{SITE}/users/login/  ✓ A page of this site (login).",
        "https://docs.djangoproject.com/  · A link to another site (docs.djangoproject.com); not checked.",
    ]


def test_check_of_a_message_without_links_says_so(folder, public_site, db):
    send(plain("no links"))
    out, _ = run("show", "latest", "--links", "--check")
    assert out.startswith("The message ") and out.endswith(" has no links.\n")
    out, _ = run("show", "latest", "--links", "--check", "--json")
    assert json.loads(out) == []


def test_check_needs_links(folder):
    send(plain("x"))
    for extra in ([], ["--html"], ["--raw"]):
        with pytest.raises(CommandError) as caught:
            run("show", "latest", "--check", *extra)
        assert "--check works only with --links" in str(caught.value)


def test_links_json_is_a_json_list(folder):
    send(cyrillic_reset())
    out, _ = run("show", "latest", "--links", "--json")
    assert json.loads(out) == [RESET_LINK]


@pytest.fixture(scope="module")
def local_site():
    """The address of a server listening on 127.0.0.1 (what make run starts), for the length of the module."""
    with socket.create_server((HOST, 0)) as server:
        yield f"http://{HOST}:{server.getsockname()[1]}"


@pytest.fixture(scope="module")
def reset_env(tmp_path_factory, local_site):
    """A database with anna, and her reset message made by resetuser for the local site, as real processes."""
    folder = tmp_path_factory.mktemp("links")
    env = {"DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}", "EMAIL_URL": f"outbox://{folder / 'outbox'}"}
    assert manage("migrate", "--noinput", env=env).returncode == 0
    assert (
        manage(
            "shell",
            "-c",
            "from users.models import User; User.objects.create_user('anna', 'anna@example.com', 'pw')",
            env=env,
        ).returncode
        == 0
    )
    made = manage("resetuser", "anna", "--site-url", local_site, env=env)
    assert made.returncode == 0, made.stderr
    return env


def test_process_check_of_a_good_link_exits_0(reset_env, local_site):
    result = manage("outbox", "show", "latest", "--links", "--check", env=reset_env)  # DEBUG, no SITE_URL
    assert (result.returncode, result.stderr) == (0, "")
    assert re.fullmatch(
        re.escape(local_site) + r"/users/reset/MQ/[0-9a-z]+-[0-9a-f]+/  ✓ A password-reset link for anna; "
        r"its token is valid until \d{4}-\d\d-\d\d \d\d:\d\d UTC \(checked, not used\)\.\n",
        result.stdout,
    )


def test_process_check_of_a_local_link_to_a_port_nothing_serves_exits_7(reset_env, tmp_path):
    """make run PORT=8417 with SITE_URL=http://127.0.0.1:8000 left in .env: resetuser's link opens nothing."""
    env = {**reset_env, "EMAIL_URL": f"outbox://{tmp_path}", "SITE_URL": f"http://{HOST}:{free_port()}"}
    assert manage("resetuser", "anna", env=env).returncode == 0
    result = manage("outbox", "show", "latest", "--links", "--check", env=env)
    assert result.returncode == 7
    assert f"✗ A link to this machine, port {env['SITE_URL'].rpartition(':')[2]}." in result.stdout
    assert "No server answers at 127.0.0.1:" in result.stdout and "the link opens nothing" in result.stdout
    assert "Hint: Start the site on that port (make run PORT=" in result.stdout
    assert "or set SITE_URL to the address the site runs on" in result.stdout


def test_process_check_of_a_local_link_on_a_public_site_exits_7(reset_env):
    env = {
        **reset_env,
        "SITE_URL": SITE,
        "ALLOWED_HOSTS": "cinemahub.example",
        "DEBUG": "false",
        "SECRET_KEY": "x" * 50,
    }
    result = manage("outbox", "show", "latest", "--links", "--check", env=env)
    assert result.returncode == 7
    assert "✗ A link to 127.0.0.1, the computer it was made on." in result.stdout
    assert "the site is https://cinemahub.example" in result.stdout
    [sentence, hint] = result.stderr.splitlines()
    assert sentence.startswith("Error: 1 of 1 links of message ") and hint.startswith("Hint: ")

    result = manage("outbox", "show", "latest", "--links", "--check", "--json", env=env)
    assert result.returncode == 7
    [check] = json.loads(result.stdout)  # one document, the list, though the exit code is 7
    assert (check["status"], check["ok"], check["kind"], check["url_name"]) == (
        "local",
        False,
        "elsewhere",  # 127.0.0.1 is not among ALLOWED_HOSTS: the verdict says whose address it is
        "password_reset_confirm",
    )
    assert "SITE_URL" in check["hint"]


def test_process_check_without_links_is_an_argument_error(reset_env):
    result = manage("outbox", "show", "latest", "--check", env=reset_env)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines()[-1] == (
        "manage.py outbox show: error: --check works only with --links (outbox show ID --links --check)"
    )
    result = manage("outbox", "show", "latest", "--check", "--json", env=reset_env)
    assert result.returncode == 2
    assert json.loads(result.stdout)["error"].startswith("--check works only with --links")


# ---------------------------------------------------------------- issue 23: trust, second round


def far_folder(tmp_path, date="Fri, 31 Dec 9999 23:59:59 -2359"):
    folder = tmp_path / "box"
    folder.mkdir()
    (folder / "20260101-000000-000000-00000000.eml").write_text(f"Subject: far\nDate: {date}\n\nbody\n")
    (folder / "20260101-000001-000000-00000000.eml").write_text(
        "Subject: near\nDate: Thu, 01 Jan 2026 00:00:01 +0000\n\nbody\n"
    )
    return folder


@pytest.mark.parametrize("date", ["Fri, 31 Dec 9999 23:59:59 -2359", "Mon, 01 Jan 0001 00:00:00 +2359"])
def test_process_a_date_out_of_range_lists_as_the_files_time_and_the_rest_list(tmp_path, date):
    folder = far_folder(tmp_path, date)
    result = manage("outbox", "list", env=env_for(folder))
    assert (result.returncode, result.stderr) == (0, "")
    near, far = [line for line in result.stdout.splitlines() if " far " in line or " near " in line]  # newest first
    assert "~2026-01-01 00:00" in far and " 2026-01-01 00:00" in near
    assert "~ the time of the file: the message has no readable Date header." in result.stdout
    result = manage("outbox", "list", "--json", env=env_for(folder))
    assert result.returncode == 0, result.stderr
    messages = {item["subject"]: item for item in json.loads(result.stdout)["messages"]}
    assert messages["far"]["date"] == "2026-01-01T00:00:00+00:00" and messages["far"]["date_from_file"] is True
    assert messages["near"]["date_from_file"] is False
    shown = manage("outbox", "show", messages["far"]["id"], env=env_for(folder))
    assert f"Date:    {date}  (~2026-01-01 00:00:00 UTC, the time of the file: no readable Date header)" in (
        shown.stdout
    )


def test_show_of_mail_received_over_smtp_has_no_carriage_returns(smtp_sink, settings):
    from django.core import mail

    from testsupport.smtp_servers import mailers_for

    settings.MAILERS = mailers_for(*smtp_sink)
    mail.send_mail("Rehearsal", "First line\nSecond line\n", "site@example.com", ["anna@example.com"])
    [received] = smtp_sink.messages
    path = Path(received.path)
    assert b"First line\r\nSecond line\r\n" in path.read_bytes(), "mailserver saves what SMTP carried: CRLF"
    out, _ = run("show", "latest", "--path", str(path.parent))
    assert "\\x0d" not in out
    assert "First line\nSecond line\n" in out


def test_bidi_controls_are_escaped_in_list_and_show(folder):
    message = plain("invoice\u202egnp.exe")
    message.attach("invoice\u202egnp.exe", b"MZ", "application/octet-stream")
    send(message)
    out, _ = run("list")
    assert "\u202e" not in out and "invoice\\u202egnp.exe" in out
    out, _ = run("show", "latest")
    assert "\u202e" not in out
    assert "Subject:    invoice\\u202egnp.exe" in out and "  invoice\\u202egnp.exe  application/octet-stream" in out


def test_show_lists_inline_files_with_a_name_and_saves_them(folder, tmp_path):
    send(with_inline_image())
    out, _ = run("show", "latest")
    assert "Inline files (1)\n  logo.gif  image/gif  6\xa0bytes" in out
    document = json.loads(run("show", "latest", "--json")[0])
    assert (document["attachments"], document["inline"]) == (
        [],
        [{"name": "logo.gif", "content_type": "image/gif", "size": 6}],
    )
    run("show", "latest", "--save-attachments", str(tmp_path / "saved"))
    assert (tmp_path / "saved" / "logo.gif").read_bytes() == b"GIF89a"


@pytest.mark.parametrize("prefix", ["to:", "from:", "subject:", "since:", "before:", "TO:"])
def test_process_an_empty_prefix_in_a_search_is_exit_2_naming_it(tmp_path, prefix):
    folder = far_folder(tmp_path)
    result = manage("outbox", "list", "--search", f"{prefix} anna@example.com", env=env_for(folder))
    assert result.returncode == 2 and result.stdout == ""
    sentence, hint = result.stderr.splitlines()
    assert sentence == f"Error: The search's {prefix.lower()} is empty."
    assert hint.startswith("Hint: Write its value right after the colon, without a space: ")


@pytest.mark.parametrize(
    "args",
    [["list", "--to", ""], ["list", "--since", " "], ["clear", "--to", "", "--noinput"], ["clear", "--older-than", ""]],
)
def test_process_an_empty_filter_option_is_exit_2_and_clears_nothing(tmp_path, args):
    """``--to "$ADDRESS"`` with the variable unset: list listed everything, clear said "nothing to delete"."""
    folder = far_folder(tmp_path)
    before = sorted(folder.iterdir())
    result = manage("outbox", *args, env=env_for(folder))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines()[-1].endswith(f"error: argument {args[1]}: is empty")
    assert sorted(folder.iterdir()) == before


def test_process_show_raw_and_html_with_json_print_one_document(tmp_path):
    folder = tmp_path / "box"
    folder.mkdir()
    data = b"Subject: raw\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>\xd0\x9f\xd1\x80\xd0\xb8</p>\r\n"
    (folder / "20260101-000000-000000-00000000.eml").write_bytes(data)
    (folder / "20260101-000001-000000-00000000.eml").write_bytes(b"Subject: latin-1\n\n\xe9t\xe9\n")
    raw = json.loads(manage("outbox", "show", "latest", "--raw", "--json", env=env_for(folder)).stdout)
    assert (raw["encoding"], base64.b64decode(raw["raw"])) == ("base64", b"Subject: latin-1\n\n\xe9t\xe9\n")
    first = manage("outbox", "list", "--json", env=env_for(folder))
    ident = json.loads(first.stdout)["messages"][1]["id"]
    raw = json.loads(manage("outbox", "show", ident, "--raw", "--json", env=env_for(folder)).stdout)
    assert raw == {
        "id": ident,
        "file": "20260101-000000-000000-00000000.eml",
        "size": len(data),
        "encoding": "utf-8",
        "raw": data.decode(),
    }
    html = manage("outbox", "show", ident, "--html", "--json", env=env_for(folder))
    assert html.returncode == 0 and json.loads(html.stdout)["html"] == "<p>При</p>\n"
    no_html = manage("outbox", "show", "latest", "--html", "--json", env=env_for(folder))
    assert no_html.returncode == 2 and "no HTML part" in json.loads(no_html.stdout)["error"]


def test_process_clear_json_is_one_document_for_every_outcome(tmp_path):
    folder = far_folder(tmp_path)
    env = env_for(folder)
    dry = json.loads(manage("outbox", "clear", "--dry-run", "--json", env=env).stdout)
    assert (dry["ok"], dry["dry_run"], dry["matched"]["count"], dry["deleted"]["count"]) == (True, True, 2, 0)
    assert len(dry["files"]) == 2
    refused = manage("outbox", "clear", "--json", env=env)
    assert refused.returncode == 2 and json.loads(refused.stdout)["ok"] is False
    done = manage("outbox", "clear", "--to", "nobody@example.com", "--noinput", "--json", env=env)
    assert json.loads(done.stdout)["matched"] == {"count": 0, "size": 0}
    done = manage("outbox", "clear", "--noinput", "--json", env=env)
    assert done.returncode == 0 and json.loads(done.stdout)["deleted"]["count"] == 2
    assert list(folder.glob("*.eml")) == []


def test_process_outbox_list_in_russian_has_russian_headers_sizes_and_an_empty_outbox(tmp_path):
    folder = far_folder(tmp_path)
    env = {**env_for(folder), "LANGUAGE_CODE": "ru"}
    listed = manage("outbox", "list", env=env)
    assert listed.stdout.splitlines()[0].split() == ["ID", "ДАТА", "ОТ", "КОМУ", "ТЕМА", "ВЛОЖ.", "РАЗМЕР"]
    assert "\xa0байт\n" in listed.stdout and " B\n" not in listed.stdout
    assert "Показано 2 из 2 писем" in listed.stdout
    assert "~ — время файла: в письме нет читаемого заголовка Date." in listed.stdout
    empty = manage("outbox", "list", "--path", str(tmp_path / "none"), env=env)
    assert empty.stdout == f"Папка с письмами {tmp_path / 'none'} пуста.\n"
