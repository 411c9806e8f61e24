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


def test_resetuser_works_right_after_the_quick_start(tmp_path):
    """make run copies env.sample to .env: resetuser then needs nothing more (SITE_URL is the local server)."""
    env = {
        "DJANGO_ENV_FILE": str(ROOT / "env.sample"),
        "DEBUG": None,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "EMAIL_URL": f"outbox://{tmp_path / 'sent'}",
    }
    assert manage("migrate", "--noinput", "-v0", env=env).returncode == 0
    create = "from users.models import User; User.objects.create_user('anna', 'anna@example.com', 'pw-12345678')"
    assert manage("shell", "-c", create, env=env).returncode == 0
    result = manage("resetuser", "anna", "--show-link", env=env)
    assert result.returncode == 0, result.stderr
    assert "  link:    http://127.0.0.1:8000/users/reset/" in result.stdout
    assert len(list((tmp_path / "sent").glob("*.eml"))) == 1
