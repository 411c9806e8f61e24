"""Logging pieces of the project."""

from django.utils import log


class AdminEmailHandler(log.AdminEmailHandler):
    """Django's error mail to ADMINS, which never lets a mail failure escape.

    With MAILERS configured, Django 6.1's handler raises whatever sending raised,
    out of the logging call: with the mail server down, logging an error would
    itself fail (a request, the task worker). Here a failure to send is reported
    as every other logging handler reports its own errors, on stderr.
    """

    def emit(self, record):
        try:
            super().emit(record)
        except Exception:
            self.handleError(record)
