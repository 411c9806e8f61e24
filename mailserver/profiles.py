"""``--like``: how Yandex, Gmail and Mail.ru answer the mistakes people make, rehearsed on 127.0.0.1.

Each profile holds what the provider does that a learner trips over: its ports and
security, a login required before MAIL FROM, any password but the app password
refused, a sender other than the mailbox logged in as refused (Gmail rewrites it
instead), and its message size limit. The reply texts are the providers' own as
they are publicly quoted (docs/mailserver.md's table says where each comes from); where a text is
not publicly documented the profile uses a standard one.

What a rehearsal cannot copy: the ports. 465 and 587 need root, so the server
listens on ``--port`` with the profile's security (``--ssl``, the default, stands for
465; ``--starttls`` for 587), and every mistake of security against port behaves as
on the real ports: SSL from the first byte is silent to a plain client, a plain
reply to an SSL client is 'wrong version number'.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy


@dataclass(frozen=True)
class Profile:
    name: str
    title: str  # its name in the server's greeting, as is
    # Its name in mailserver's sentences, where a language may decline it: "as Yandex does"
    # («как это делает Яндекс») and "Rehearsing Yandex" («Репетиция Яндекса»).
    who: Promise
    whose: Promise
    host: str  # the real provider's SMTP host, named in the server's output
    greeting: str  # the host name it greets with (220) and answers EHLO with
    domain: str  # the rehearsal login's domain: you@<domain>
    size_limit: int  # its SIZE, in bytes
    no_login: str  # the reply to MAIL FROM before a login
    bad_login: str  # the reply to a wrong login or password (an account password is one)
    not_owner: str  # the reply to MAIL FROM other than the login; "" when the provider rewrites From instead
    too_big: str  # the reply to a message over size_limit


YANDEX = Profile(
    name="yandex",
    title="Yandex",
    who=pgettext_lazy("a provider, who does something", "Yandex"),
    whose=pgettext_lazy("a provider, after 'Rehearsing'", "Yandex"),
    host="smtp.yandex.ru",
    greeting="mail-nwsmtp-smtp-production-main-1.rehearsal.yandex.net",
    domain="yandex.ru",
    size_limit=53_477_376,
    no_login="503 5.5.4 Error: send AUTH command first.",
    bad_login="535 5.7.8 Error: authentication failed: Invalid user or password!",
    not_owner="553 5.7.1 Sender address rejected: not owned by auth user.",
    too_big="552 5.3.4 Message size exceeds fixed limit",
)

GMAIL = Profile(
    name="gmail",
    title="Gmail",
    who=pgettext_lazy("a provider, who does something", "Gmail"),
    whose=pgettext_lazy("a provider, after 'Rehearsing'", "Gmail"),
    host="smtp.gmail.com",
    greeting="smtp.gmail.com",
    domain="gmail.com",
    size_limit=35_882_577,
    no_login="530-5.7.0 Authentication Required. For more information, go to\n"
    "530 5.7.0  https://support.google.com/mail/?p=WantAuthError rehearsal - gsmtp",
    bad_login="535-5.7.8 Username and Password not accepted. For more information, go to\n"
    "535 5.7.8  https://support.google.com/mail/?p=BadCredentials rehearsal - gsmtp",
    not_owner="",
    too_big="552-5.2.3 Your message exceeded Google's message size limits. For more information, go to\n"
    "552 5.2.3  https://support.google.com/mail/?p=MaxSizeError rehearsal - gsmtp",
)

MAILRU = Profile(
    name="mailru",
    title="Mail.ru",
    who=pgettext_lazy("a provider, who does something", "Mail.ru"),
    whose=pgettext_lazy("a provider, after 'Rehearsing'", "Mail.ru"),
    host="smtp.mail.ru",
    greeting="smtp.mail.ru",
    domain="mail.ru",
    size_limit=73_400_320,
    no_login="530 5.7.0 Authentication required",
    bad_login="535 5.7.0 NEOBHODIM parol prilozheniya https://help.mail.ru/mail/security/protection/external "
    "/ Application password is REQUIRED",
    not_owner="550 not local sender over smtp",
    too_big="552 5.3.4 Message size exceeds fixed limit",
)

PROFILES = {profile.name: profile for profile in (YANDEX, GMAIL, MAILRU)}
