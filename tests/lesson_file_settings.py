"""core/settings.py with the first lesson's lines pasted at its end, as a learner would (tests/test_lesson_settings.py).

The file's own text is run here rather than imported, so that the pasted lines land in
the same module as the project's settings, exactly as in the learner's core/settings.py.
"""

from pathlib import Path

_SOURCE = Path(__file__).resolve().parent.parent / "core" / "settings.py"
exec(compile(_SOURCE.read_text(), str(_SOURCE), "exec"))  # noqa: S102

EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = BASE_DIR / "sent_emails"  # noqa: F821 - defined by the text run above
