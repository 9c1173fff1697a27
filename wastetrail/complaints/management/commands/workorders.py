"""`wastetrail workorders import FILE --as USER [--dry-run]` and `wastetrail workorders deadlines`.

``import`` reads a 12345 export (.csv in UTF-8 or GB18030, or .xlsx) as the given user (a member
of the hotline organisation or a dispatcher): every row or none (complaints.imports).
``deadlines`` is the worker's job, by hand: warn the units of orders due soon and mark overdue
those past their due day. Safe to run twice: each order is marked once.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from wastetrail.accounts.models import User
from wastetrail.accounts.policy import actor_for
from wastetrail.complaints import imports
from wastetrail.complaints.services import workorders_mark_deadlines


class Command(BaseCommand):
    help = "Work-order tools: `import FILE --as USER [--dry-run]` (12345 exports), `deadlines` (warn, mark overdue)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["import", "deadlines"])
        parser.add_argument("file", nargs="?", help="import: the .csv or .xlsx file")
        parser.add_argument("--as", dest="username", help="import: the user who imports (the hotline's account)")
        parser.add_argument("--dry-run", action="store_true", help="import: check and report, keep nothing")

    def handle(self, *args, action: str, file: str | None = None, username: str | None = None,
               dry_run: bool = False, **options):
        if action == "deadlines":
            warned, overdue = workorders_mark_deadlines()
            self.stdout.write(f"warned {len(warned)} work order(s), marked {len(overdue)} overdue")
            for order in overdue:
                self.stdout.write(f"  overdue {order.number} (due {order.due_date.isoformat()})")
            return
        self._import(file, username, dry_run)

    def _import(self, file: str | None, username: str | None, dry_run: bool) -> None:
        if not file or not username:
            raise CommandError("import needs FILE and --as USER")
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file")
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"--as: no active user {username!r}")
        try:
            report = imports.import_file(actor=actor_for(user), content=path.read_bytes(), filename=path.name,
                                         dry_run=dry_run)
        except imports.ImportRefused as refused:
            for error in refused.report.errors:
                self.stderr.write(f"row {error.row}, {error.column}: {error.message}")
            raise CommandError(f"{path.name}: {len(refused.report.errors)} problem(s) in "
                               f"{refused.report.rows} row(s); nothing imported") from None
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        except PermissionDenied:
            raise CommandError(f"{username} may not import 12345 orders") from None
        for row, external_id, number in report.skipped:
            self.stdout.write(f"  row {row}: {external_id} already imported as {number}, skipped")
        verb = "would import" if dry_run else "imported"
        self.stdout.write(f"{path.name}: {report.rows} row(s), {verb} {len(report.created)}, "
                          f"skipped {len(report.skipped)} already imported")
