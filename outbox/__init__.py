"""The outbox: the messages saved in a folder, read, filtered and deleted (``manage.py outbox``, any view).

Two formats are read, side by side in one folder: the project's backend
(``outbox.backend``, one ``.eml`` file a message, written atomically) and Django's
file backend (``.log`` files of many messages). The modules, one concern each:

* ``files``: which names are messages, in what order, and how a file is opened and read safely;
* ``headers``: a message's headers as people read them (the standard library's email package);
* ``messages``: one message's summary for ``list``, all of it for ``show``, or why it is unreadable;
* ``logfile``: where each message of a Django ``.log`` file starts and ends;
* ``index``: the summaries the backend and ``list`` keep, a cache that is never the truth;
* ``folder``: ``Outbox`` and ``Listing``: a folder's messages newest first, filtered, found by ID;
* ``clearing``: what ``clear`` would delete, and the deletion;
* ``search``: what a person types to search (``reset to:anna@x.ru since:2h``) as the filters;
* ``attachments``: saving attachments as files; ``when``: the filters' times;
* ``links``: whether a message's links work on this site (``check_links``); imported on its own,
  as ``from outbox.links import check_links``, since it loads the URL configuration;
* ``views``, ``urls``, ``templatetags``: the web outbox at ``/outbox/`` (this package is also its app).

Nothing here prints: the ``outbox`` command and any web view render the same dataclasses.
Problems a person can act on are ``MailProblem``.
"""

from outbox.attachments import safe_filename, save_attachments
from outbox.clearing import ClearPlan, ClearResult, clear, plan_clear
from outbox.files import EML_SUFFIX, LOG_SUFFIX, os_reason
from outbox.folder import DEFAULT_LIMIT, LATEST, Listing, Outbox, folder_for, mailer_folder
from outbox.messages import Attachment, Message, Summary, Unreadable, header_label
from outbox.search import parse_search
from outbox.when import parse_when

__all__ = [
    "DEFAULT_LIMIT",
    "EML_SUFFIX",
    "LATEST",
    "LOG_SUFFIX",
    "Attachment",
    "ClearPlan",
    "ClearResult",
    "Listing",
    "Message",
    "Outbox",
    "Summary",
    "Unreadable",
    "clear",
    "folder_for",
    "header_label",
    "mailer_folder",
    "os_reason",
    "parse_search",
    "parse_when",
    "plan_clear",
    "safe_filename",
    "save_attachments",
]
