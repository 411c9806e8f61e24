"""The Russian translation is complete, current and compiled.

``make messages`` is run in a copy of the repository: the catalog it writes must
be the committed one (so no translatable text was added or changed without
updating it), no entry may be untranslated or fuzzy, and the committed
``django.mo`` must hold exactly the committed ``django.po``.
"""

import gettext
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CATALOG = Path("locale/ru/LC_MESSAGES")

pytestmark = pytest.mark.skipif(
    not shutil.which("msgfmt"), reason="gettext is not installed (make test installs it: scripts/ensure-services)"
)


def entries(po: Path) -> list[str]:
    """The catalog's entries without the header's dates, which change on every run."""
    text = re.sub(r'"(POT|PO)-(Creation|Revision)-Date: [^"]*"\n', "", po.read_text())
    return text.split("\n\n")


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    """The catalog as ``make messages`` writes it from the current code."""
    copy = tmp_path_factory.mktemp("repo")
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    for name in tracked.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    (copy / ".venv").symlink_to(ROOT / ".venv")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "MAKE"))}
    subprocess.run(["make", "-s", "messages"], cwd=copy, env=env, check=True, capture_output=True, timeout=300)
    return copy / CATALOG


def test_catalog_is_current(regenerated):
    committed, fresh = entries(ROOT / CATALOG / "django.po"), entries(regenerated / "django.po")
    missing = [entry for entry in fresh if entry not in committed]
    stale = [entry for entry in committed if entry not in fresh]
    assert not missing and not stale, (
        "locale/ru/LC_MESSAGES/django.po lags behind the code: run make messages, translate, run it again.\n"
        + "\n\n".join(["New or changed:", *missing, "Gone:", *stale])
    )


@pytest.mark.parametrize("kind", ["untranslated", "only-fuzzy"])
def test_every_entry_translated(kind):
    result = subprocess.run(
        ["msgattrib", f"--{kind}", "--no-wrap", str(ROOT / CATALOG / "django.po")],
        capture_output=True,
        text=True,
        check=True,
    )
    msgids = re.findall(r'^msgid "(.+)"$', result.stdout, re.MULTILINE)
    assert not msgids, f"{kind.removeprefix('only-')} in locale/ru/LC_MESSAGES/django.po: {msgids}"


def test_every_plural_form_translated():
    """msgattrib counts an entry with one plural form filled as translated; Russian needs all four."""
    empty_form = re.compile(r'^msgstr\[\d+\] ""$(?!\n")', re.MULTILINE)  # not the first line of a wrapped one
    gaps = [entry for entry in entries(ROOT / CATALOG / "django.po") if empty_form.search(entry)]
    assert not gaps, "a plural form left empty in locale/ru/LC_MESSAGES/django.po:\n" + "\n\n".join(gaps)


def test_compiled_catalog_matches(regenerated):
    def catalog(folder: Path) -> dict:
        with (folder / "django.mo").open("rb") as file:
            return gettext.GNUTranslations(file)._catalog

    assert catalog(ROOT / CATALOG) == catalog(regenerated), "django.mo is older than django.po: run make messages"
