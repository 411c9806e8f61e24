"""Which mailer: the backend ``MAILERS[alias]`` makes, and what a report shows of it (never the password)."""

from __future__ import annotations

from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.core.mail.backends.dummy import EmailBackend as DummyBackend
from django.core.mail.backends.filebased import EmailBackend as FileBackend
from django.core.mail.backends.locmem import EmailBackend as MemoryBackend
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend

from core.mail.config import sending_alias
from core.mail.django_internals import file_backend_log
from core.mail.explain import config_problem


def get_backend(alias: str = "default"):
    """A fresh backend instance of the mailer that sends for ``MAILERS[alias]`` (``sending_alias``);
    MailProblem(CONFIG) if it cannot be made."""
    alias = sending_alias(alias)
    try:
        return mail.mailers[alias]
    except ImproperlyConfigured as error:
        raise config_problem(error, alias) from None


def kind(backend) -> str:
    """ "smtp", "file", "console", "memory", "dummy" or "other"."""
    for cls, name in (
        (SmtpBackend, "smtp"),
        (FileBackend, "file"),  # before console: the file backend is a console backend
        (ConsoleBackend, "console"),
        (MemoryBackend, "memory"),
        (DummyBackend, "dummy"),
    ):
        if isinstance(backend, cls):
            return name
    return "other"


def security(backend: SmtpBackend) -> str:
    return "ssl" if backend.use_ssl else "starttls" if backend.use_tls else "none"


def describe(backend) -> dict:
    """What a report shows of a backend instance (never the password)."""
    cls = type(backend)
    result = {"alias": backend.alias, "backend": f"{cls.__module__}.{cls.__qualname__}", "kind": kind(backend)}
    if isinstance(backend, SmtpBackend):
        result.update(
            host=backend.host,
            port=backend.port,
            security=security(backend),
            login=backend.username or "",
            timeout=backend.timeout,
            ca_file=getattr(backend, "ssl_cafile", None),
        )
    elif isinstance(backend, FileBackend):
        result["file_path"] = backend.file_path
    return result


def describe_mailer(alias: str = "default") -> dict:
    """What a report shows of a mailer: {"alias", "backend", "kind" (see ``kind``), and for SMTP "host",
    "port", "security" ("ssl" | "starttls" | "none"), "login" (never the password), "timeout",
    "ca_file" (the extra CA file it trusts, or None);
    for file backends "file_path"}.
    Raises MailProblem(ExitCode.CONFIG, ...) for an unknown alias or InvalidMailer."""
    return describe(get_backend(alias))


def files_written(backend) -> list[str]:
    """The files a file-based backend wrote in its last send."""
    if hasattr(backend, "written"):  # the project's outbox backend: one .eml per message
        return list(backend.written)
    if isinstance(backend, FileBackend):  # Django's file backend: one .log per backend instance
        name = file_backend_log(backend)
        return [name] if name else []
    return []
