"""env.sample documents every variable the code reads, and works as a .env."""

import re

from core.mail.config import SEPARATE_VARIABLES
from tests.conftest import ROOT, manage

READS = re.compile(r"""(?:_text|env\.\w+|environ\.get)\(\s*["']([A-Z][A-Z0-9_]+)["']""")


def variables_read_by_the_code() -> set[str]:
    names = set(SEPARATE_VARIABLES)
    for path in [*ROOT.joinpath("core").rglob("*.py"), *ROOT.joinpath("users").rglob("*.py")]:
        names.update(READS.findall(path.read_text()))
    return names


def test_every_variable_the_code_reads_is_in_env_sample():
    sample = ROOT.joinpath("env.sample").read_text()
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", sample, re.MULTILINE))
    assert variables_read_by_the_code() - documented == set()
    assert {"EMAIL_URL", "SECRET_KEY", "SITE_URL", "DJANGO_ENV_FILE"} <= variables_read_by_the_code()


def test_env_sample_as_the_env_file_starts_the_site():
    result = manage("check", env={"DJANGO_ENV_FILE": str(ROOT / "env.sample"), "DEBUG": None})
    assert (result.returncode, result.stderr) == (0, "")
