"""The `wastetrail` console script: manage.py under the product's name.

`wastetrail serve` runs the web process under gunicorn; every other sub-command is a Django
management command (`wastetrail migrate`, `wastetrail demo`, `wastetrail audit verify`, ...).
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wastetrail.settings")
    from django.core.management import execute_from_command_line

    argv[0] = "wastetrail"
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
