from django.apps import AppConfig


class LessonConfig(AppConfig):
    """The first lesson's "Task" project, its mail code as the lesson writes it (tests/delivery/test_lesson_mail.py)."""

    name = "tests.lesson_app"
    label = "lesson"
