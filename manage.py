#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys
from pathlib import Path


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
    from django.core.management import execute_from_command_line

    from core.mail.config import ConfigError, load_settings
    from core.management.base import error_document, wants_json

    try:
        load_settings(Path(__file__).resolve().parent, sys.argv)
        execute_from_command_line(sys.argv)
    except ConfigError as error:
        # A bad environment variable: one line naming it, no traceback.
        if "--traceback" in sys.argv:
            raise
        if wants_json(sys.argv[2:]):  # the contract: one JSON document on stdout for every outcome
            sys.stdout.write(error_document(error.exit_code, str(error), error.hint) + "\n")
        sys.stderr.write(f"Configuration error: {error}\n")
        if error.hint:
            sys.stderr.write(f"Hint: {error.hint}\n")
        sys.exit(error.exit_code)


if __name__ == "__main__":
    main()
