#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
    from django.core.management import execute_from_command_line

    from core.mail.config import ConfigError

    try:
        if sys.argv[1:2] == ["outbox"]:  # files only: it skips the app registry to start twice as fast
            from core.management.commands.outbox import run_without_apps

            run_without_apps(sys.argv)
        else:
            execute_from_command_line(sys.argv)
    except ConfigError as error:
        # A bad environment variable: one line naming it, no traceback.
        if "--traceback" in sys.argv:
            raise
        if "--json" in sys.argv:  # the contract: one JSON document on stdout for every outcome
            import json

            document = {"ok": False, "code": error.exit_code, "error": str(error), "hint": error.hint}
            sys.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
        sys.stderr.write(f"Configuration error: {error}\n")
        if error.hint:
            sys.stderr.write(f"Hint: {error.hint}\n")
        sys.exit(error.exit_code)


if __name__ == "__main__":
    main()
