"""What every command of the project shares: turning a MailProblem into its exit."""

from django.core.management.base import CommandError

from core.mail.errors import MailProblem


def command_error(problem: MailProblem) -> CommandError:
    """A CommandError whose text is the sentence and its ``Hint:`` line, with the problem's exit code."""
    text = problem.message + (f"\nHint: {problem.hint}" if problem.hint else "")
    return CommandError(text, returncode=int(problem.code))
