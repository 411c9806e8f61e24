"""What ``make run`` prints before the server starts (core/banner.py), run as the Makefile runs it."""

import shlex
import subprocess

import pytest

from tests.conftest import ROOT, environment

FILE = "django.core.mail.backends.filebased.EmailBackend"


def banner(*make_args: str, env: dict | None = None) -> list[str]:
    """The banner lines of ``make run ARGS``: the Makefile's own command line (make -n), run as a process."""
    planned = subprocess.run(
        ["make", "-n", "run", *make_args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    [line] = [line for line in planned.splitlines() if "core.banner" in line and not line.startswith("#")]
    result = subprocess.run(shlex.split(line), cwd=ROOT, env=environment(env), capture_output=True, text=True)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    return result.stdout.strip("\n").splitlines()


def test_the_banner_names_the_address_and_the_mailer():
    lines = banner("PORT=8417", env={"EMAIL_URL": "consolemail://"})
    assert lines == [
        "Open http://127.0.0.1:8417/ (Ctrl+C stops the server and the worker; after editing .env, "
        "start make run again)",
        "Mailer direct: django.core.mail.backends.console.EmailBackend, prints to the terminal "
        "(mail is queued: the worker started beside the server sends it)",
    ]


def test_a_site_url_on_another_port_of_this_machine_is_a_warning():
    """make run PORT=8417 with env.sample's SITE_URL=http://127.0.0.1:8000: resetuser's links lead to 8000."""
    lines = banner("PORT=8417", env={"SITE_URL": "http://127.0.0.1:8000"})
    assert lines[2:] == [
        "Warning: SITE_URL is http://127.0.0.1:8000, but the server listens on port 8417: links in mail sent from "
        "the terminal (resetuser) lead to port 8000, not to this server.",
        "Hint: Set SITE_URL=http://127.0.0.1:8417 in .env and start make run again.",
    ]


@pytest.mark.parametrize(
    ("port", "site_url"),
    [
        ("8000", "http://127.0.0.1:8000"),
        ("8417", "http://localhost:8417"),
        ("8417", "https://cinemahub.example"),  # a public address: not this server's business
        ("8417", ""),
    ],
)
def test_a_site_url_that_fits_is_no_warning(port, site_url):
    assert len(banner(f"PORT={port}", env={"SITE_URL": site_url})) == 2


def test_the_banner_is_russian_with_language_code_ru_and_says_why_smtp_is_not_used(tmp_path):
    """The first lesson's EMAIL_BACKEND left in .env beside the second lesson's EMAIL_HOST lines."""
    env = {
        "LANGUAGE_CODE": "ru",
        "EMAIL_BACKEND": FILE,
        "EMAIL_FILE_PATH": str(tmp_path),
        "EMAIL_HOST": "smtp.yandex.ru",
        "EMAIL_HOST_USER": "you@yandex.ru",
        "SITE_URL": "http://127.0.0.1:8000",
    }
    assert banner("PORT=8001", env=env) == [
        "Откройте http://127.0.0.1:8001/ (Ctrl+C останавливает сервер и обработчик почты; после правки .env снова "
        "запустите make run)",
        f"Почта: direct: {FILE}, сохраняет в {tmp_path} (письма ставятся в очередь: их отправляет обработчик, "
        "запущенный рядом с сервером)",
        f"Внимание: Почта не отправляется через SMTP: EMAIL_BACKEND выбирает {FILE}, а он не читает EMAIL_HOST, "
        "EMAIL_HOST_USER.",
        f"Hint: Чтобы отправлять через SMTP, удалите строку EMAIL_BACKEND из .env; чтобы оставить {FILE}, удалите "
        "EMAIL_HOST, EMAIL_HOST_USER.",
        "Внимание: SITE_URL — http://127.0.0.1:8000, а сервер слушает порт 8001: ссылки в письмах, отправленных из "
        "терминала (resetuser), ведут на порт 8000, а не на этот сервер.",
        "Hint: Укажите в .env SITE_URL=http://127.0.0.1:8001 и снова запустите make run.",
    ]
