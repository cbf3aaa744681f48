#!/usr/bin/env python
"""Django's command-line utility for the storefront project."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storefront.settings")
    from django.core.management import execute_from_command_line

    from storefront.env import EnvironmentVariableError

    try:
        execute_from_command_line(sys.argv)
    except EnvironmentVariableError as exc:
        # A bad deployment value: the one line naming the variable is all a traceback would say.
        sys.exit(f"Error: {exc}")


if __name__ == "__main__":
    main()
