"""The local SMTP server of ``manage.py mailserver``, as a library (the tests and benchmarks run it in-process).

* ``server``: ``Config``, ``MailServer``, ``running(config)`` (in a thread), events;
* ``rules``: the ``--fail`` grammar (``parse_rule``, ``Faults``);
* ``profiles``: ``--like yandex|gmail|mailru``, with where each reply text comes from;
* ``certificates``: the local CA and the server's certificate, made once in ``.mailserver/``;
* ``store``: saving into the outbox with the envelope's fields;
* ``launch``: the command's arguments checked into a ``Config``, and the ``.env`` lines.
"""

from mailserver.certificates import Certificates, ensure
from mailserver.profiles import PROFILES, Profile
from mailserver.rules import Faults, Rule, parse_rule
from mailserver.server import Config, Event, MailServer, running
from mailserver.store import Received

__all__ = [
    "PROFILES",
    "Certificates",
    "Config",
    "Event",
    "Faults",
    "MailServer",
    "Profile",
    "Received",
    "Rule",
    "ensure",
    "parse_rule",
    "running",
]
