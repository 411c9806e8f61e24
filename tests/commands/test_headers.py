"""What a person types into a header: control characters refused first, long names folded (issue 11)."""

import pytest

from tests.conftest import manage
from testsupport.smtp_servers import closed_port, env_for, smtp_server

CONTROLS = ["\v", "\f", "\x85", "\u2028", "\u2029", "\x1b", "\x9b", "\r", "\t"]  # argv cannot hold NUL


SUBJECT = (("a@example.com", "--subject", "Hello{}there"), "The subject (--subject)")
CASES = [(char, *SUBJECT) for char in CONTROLS] + [
    ("\u2028", ("a@example.com", "--from", "Site{}Name <site@example.com>"), "The sender (--from)"),
    ("\x85", ("Bob{}Smith <a@example.com>",), "The recipient"),
]


@pytest.mark.parametrize(("char", "template", "named"), CASES, ids=[f"{c[2]} U+{ord(c[0]):04X}" for c in CASES])
def test_control_characters_are_refused_before_connecting(char, template, named):
    host, port = closed_port()  # connecting would be exit 4
    args = [part.format(char) for part in template]
    result = manage("sendtestmail", *args, env=env_for(host, port))
    assert result.returncode == 2
    first, hint = result.stderr.splitlines()
    code = f"U+{ord(char):04X}"
    assert first == f"Error: {named} contains the control character {code}; a mail header is one line of text."
    assert hint.startswith("Hint: Remove it")


def test_a_5000_character_display_name_is_folded_within_rfc_5322_lines():
    name = "A" * 5000
    with smtp_server() as server:
        result = manage(
            "sendtestmail", f"{name} <bob@example.com>", "--from", f"{name} <site@example.com>", env=env_for(*server)
        )
        assert result.returncode == 0, result.stderr
        [received] = server.messages
    assert max(len(line) for line in received.data.split(b"\r\n")) <= 998
    message = received.message()
    for header, address in (("From", "site@example.com"), ("To", "bob@example.com")):
        [parsed] = message[header].addresses
        assert parsed.addr_spec == address and parsed.display_name.replace(" ", "") == name


@pytest.mark.parametrize("action", [["list"], ["list", "--json"], ["clear", "--dry-run"]])
def test_outbox_takes_traceback_and_verbosity_after_the_action(action, tmp_path):
    result = manage("outbox", *action, "--path", str(tmp_path), "--traceback", "-v", "2")
    assert result.returncode == 0, result.stderr
