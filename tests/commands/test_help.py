"""Every option of the project's commands says what it does in --help."""

import argparse

import pytest
from django.core.management import get_commands, load_command_class

from tests.conftest import manage

PROJECT_COMMANDS = sorted(name for name, app in get_commands().items() if app == "core")


def test_the_project_commands_are_found():
    assert {"sendtestmail", "resetuser", "outbox", "mailqueue"} <= set(PROJECT_COMMANDS)


def silent_options(parser: argparse.ArgumentParser, prefix: str) -> list[str]:
    """Options and sub-commands of ``parser`` (and of its sub-commands) without a help text."""
    silent = []
    for action in parser._actions:  # argparse has no public list of its options
        if isinstance(action, argparse._SubParsersAction):
            described = {choice.dest for choice in action._choices_actions if choice.help}
            for sub, subparser in action.choices.items():
                silent += [] if sub in described else [f"{prefix} {sub}"]
                silent += silent_options(subparser, f"{prefix} {sub}")
        elif not action.help:
            silent.append(f"{prefix} {action.option_strings[0] if action.option_strings else action.dest}")
    return silent


@pytest.mark.parametrize("name", PROJECT_COMMANDS)
def test_every_option_has_a_help_text(name):
    command = load_command_class("core", name)
    silent = silent_options(command.create_parser("manage.py", name), name)
    assert command.help and not silent, f"no help text for {silent}"


@pytest.mark.parametrize(("name", "option"), [("sendtestmail", "--check"), ("resetuser", "--dry-run")])
def test_help_as_a_real_process(name, option):
    result = manage(name, "--help")
    assert result.returncode == 0 and option in result.stdout and "usage: manage.py" in result.stdout
