"""The Russian guide (README.ru.md, docs/ru/) stays true to the code: its commands, targets, variables, addresses."""

import itertools
import re
import shlex
from pathlib import Path

import pytest
from django.urls import Resolver404, resolve

from tests.conftest import parses_as_written

ROOT = Path(__file__).resolve().parent.parent
# Read as a learner walks it: the README first, then its pages.
GUIDE = "\n".join(page.read_text() for page in [ROOT / "README.ru.md", *sorted(ROOT.glob("docs/ru/*.md"))])
CODE = "\n".join(re.findall(r"```[a-z]*\n(.*?)```", GUIDE, re.S))
COMMANDS = [line.strip() for line in CODE.splitlines() if line.strip().startswith("python manage.py ")]


def test_the_guide_has_the_steps_of_both_lessons():
    for command in ("outbox list", "sendtestmail --check", "resetuser", "shell"):
        assert any(line.startswith(f"python manage.py {command}") for line in COMMANDS), command
    assert "/users/password-reset/" in GUIDE and "fail_silently" in GUIDE and "attach_file" in GUIDE


@pytest.mark.parametrize("line", COMMANDS)
def test_every_command_and_option_exists(line):
    parses_as_written(line, shlex.split(line.split("#")[0])[2:])


def test_every_make_target_exists():
    targets = set(re.findall(r"^([a-z][\w.-]*):", (ROOT / "Makefile").read_text(), re.M))
    used = set(re.findall(r"^make (\w+)", CODE, re.M))
    assert used and used <= targets


def test_every_variable_is_in_env_sample():
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / "env.sample").read_text(), re.M))
    documented |= set(re.findall(r"^([A-Z]+) \?=", (ROOT / "Makefile").read_text(), re.M))  # make run PORT=8001
    documented |= {"PYTHON"}  # the interpreter the set-up uses (scripts/find-python)
    used = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", CODE, re.M)) | set(re.findall(r"`([A-Z][A-Z0-9_]+)=", GUIDE))
    assert used and used <= documented, used - documented


def test_every_site_address_resolves():
    paths = set(re.findall(r"127\.0\.0\.1:8000(/[\w/-]*)", GUIDE)) | set(
        re.findall(r"`(/users/[\w-]+/[\w/-]*)`", GUIDE)
    )
    assert "/users/password-reset/" in paths
    for path in paths:
        try:
            resolve(path)
        except Resolver404:
            pytest.fail(f"{path} does not resolve")


def test_the_english_readme_links_here():
    assert "](README.ru.md)" in (ROOT / "README.md").read_text()


def test_every_user_an_example_names_is_created_before_it():
    """On a fresh clone the database has no users: resetuser anna works only after the guide made anna."""
    created, named = set(), []
    for line in re.findall(r"^\s*(?:\.venv/bin/)?python manage\.py (.+)$", CODE, re.M):
        name, *args = shlex.split(line.split("#")[0])
        options = dict(itertools.pairwise(args))
        if name == "createsuperuser":
            created |= {options.get("--username"), options.get("--email")} - {None}
        elif name in ("resetuser", "confirmuser"):
            named += [(arg, set(created)) for arg in args if not arg.startswith("-") and arg not in ("ru", "en")]
    assert named
    for user, known in named:
        assert user in known, f"{user} is used before the guide creates it"
