"""``manage.py mailserver`` as a real process, with the site's own commands as its clients.

What it prints is what a person copies into ``.env``: every test here feeds those lines
to ``sendtestmail`` / ``resetuser`` (real processes too) and finds the message with
``outbox``. Then the mistakes of the lessons against ``--like yandex|gmail|mailru``,
and each kind of ``--fail`` rule, each with the exit code and hint the site gives.
Loopback only, ``--port 0``, a folder of the test's own.
"""

import json
import os
import signal
import smtplib
import socket
import subprocess
import sys
from subprocess import PIPE
from urllib.parse import quote

import pytest

from core.security import MASK
from tests.conftest import ROOT, environment, manage
from tests.mailserver_process import mailserver

TO = "anna@example.com"
SITE = "https://cinemahub.example"
LOGIN, PASSWORD = "site@example.com", "s3cret-Pa55word"
CA = ".mailserver/ca.pem"  # as mailserver prints it: relative to the project
# The other engineer is adding ?ssl_cafile= and EMAIL_SSL_CAFILE to the site's mail configuration.


def printed_env(lines: list[str]) -> tuple[str, list[str]]:
    """The EMAIL_URL line and the separate variables' lines of mailserver's text output."""
    start = lines.index("To send this site's mail here, put in .env either")
    url, alternative, *rest = lines[start + 1 :]
    assert alternative == "or"
    separate = []
    for line in rest:
        if not line.startswith("  "):
            break
        separate.append(line.strip())
    return url.strip(), separate


def as_env(lines: list[str], password: str = "") -> dict:
    """``NAME=value`` lines as a process environment, a masked password replaced by ``password``."""
    env = {}
    for line in lines:
        name, _, value = line.partition("=")
        env[name] = value.replace(MASK, quote(password, safe="") if name == "EMAIL_URL" else password)
    return env


def messages(folder) -> list[dict]:
    """``outbox list --all --json --path FOLDER``: every message saved there, newest first."""
    result = manage("outbox", "list", "--all", "--json", "--path", str(folder))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["messages"]


def error_lines(result) -> tuple[str, str]:
    """A failed command's stderr: its one error line and its Hint line, nothing else."""
    first, hint = result.stderr.splitlines()
    assert first.startswith("Error: ") and hint.startswith("Hint: "), result.stderr
    assert "Traceback" not in result.stderr
    return first, hint


def saved_files(folder) -> list:
    return sorted(folder.glob("*.eml")) if folder.exists() else []


# ---------------------------------------------------------------- what it prints at the start, and at the stop


def test_the_printed_url_and_separate_variables_each_send_here_and_sigint_counts_them(tmp_path):
    folder = tmp_path / "out"
    with mailserver("--path", str(folder), text=True) as server:
        port = server.port
        assert server.lines[0] == f"mailserver is listening on 127.0.0.1:{port} (no encryption)."
        assert (
            server.lines[1]
            == f"Messages are saved in {folder}; `python manage.py outbox list --path {folder}` shows them."
        )
        url, separate = printed_env(server.lines)
        assert url == f"EMAIL_URL=smtp://127.0.0.1:{port}"
        assert separate == ["EMAIL_HOST=127.0.0.1", f"EMAIL_PORT={port}"]
        for name, env in (("url", as_env([url])), ("separate", as_env(separate))):
            env["DEFAULT_FROM_EMAIL"] = LOGIN  # else a warning that providers refuse webmaster@localhost
            result = manage("sendtestmail", TO, "--subject", f"through the {name}", env=env)
            assert (result.returncode, result.stderr) == (0, "")
            assert result.stdout.startswith(f"Sent 1 message through 127.0.0.1:{port} (no encryption) in ")
        found = {message["subject"]: message for message in messages(folder)}
        assert sorted(found) == ["through the separate", "through the url"]
        assert all((m["from"], m["to"]) == (LOGIN, [TO]) for m in found.values())
        code, out, err = server.stop(signal.SIGINT)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[-1] == "Stopped: 2 messages saved."
    saved = [line for line in lines if " saved " in line]
    assert len(saved) == 2 and all(f"from {LOGIN} to {TO}" in line for line in saved)


def test_sigterm_stops_it_too_with_exit_0_and_the_count(tmp_path):
    with mailserver("--path", str(tmp_path / "out"), text=True) as server:
        url, _ = printed_env(server.lines)
        assert manage("sendtestmail", TO, "--from", LOGIN, env=as_env([url])).returncode == 0
        code, out, err = server.stop(signal.SIGTERM)
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == "Stopped: 1 message saved."


def test_json_is_one_document_at_the_start_and_nothing_more(tmp_path):
    folder = tmp_path / "out"
    login = f"{LOGIN}:{PASSWORD}"
    with mailserver("--path", str(folder), "--login", login, "--fail", "data:451:first=1", "--max-size", "1000") as s:
        document = s.document
        code, out, err = s.stop(signal.SIGTERM)
    assert (code, out, err) == (0, "", "")
    assert set(document) == {
        "ok",
        "host",
        "port",
        "security",
        "folder",
        "like",
        "login",
        "ca_file",
        "fail",
        "max_size",
        "env",
    }
    port = document["port"]
    assert isinstance(port, int) and 0 < port < 65536
    assert document | {"port": 0, "env": {}} == {
        "ok": True,
        "host": "127.0.0.1",
        "port": 0,
        "security": "none",
        "folder": str(folder),
        "like": None,
        "login": LOGIN,
        "ca_file": None,
        "fail": ["data:451:first=1"],
        "max_size": 1000,
        "env": {},
    }
    assert document["env"] == {
        "url": f"EMAIL_URL=smtp://site%40example.com:{MASK}@127.0.0.1:{port}",
        "separate": [
            "EMAIL_HOST=127.0.0.1",
            f"EMAIL_PORT={port}",
            f"EMAIL_HOST_USER={LOGIN}",
            f"EMAIL_HOST_PASSWORD={MASK}",
        ],
    }
    assert PASSWORD not in json.dumps(document)


# ---------------------------------------------------------------- bad input: exit 2 before anything listens


@pytest.fixture
def a_file(tmp_path):
    path = tmp_path / "a-file"
    path.write_text("not a folder")
    return path


@pytest.mark.parametrize(
    ("args", "error", "hint"),
    [
        (["--fail", "bogus"], "--fail: the rule 'bogus' is not STAGE:ACTION", "For example data:451"),
        (["--fail", "nowhere:451"], "--fail: unknown stage 'nowhere'", "Stages: connect, login, mail, rcpt, data"),
        (["--fail", "data:999"], "--fail: the reply code 999 is not a failure (400 to 599).", "451 says try later"),
        (["--fail", "data:451:every=2:first=1"], "has both every= and first=.", "Give one of them"),
        (["--fail", "login:535"], "A login rule needs logins to refuse.", "Add --login USER:PASSWORD or --any-login"),
        (["--login", "site@example.com"], "A --login is USER:PASSWORD, with both parts.", "For example --login"),
        (["--path", "{file}"], "Cannot save messages in {file}: ", "Pass --path with a folder this user can write"),
        (["--path", "{file}/sub"], "Cannot save messages in {file}/sub: ", "Pass --path with a folder"),
    ],
)
def test_bad_input_is_exit_2_with_one_line_and_a_hint(a_file, args, error, hint):
    args = [arg.replace("{file}", str(a_file)) for arg in args]
    result = manage("mailserver", "--port", "0", *args)
    assert (result.returncode, result.stdout) == (2, "")
    first, second = error_lines(result)
    assert error.replace("{file}", str(a_file)) in first
    assert not first.endswith("..")  # the sentence's own full stop after a problem's
    assert hint in second


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_a_folder_it_cannot_write_is_exit_2(tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir(mode=0o555)
    result = manage("mailserver", "--port", "0", "--path", str(folder))
    assert result.returncode == 2
    first, hint = error_lines(result)
    assert f"Cannot save messages in {folder}: " in first and "--path" in hint


@pytest.mark.skipif(not os.path.isdir("/sys/kernel"), reason="no sysfs here")
def test_a_folder_that_refuses_files_whatever_its_permissions_say_is_exit_2():
    """/sys/kernel: root passes every permission check there, and still cannot make a file."""
    result = manage("mailserver", "--port", "0", "--path", "/sys/kernel", timeout=30)
    assert (result.returncode, result.stdout) == (2, "")
    first, hint = error_lines(result)
    assert first.startswith("Error: Cannot save messages in /sys/kernel: ")
    assert "Pass --path with a folder this user can write" in hint


@pytest.fixture
def small_disk(tmp_path):
    """A 64 KiB tmpfs: a real full disk. Mounting it needs root (CAP_SYS_ADMIN); skipped without."""
    folder = tmp_path / "small-disk"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_full_disk_is_452_insufficient_storage_and_the_log_says_the_disk_is_full(small_disk):
    with mailserver("--path", str(small_disk), text=True) as server:
        with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
            with pytest.raises(smtplib.SMTPDataError) as caught:
                client.sendmail(LOGIN, [TO], b"Subject: too big for the disk\r\n\r\n" + (b"x" * 78 + b"\r\n") * 1400)
            assert (caught.value.smtp_code, caught.value.smtp_error) == (452, b"4.3.1 Insufficient system storage")
            client.sendmail(LOGIN, [TO], b"Subject: small\r\n\r\nfits")  # the next one that fits is saved
        code, out, err = server.stop()
    assert (code, err) == (0, "")
    [refused] = [line for line in out.splitlines() if " refused: " in line]
    assert refused.endswith("refused: DATA: the disk is full: 452 4.3.1 Insufficient system storage")
    assert out.splitlines()[-1] == "Stopped: 1 message saved."


def test_a_full_disk_tells_sendtestmail_so(small_disk):
    with mailserver("--path", str(small_disk), text=True) as server:
        url, _ = printed_env(server.lines)
        body = small_disk.parent / "body.txt"
        body.write_text(("x" * 78 + "\n") * 1400)
        result = manage("sendtestmail", TO, "--from", LOGIN, "--body-file", str(body), env=as_env([url]))
    assert result.returncode == 6
    first, hint = error_lines(result)
    assert "refused the message after receiving it: 452 4.3.1 Insufficient system storage" in first
    assert (
        hint
        == "Hint: The server has no room to store the message (its disk is full): try again later, or tell its admin."
    )


def test_a_port_in_use_is_exit_2_naming_it(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = manage("mailserver", "--port", str(port), "--path", str(tmp_path / "out"))
    assert (result.returncode, result.stdout) == (2, "")
    first, hint = error_lines(result)
    assert first == f"Error: Port {port} on 127.0.0.1 is in use (another mailserver, or another program)."
    assert "Pass another --port" in hint


@pytest.mark.parametrize("output", [[], ["--json"]])
@pytest.mark.parametrize(
    ("login", "error"),
    [
        ("site@example.com" + PASSWORD, "A --login is USER:PASSWORD, with both parts."),
        (f"site@example.com:{PASSWORD}пароль", "A --login must be ASCII"),
        (f"сайт@example.com:{PASSWORD}", "A --login must be ASCII"),
        (f"site@example.com:{PASSWORD} --any-login", "argument --any-login: not allowed with argument --login"),
    ],
    ids=["no-colon", "non-ascii-password", "non-ascii-user", "with-any-login"],
)
def test_a_bad_login_is_exit_2_and_the_password_is_never_echoed(tmp_path, login, error, output):
    login, _, any_login = login.partition(" ")
    args = ["--login", login, *([any_login] if any_login else []), *output]
    result = manage("mailserver", "--port", "0", "--path", str(tmp_path / "out"), *args)
    assert result.returncode == 2
    assert error in result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    if output and not any_login:  # argparse's own errors come before the command, as plain text
        document = json.loads(result.stdout)
        assert (document["ok"], document["code"]) == (False, 2) and error in document["error"]


EVERYWHERE = "0.0.0.0"  # noqa: S104 - bound for a moment; nothing but this test's loopback connects
WARNING = "Warning: listening on 0.0.0.0 accepts mail from other machines on the network.\n"


@pytest.mark.parametrize("output", ["text", "--json"])
def test_listening_beyond_loopback_warns_that_the_network_can_send_to_it(tmp_path, output):
    with mailserver("--host", EVERYWHERE, "--path", str(tmp_path / "out"), text=output == "text") as server:
        url = server.env_url if server.document else printed_env(server.lines)[0].partition("=")[2]
        assert url == f"smtp://127.0.0.1:{server.port}"  # the site still sends over loopback
        code, _, err = server.stop()
    assert (code, err) == (0, WARNING)


def test_verbosity_0_prints_nothing_but_still_the_network_warning(tmp_path):
    command = [sys.executable, "manage.py", "mailserver", "--port", "0", "--verbosity", "0"]
    args = ["--host", EVERYWHERE, "--path", str(tmp_path / "out")]
    process = subprocess.Popen(command + args, cwd=ROOT, env=environment(), stdout=PIPE, stderr=PIPE, text=True)
    try:
        warning = process.stderr.readline()  # written once it listens
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert (process.returncode, out, warning + err) == (0, "", WARNING)


# ---------------------------------------------------------------- plain, STARTTLS and SSL: the site's commands send


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A database with a user who has an address, for resetuser as a real process."""
    folder = tmp_path_factory.mktemp("site")
    env = {"DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}", "SITE_URL": SITE}
    assert manage("migrate", "--noinput", env=env).returncode == 0
    script = f"from users.models import User; User.objects.create_user('anna', '{TO}', 'pw')"
    assert manage("shell", "-c", script, env=env).returncode == 0
    return env


@pytest.mark.parametrize(
    ("flags", "scheme", "security", "words"),
    [
        ([], "smtp", [], "no encryption"),
        pytest.param(["--starttls"], "smtp+tls", ["EMAIL_USE_TLS=true"], "STARTTLS"),
        pytest.param(["--ssl"], "smtp+ssl", ["EMAIL_USE_SSL=true"], "SSL from the first byte"),
    ],
    ids=["plain", "starttls", "ssl"],
)
def test_sendtestmail_and_resetuser_send_through_it_as_printed(tmp_path, site, flags, scheme, security, words):
    folder = tmp_path / "out"
    with mailserver("--path", str(folder), "--login", f"{LOGIN}:{PASSWORD}", *flags, text=True) as server:
        port, lines = server.port, server.lines
        assert lines[0] == f"mailserver is listening on 127.0.0.1:{port} ({words})."
        url, separate = printed_env(lines)
        cafile = [f"EMAIL_SSL_CAFILE={CA}"] if flags else []
        query = f"?ssl_cafile={CA}" if flags else ""
        assert url == f"EMAIL_URL={scheme}://site%40example.com:{MASK}@127.0.0.1:{port}{query}"
        assert separate == [
            "EMAIL_HOST=127.0.0.1",
            f"EMAIL_PORT={port}",
            *security,
            f"EMAIL_HOST_USER={LOGIN}",
            f"EMAIL_HOST_PASSWORD={MASK}",
            *cafile,
        ]
        if flags:
            assert any(line.startswith(f"CA file: {ROOT / CA} (") for line in lines)
        assert "(EMAIL_HOST_PASSWORD is the password given with --login; it is not shown.)" in lines
        assert "and leave DEFAULT_FROM_EMAIL unset: the sender is then the login." in lines

        # DEFAULT_FROM_EMAIL left unset, as the output says: the sender is the login.
        sent = manage("sendtestmail", TO, "--subject", "sendtestmail", env=as_env([url], PASSWORD))
        assert (sent.returncode, sent.stderr) == (0, ""), sent.stderr
        site_words = {"SSL from the first byte": "SSL"}.get(words, words)  # sendtestmail's shorter word
        assert sent.stdout.startswith(f"Sent 1 message through 127.0.0.1:{port} ({site_words}) in ")
        if flags:
            assert f"also trusts the CA in {ROOT / CA}" in sent.stdout
        reset = manage("resetuser", "anna", env={**site, **as_env(separate, PASSWORD)})
        assert (reset.returncode, reset.stderr) == (0, ""), reset.stderr
        assert f"Reset message sent to anna <{TO}>" in reset.stdout
        found = {message["subject"]: message for message in messages(folder)}
        assert sorted(found) == ["Password reset on cinemahub.example", "sendtestmail"]
        assert all((m["from"], m["to"]) == (LOGIN, [TO]) for m in found.values())
        raw = manage("outbox", "show", found["sendtestmail"]["id"], "--raw", "--path", str(folder)).stdout
        code, out, err = server.stop()
    # The server's own account of how it came: logged in, and encrypted when it should be.
    assert f"([127.0.0.1]) (login {LOGIN})\n\tby mailserver with {'ESMTPSA' if flags else 'ESMTPA'}\n" in raw
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == "Stopped: 2 messages saved."
    assert PASSWORD not in "".join(lines) + out + sent.stdout + reset.stdout


def test_ssl_to_the_starttls_server_is_exit_3_saying_it_answered_in_plain_text(tmp_path):
    with mailserver("--path", str(tmp_path / "out"), "--starttls", "--any-login") as server:
        url = f"smtp+ssl://127.0.0.1:{server.port}"
        result = manage("sendtestmail", TO, "--from", LOGIN, env={"EMAIL_URL": url, "EMAIL_TIMEOUT": "5"})
    assert result.returncode == 3
    first, hint = error_lines(result)
    assert first == f"Error: 127.0.0.1:{server.port} does not speak SSL: it answered in plain text."
    assert "STARTTLS: smtp+tls://" in hint


# ---------------------------------------------------------------- --like: the lessons' mistakes, a server per provider

PROVIDERS = {
    "yandex": {
        "bad_login": "535 5.7.8 Error: authentication failed: Invalid user or password!",
        "app_passwords": "Yandex needs an app password of the kind Mail (id.yandex.ru/security/app-passwords)",
        "not_owner": "553 5.7.1 Sender address rejected: not owned by auth user.",
    },
    "gmail": {
        "bad_login": "535 5.7.8 Username and Password not accepted.",
        "app_passwords": "Gmail needs an app password (myaccount.google.com/apppasswords",
        "not_owner": "",  # Gmail takes it, and sends it From the account
    },
    "mailru": {
        "bad_login": "535 5.7.0 NEOBHODIM parol prilozheniya",
        "app_passwords": "Mail.ru needs a password for external applications",
        "not_owner": "550 not local sender over smtp",
    },
}


@pytest.fixture(scope="module", params=sorted(PROVIDERS))
def rehearsal(request, tmp_path_factory):
    """``mailserver --like NAME`` (SSL, as on 465) for every test of that provider: they do not interfere."""
    name = request.param
    folder = tmp_path_factory.mktemp(name)
    with mailserver("--like", name, "--path", str(folder)) as server:
        yield name, server, folder
        code, out, err = server.stop()
        assert (code, out, err) == (0, "", "")


class TestRehearsal:
    def test_its_document_names_the_provider_login_and_ca(self, rehearsal):
        name, server, _ = rehearsal
        document = server.document
        login = {"yandex": "you@yandex.ru", "gmail": "you@gmail.com", "mailru": "you@mail.ru"}[name]
        assert (document["like"], document["login"], document["security"]) == (name, login, "ssl")
        assert document["ca_file"].endswith(CA) and os.path.isfile(document["ca_file"])
        assert server.env_url.startswith(f"smtp+ssl://{quote(login, safe='')}:")
        assert server.env_url.endswith(f"@127.0.0.1:{server.port}?ssl_cafile={CA}")
        assert f"EMAIL_SSL_CAFILE={CA}" in document["env"]["separate"]

    def test_the_printed_url_sends_from_the_login(self, rehearsal):
        name, server, folder = rehearsal
        result = manage("sendtestmail", TO, "--subject", f"{name}: as printed", env={"EMAIL_URL": server.env_url})
        assert (result.returncode, result.stderr) == (0, "")
        [message] = [m for m in messages(folder) if m["subject"] == f"{name}: as printed"]
        assert message["from"] == server.document["login"]

    def test_the_account_password_is_exit_5_naming_the_providers_app_passwords(self, rehearsal):
        name, server, _ = rehearsal
        app_password = server.env_url.split(":")[2].partition("@")[0]
        url = server.env_url.replace(f":{app_password}@", ":Account-Password-1@")
        result = manage("sendtestmail", TO, env={"EMAIL_URL": url})
        assert (result.returncode, result.stdout) == (5, "")
        first, hint = error_lines(result)
        login = server.document["login"]
        assert first.startswith(f"Error: 127.0.0.1:{server.port} refused the login '{login}': ")
        assert PROVIDERS[name]["bad_login"].rstrip("!.") in first
        assert PROVIDERS[name]["app_passwords"] in hint
        assert "not a full address" not in hint
        assert "Account-Password-1" not in result.stderr

    def test_a_login_that_is_not_a_full_address_is_exit_5_saying_so(self, rehearsal):
        name, server, _ = rehearsal
        url = server.env_url.replace(quote(server.document["login"], safe=""), "you")
        result = manage("sendtestmail", TO, "--from", server.document["login"], env={"EMAIL_URL": url})
        assert result.returncode == 5
        first, hint = error_lines(result)
        assert first.startswith(f"Error: 127.0.0.1:{server.port} refused the login 'you': ")
        assert PROVIDERS[name]["app_passwords"] in hint
        assert hint.endswith("The login 'you' is not a full address.")

    def test_no_ssl_to_its_ssl_port_is_exit_4_after_the_timeout_with_the_ssl_hint(self, rehearsal):
        _, server, _ = rehearsal
        url = server.env_url.replace("smtp+ssl://", "smtp://").partition("?")[0]
        result = manage("sendtestmail", TO, env={"EMAIL_URL": url, "EMAIL_TIMEOUT": "1"})
        assert (result.returncode, result.stdout) == (4, "")
        first, hint = error_lines(result)
        assert first == f"Error: 127.0.0.1:{server.port} did not answer within 1 s."
        assert "A server that expects SSL from the first byte waits silently for it" in hint
        assert "use smtp+ssl:// (EMAIL_USE_SSL=true)" in hint

    def test_starttls_to_its_ssl_port_is_exit_4_with_the_ssl_hint(self, rehearsal):
        _, server, _ = rehearsal
        url = server.env_url.replace("smtp+ssl://", "smtp+tls://")  # the CA kept: only the scheme is wrong
        result = manage("sendtestmail", TO, env={"EMAIL_URL": url, "EMAIL_TIMEOUT": "1"})
        assert (result.returncode, result.stdout) == (4, "")
        first, hint = error_lines(result)
        assert first == f"Error: 127.0.0.1:{server.port} did not answer within 1 s."
        assert "use smtp+ssl:// (EMAIL_USE_SSL=true)" in hint

    def test_a_sender_other_than_the_login_is_refused_with_exit_6_or_rewritten_by_gmail(self, rehearsal):
        name, server, folder = rehearsal
        login = server.document["login"]
        subject = f"{name}: from another sender"
        env = {"EMAIL_URL": server.env_url, "DEFAULT_FROM_EMAIL": LOGIN}
        result = manage("sendtestmail", TO, "--subject", subject, env=env)
        if not PROVIDERS[name]["not_owner"]:
            assert result.returncode == 0
            assert "(core.mail.W006)" in result.stderr  # the site's check warns all the same
            [message] = [m for m in messages(folder) if m["subject"] == subject]
            assert message["from"] == login
            return
        assert (result.returncode, result.stdout) == (6, "")
        first, hint = error_lines(result)
        assert first.startswith(f"Error: 127.0.0.1:{server.port} refused the sender {LOGIN}: ")
        assert PROVIDERS[name]["not_owner"] in first
        assert f"must be the mailbox you log in as ({login})" in hint
        assert "leave DEFAULT_FROM_EMAIL unset" in hint
        assert not [m for m in messages(folder) if m["subject"] == subject]


# ---------------------------------------------------------------- each kind of --fail rule, through sendtestmail


@pytest.mark.parametrize(
    ("rules", "to", "code", "error", "hint"),
    [
        (
            ["connect:554"],
            TO,
            4,
            "refused the session: 554 5.7.1 Message rejected.",
            "The server is busy or refuses this machine",
        ),
        (
            ["login:535"],
            TO,
            5,
            f"refused the login '{LOGIN}': 535 5.7.8 Authentication credentials invalid.",
            "need an app password",
        ),
        (
            ["mail:553"],
            TO,
            6,
            f"refused the sender {LOGIN}: 553 5.1.3 Mailbox name not allowed.",
            f"must be the mailbox you log in as ({LOGIN})",
        ),
        (
            ["rcpt:550:match=*@blocked.example"],
            "boris@blocked.example",
            6,
            "refused every recipient: boris@blocked.example (550 5.1.1 Mailbox unavailable).",
            "Check these addresses for typing errors.",
        ),
        (
            ["data:drop"],
            TO,
            4,
            "closed the connection in the middle of sending the message.",
            "a server limit",
        ),
        (
            ["data:delay=3"],
            TO,
            4,
            "stopped answering for 1 s while the message was being sent.",
            "the server is slow (raise EMAIL_TIMEOUT or pass --timeout)",
        ),
        (
            ["connect:delay=3"],
            TO,
            4,
            "did not answer within 1 s.",
            "the server is slow (raise EMAIL_TIMEOUT or pass --timeout)",
        ),
    ],
    ids=["connect-554", "login-535", "mail-553", "rcpt-550-match", "data-drop", "data-delay", "connect-delay"],
)
def test_a_fail_rule_gives_sendtestmails_exit_code_and_hint(tmp_path, rules, to, code, error, hint):
    folder = tmp_path / "out"
    fail = [arg for rule in rules for arg in ("--fail", rule)]
    with mailserver("--path", str(folder), "--login", f"{LOGIN}:{PASSWORD}", *fail) as server:
        env = {"EMAIL_URL": server.env_url.replace(MASK, quote(PASSWORD, safe="")), "EMAIL_TIMEOUT": "1"}
        result = manage("sendtestmail", to, env=env)
        assert server.stop() == (0, "", "")
    assert (result.returncode, result.stdout) == (code, "")
    first, second = error_lines(result)
    assert first == f"Error: 127.0.0.1:{server.port} {error}"
    assert hint in second
    assert PASSWORD not in result.stderr
    assert saved_files(folder) == []  # the client was never told 250


def test_a_rcpt_rule_refuses_only_the_matching_recipient_and_the_rest_get_it(tmp_path):
    folder = tmp_path / "out"
    with mailserver("--path", str(folder), "--fail", "rcpt:550:match=*@blocked.example") as server:
        env = {"EMAIL_URL": server.env_url}
        result = manage("sendtestmail", TO, "boris@blocked.example", "--from", LOGIN, env=env)
        [message] = messages(folder)
        raw = manage("outbox", "show", message["id"], "--raw", "--path", str(folder)).stdout
    assert result.returncode == 6
    assert "  refused     boris@blocked.example: 550 5.1.1 Mailbox unavailable" in result.stdout.splitlines()
    first, _ = error_lines(result)
    refusal = "boris@blocked.example (550 5.1.1 Mailbox unavailable)"
    assert first == f"Error: 127.0.0.1:{server.port} refused some recipients: {refusal}."
    assert message["to"] == [TO, "boris@blocked.example"]  # the header names both; the envelope only Anna
    assert f"\tfor <{TO}>; " in raw


def test_a_data_rule_with_first_refuses_the_first_message_and_the_next_is_saved(tmp_path):
    folder = tmp_path / "out"
    with mailserver("--path", str(folder), "--fail", "data:451:first=1") as server:
        env = {"EMAIL_URL": server.env_url, "DEFAULT_FROM_EMAIL": LOGIN}
        refused = manage("sendtestmail", TO, "--subject", "first", env=env)
        accepted = manage("sendtestmail", TO, "--subject", "second", env=env)
        found = messages(folder)
    assert (refused.returncode, refused.stdout) == (6, "")
    first, _ = error_lines(refused)
    assert first == (
        f"Error: 127.0.0.1:{server.port} refused the message after receiving it: "
        "451 4.3.0 Temporary failure, try again later."
    )
    assert (accepted.returncode, accepted.stderr) == (0, "")
    assert [message["subject"] for message in found] == ["second"]


# ---------------------------------------------------------------- in Russian, as the learner reads it
RU = {"LANGUAGE_CODE": "ru"}


@pytest.mark.parametrize(
    ("name", "rehearsing", "as_it_does"),
    [
        ("yandex", "Репетиция Яндекса (smtp.yandex.ru:465)", "отклоняется, как это делает Яндекс."),
        ("gmail", "Репетиция Gmail (smtp.gmail.com:465)", "заменяется на него, как это делает Gmail."),
        ("mailru", "Репетиция Mail.ru (smtp.mail.ru:465)", "отклоняется, как это делает Mail.ru."),
    ],
)
def test_the_rehearsal_names_the_provider_in_russian_grammar(tmp_path, name, rehearsing, as_it_does):
    with mailserver("--like", name, "--path", str(tmp_path), text=True, env=RU) as server:
        assert any(line.startswith(rehearsing) for line in server.lines), server.lines
        assert any(line.endswith(as_it_does) for line in server.lines), server.lines


def russian_bytes(size: int) -> str:
    """«байт» after a number, as Django's Russian catalog has it: 1, 5 and 11 байт; 2 to 4, 784 байта."""
    return "байта" if 2 <= size % 10 <= 4 and not 12 <= size % 100 <= 14 else "байт"


def test_the_log_gives_a_saved_size_in_the_russian_plural(tmp_path):
    with mailserver("--path", str(tmp_path), text=True, env=RU) as server:
        with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
            for padding in range(3):  # three sizes
                client.sendmail(LOGIN, [TO], b"Subject: small\r\n\r\n" + b"x" * padding)
        code, out, err = server.stop()
    assert (code, err) == (0, "")
    saved = {line.split()[3]: line for line in out.splitlines() if ".eml от " in line}  # "HH:MM:SS peer сохранено NAME"
    assert len(saved) == 3
    for name, line in saved.items():
        size = (tmp_path / name).stat().st_size
        assert line.endswith(f"({size}\xa0{russian_bytes(size)})"), line


@pytest.mark.parametrize(
    ("env", "hint"),
    [
        ({}, "Hint: For example --login you@yandex.ru:abcdefghijklmnop"),
        (RU, "Hint: Например, --login you@yandex.ru:abcdefghijklmnop"),
    ],
)
def test_a_hint_is_a_sentence_with_a_capital_letter_in_both_languages(env, hint):
    result = manage("mailserver", "--port", "0", "--login", "site@example.com", env=env)
    assert result.returncode == 2
    assert error_lines(result)[1] == hint
