"""The ``--fail`` grammar: what each rule means, and a one-line error for every rule that cannot work."""

import pytest

from mailserver.rules import Faults, parse_rule


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("data:451", {"stage": "data", "action": "reply", "reply": "451 4.3.0 Temporary failure, try again later"}),
        ("DATA:554:every=3", {"stage": "data", "code": 554, "every": 3}),
        ("data:451:first=2", {"first": 2}),
        ("rcpt:550:match=*@blocked.example", {"stage": "rcpt", "match": "*@blocked.example"}),
        ("mail:553:text=5.7.1 Sender: not yours", {"reply": "553 5.7.1 Sender: not yours"}),
        ("login:535", {"stage": "login", "code": 535}),
        ("connect:421", {"stage": "connect", "code": 421}),
        ("connect:delay=2.5", {"action": "delay", "delay": 2.5}),
        ("data:drop:every=2", {"action": "drop", "every": 2}),
        ("rcpt:599", {"reply": "599 5.0.0 Refused by a mailserver --fail rule"}),
    ],
)
def test_a_rule_reads_as_written(text, expected):
    rule = parse_rule(text)
    assert {name: getattr(rule, name) for name in expected} == expected
    assert rule.written == text


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("data", "is not STAGE:ACTION"),
        ("quit:451", "unknown stage 'quit'"),
        ("data:250", "is not a failure"),
        ("data:45", "unknown action '45'"),
        ("data:bounce", "unknown action 'bounce'"),
        ("data:delay=0", "delay= must be more than 0"),
        ("data:delay=nan", "delay= must be a number"),
        ("data:delay=99999", "at most 3600"),
        ("data:451:every=0", "every= must be 1 or more"),
        ("data:451:every=x", "every= must be a number"),
        ("data:451:every=2:first=1", "both every= and first="),
        ("data:451:often", "unknown option 'often'"),
        ("connect:421:match=*", "not to connect"),
        ("login:drop", "a login rule takes a reply code only"),
        ("data:drop:text=bye", "text= is for a reply code"),
        ("rcpt:550:match=", "match= needs a pattern"),
    ],
)
def test_a_rule_that_cannot_work_is_one_sentence_naming_the_problem(text, words):
    with pytest.raises(ValueError, match=".") as caught:
        parse_rule(text)
    assert words in caught.value.args[0]
    assert "\n" not in caught.value.args[0]


def test_every_and_first_count_each_rules_own_events_so_a_run_repeats_exactly():
    faults = Faults.parse(["data:554:every=3", "data:451:first=2"])
    # events 1, 2: the first-two rule; 3: every third; 4, 5: none; 6: every third.
    codes = [getattr(faults.at("data", "anna@example.com"), "code", None) for _ in range(7)]
    assert codes == [451, 451, 554, None, None, 554, None]


def test_match_counts_only_the_events_it_matches_and_ignores_letter_case():
    faults = Faults.parse(["rcpt:550:match=*@Blocked.example:every=2"])
    seen = [
        bool(faults.at("rcpt", address))
        for address in ("a@blocked.example", "b@ok.example", "C@BLOCKED.EXAMPLE", "d@blocked.example")
    ]
    assert seen == [False, False, True, False]  # the 2nd blocked one; ok.example does not count


def test_a_data_rule_matches_any_recipient_of_the_message():
    faults = Faults.parse(["data:554:match=vip@*"])
    assert faults.at("data", "a@example.com", "vip@example.com")
    assert faults.at("data", "a@example.com") is None
