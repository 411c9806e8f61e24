"""``--fail`` rules: deterministic faults, each a stage, an action and when it applies.

A rule is written ``STAGE:ACTION[:OPTION]...``::

    data:451                    every message is refused with 451 after its DATA
    data:451:first=2            the first two messages are refused, later ones accepted
    data:554:every=3            the 3rd, 6th, 9th... message is refused
    rcpt:550:match=*@blocked.example   recipients matching the pattern are refused
    mail:553:text=5.7.1 Sender address rejected   the reply's text is given
    login:535                   every login is refused
    connect:421                 every connection is greeted with 421 and closed
    connect:delay=30            the greeting comes 30 seconds late
    data:drop:every=2           every second message: the connection is cut during DATA

Stages: ``connect`` (before the greeting), ``login`` (AUTH), ``mail`` (MAIL FROM),
``rcpt`` (RCPT TO), ``data`` (the message). Actions: a reply code, 400 to 599 (the
text defaults to a standard one for that code); ``drop`` (hang up: at ``data``, after
the 354 reply and the message's first line); ``delay=SECONDS`` (wait, then go on as
without the rule). ``login`` takes only a reply code.

Options: ``every=N`` (the Nth, 2Nth... matching event), ``first=N`` (the first N
matching events), ``match=PATTERN`` (a shell pattern, ``*`` and ``?``, case-insensitive,
against the sender at ``mail``, the recipient at ``rcpt``, any recipient at ``data``, the
login at ``login``), ``text=TEXT`` (the reply's text; it takes the rest of the rule,
colons included). Each rule counts its own matching events from the server's start,
so a run repeats exactly. The first rule that fires at an event wins.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass, field

STAGES = ("connect", "login", "mail", "rcpt", "data")
EXAMPLES = "for example data:451, data:451:first=2, rcpt:550:match=*@blocked.example, data:drop:every=3"
MAX_DELAY = 3600.0

# The reply a code gets when a rule gives no text: RFC 3463's enhanced code and the usual words.
DEFAULT_TEXTS = {
    421: "4.3.2 Service not available, closing transmission channel",
    450: "4.2.1 Mailbox unavailable, try again later",
    451: "4.3.0 Temporary failure, try again later",
    452: "4.3.1 Insufficient system storage",
    454: "4.7.0 Temporary authentication failure",
    530: "5.7.0 Authentication required",
    535: "5.7.8 Authentication credentials invalid",
    550: "5.1.1 Mailbox unavailable",
    552: "5.3.4 Message size exceeds fixed limit",
    553: "5.1.3 Mailbox name not allowed",
    554: "5.7.1 Message rejected",
}


@dataclass
class Rule:
    """One parsed rule; ``fires`` counts the events it matches and says whether it acts on this one."""

    stage: str
    action: str  # "reply", "drop" or "delay"
    code: int = 0
    text: str = ""
    delay: float = 0.0
    every: int = 0
    first: int = 0
    match: str = ""
    written: str = ""
    seen: int = field(default=0, compare=False)

    @property
    def reply(self) -> str:
        return f"{self.code} {self.text}"

    def matches(self, values: tuple[str, ...]) -> bool:
        if not self.match:
            return True
        return any(fnmatch.fnmatchcase(value.casefold(), self.match.casefold()) for value in values)

    def fires(self, values: tuple[str, ...] = ()) -> bool:
        """Count this event if it matches; whether the rule acts on it."""
        if not self.matches(values):
            return False
        self.seen += 1
        if self.every:
            return self.seen % self.every == 0
        if self.first:
            return self.seen <= self.first
        return True


def parse_rule(text: str) -> Rule:
    """One rule from its text; ``ValueError(problem, hint)`` naming what is wrong."""
    written = text.strip()
    head, _, text_option = written.partition(":text=")
    parts = head.split(":")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise ValueError(f"the rule {written!r} is not STAGE:ACTION[:OPTION...]", EXAMPLES)
    stage, action, options = parts[0].lower(), parts[1].lower(), parts[2:]
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r} in the rule {written!r}", f"stages: {', '.join(STAGES)}")
    rule = Rule(stage=stage, action="reply", written=written)
    _read_action(rule, action)
    for option in options:
        _read_option(rule, option)
    if rule.every and rule.first:
        raise ValueError(f"the rule {written!r} has both every= and first=", "give one of them")
    if rule.match and stage == "connect":
        raise ValueError("match= applies to login, mail, rcpt and data rules, not to connect", EXAMPLES)
    if text_option or written.endswith(":text="):
        if rule.action != "reply":
            raise ValueError(f"text= is for a reply code, not for {action!r}", EXAMPLES)
        rule.text = " ".join(text_option.split())
    if rule.action == "reply" and not rule.text:
        rule.text = DEFAULT_TEXTS.get(rule.code, f"{rule.code // 100}.0.0 Refused by a mailserver --fail rule")
    return rule


def _read_action(rule: Rule, action: str) -> None:
    if action == "drop":
        rule.action = "drop"
    elif action.startswith("delay="):
        rule.action = "delay"
        rule.delay = _number(action, "delay", float)
        if not 0 < rule.delay <= MAX_DELAY:
            raise ValueError(f"delay= must be more than 0 and at most {MAX_DELAY:g} seconds, not {action[6:]!r}")
    elif action.isdigit() and len(action) == 3:
        rule.code = int(action)
        if not 400 <= rule.code <= 599:
            raise ValueError(f"the reply code {action} is not a failure (400 to 599)", "451 says try later, 550 no")
    else:
        raise ValueError(f"unknown action {action!r} in the rule {rule.written!r}", "a reply code, drop or delay=S")
    if rule.stage == "login" and rule.action != "reply":
        raise ValueError("a login rule takes a reply code only (like login:535)", EXAMPLES)


def _read_option(rule: Rule, option: str) -> None:
    name, equals, value = option.partition("=")
    name = name.lower()
    if not equals or name not in ("every", "first", "match"):
        raise ValueError(
            f"unknown option {option!r} in the rule {rule.written!r}",
            "options: every=N, first=N, match=PATTERN, text=TEXT",
        )
    if name == "match":
        if not value:
            raise ValueError("match= needs a pattern, like match=*@example.com")
        rule.match = value
        return
    number = _number(option, name, int)
    if number < 1:
        raise ValueError(f"{name}= must be 1 or more, not {value!r}")
    setattr(rule, name, number)


def _number(option: str, name: str, kind):
    value = option.partition("=")[2]
    try:
        number = kind(value)
    except ValueError:
        raise ValueError(f"{name}= must be a number, not {value!r}") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError(f"{name}= must be a number, not {value!r}")
    return number


@dataclass
class Faults:
    """The rules of one server, and the first that fires at an event."""

    rules: list[Rule] = field(default_factory=list)

    @classmethod
    def parse(cls, texts) -> Faults:
        return cls([parse_rule(text) for text in texts])

    def at(self, stage: str, *values: str) -> Rule | None:
        """The rule acting on this event of ``stage`` (``values``: what ``match=`` is tested against), or None.

        Every rule of the stage that matches counts the event, the first to fire acts.
        """
        acting = None
        for rule in self.rules:
            if rule.stage == stage and rule.fires(values) and acting is None:
                acting = rule
        return acting
