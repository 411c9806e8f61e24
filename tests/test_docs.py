"""README.md, README.ru.md, CONTRIBUTING.md and the pages under docs/: every link a reader follows leads somewhere."""

import re
import shlex
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.conftest import parses_as_written

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted(ROOT.joinpath("docs").rglob("*.md"))
PAGES = [ROOT / "README.md", ROOT / "README.ru.md", ROOT / "CONTRIBUTING.md", *DOCS]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def prose(text: str) -> str:
    """The text outside code blocks, where links and headings are."""
    return re.sub(r"^\s*```.*?^\s*```", "", text, flags=re.M | re.S)


def anchors(page: Path) -> set[str]:
    """GitHub's anchors of a page's headings: lowercase, punctuation dropped, spaces as '-', repeats numbered."""
    found, seen = set(), {}
    for heading in re.findall(r"^#{1,6} (.+)$", prose(page.read_text()), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.replace("`", "").strip().lower()).replace(" ", "-")
        found.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return found


def relative_links(page: Path) -> list[str]:
    return [target for target in LINK.findall(prose(page.read_text())) if not re.match(r"[a-z]+:", target)]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(page):
    for target in relative_links(page):
        path, _, anchor = unquote(target).partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{target}: no such file"
        if anchor:
            assert anchor in anchors(linked), f"{target}: no heading with that anchor in {linked.name}"


def test_the_anchor_rules_are_githubs():
    page = ROOT / "docs" / "reset-and-queue.md"
    assert {"is-mail-flowing-mailqueue", "one-mailbox-one-rule"} <= anchors(page)
    assert "from-the-lessons-settingspy" in anchors(ROOT / "docs" / "configuration.md")
    assert "faults-that-repeat---fail" in anchors(ROOT / "docs" / "mailserver.md")


@pytest.mark.parametrize("page", DOCS, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_page_starts_with_the_readers_task_and_is_on_a_readmes_map(page):
    assert page.read_text().startswith("# "), "the first line is the task the page helps with"
    readme = ROOT / ("README.ru.md" if page.parent.name == "ru" else "README.md")
    assert f"]({page.relative_to(ROOT)})" in readme.read_text(), f"{readme.name} does not link {page.name}"


# The English README and its pages, checked as tests/test_readme_ru.py checks the Russian guide.
ENGLISH = "\n".join(page.read_text() for page in [ROOT / "README.md", *sorted(ROOT.glob("docs/*.md"))])
ENGLISH_CODE = "\n".join(re.findall(r"```[a-z]*\n(.*?)```", ENGLISH, re.S))
ENGLISH_COMMANDS = [
    line.split("manage.py ", 1)[1]
    for line in ENGLISH_CODE.splitlines()
    if re.match(r"\s*(\$ )?(\.venv/bin/)?python manage\.py ", line) and " [" not in line  # not a synopsis
]


@pytest.mark.parametrize("line", ENGLISH_COMMANDS)
def test_every_command_and_option_in_the_english_docs_exists(line):
    parses_as_written(line, shlex.split(line.split("#")[0]))


def test_every_variable_the_english_docs_set_is_in_env_sample():
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / "env.sample").read_text(), re.M))
    documented |= set(re.findall(r"^([A-Z]+) \?=", (ROOT / "Makefile").read_text(), re.M))  # make run PORT=8001
    documented |= {"PYTHON"}  # the interpreter the set-up uses (scripts/find-python)
    used = set(re.findall(r"^\s*([A-Z][A-Z0-9_]+)=", ENGLISH_CODE, re.M))
    used |= set(re.findall(r"`([A-Z][A-Z0-9_]+)=", ENGLISH)) - {"NAME"}  # `NAME=`: any variable set to nothing
    assert used and used <= documented, used - documented


def test_contributings_layout_names_every_module_and_folder():
    """CONTRIBUTING.md's layout table matches the tree: a module or folder added without a row fails here."""
    text = (ROOT / "CONTRIBUTING.md").read_text()
    modules = [
        path
        for package in ROOT.glob("*/__init__.py")
        if package.parent.name not in ("tests", "bench")  # their own rows name what is in them
        for path in package.parent.rglob("*.py")
        if "migrations" not in path.parts and path.name != "__init__.py"
    ]
    missing = [
        str(path.relative_to(ROOT))
        for path in modules
        # a command is named as people type it (`sendtestmail`), a module by its file name
        if (path.stem if path.parent.name == "commands" else path.name) not in text
    ]
    missing += [
        f"{folder.name}/"
        for folder in ROOT.iterdir()
        if folder.is_dir() and not folder.name.startswith((".", "_")) and f"`{folder.name}" not in text
    ]
    assert not missing, f"CONTRIBUTING.md's layout has no row for: {', '.join(missing)}"
