"""`wastetrail positions prune [--days N] [--dry-run]` and `wastetrail positions partitions [--exact]`.

prune removes positions older than the retention (POSITION_RETENTION_DAYS, or --days): whole day
partitions on PostgreSQL, rows in chunks on SQLite; one audit row. Run it daily from cron.
partitions lists the stored days with their row counts.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from wastetrail.telemetry.store import partitions_list, positions_prune


class Command(BaseCommand):
    help = "Position storage: `prune` drops days past the retention, `partitions` lists the stored days."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["prune", "partitions"])
        parser.add_argument("--days", type=int, help="prune: keep this many days (default POSITION_RETENTION_DAYS)")
        parser.add_argument("--dry-run", action="store_true", help="prune: say what would go, remove nothing")
        parser.add_argument("--exact", action="store_true",
                            help="partitions: count every row (PostgreSQL estimates by default; slow on big tables)")

    def handle(self, *args, action: str, days: int | None = None, dry_run: bool = False, exact: bool = False,
               **options):
        if action == "partitions":
            self._partitions(exact)
        else:
            self._prune(days, dry_run)

    def _partitions(self, exact: bool) -> None:
        infos = partitions_list(exact=exact)
        if not infos:
            self.stdout.write("no positions stored")
        for info in infos:
            rows = "?" if info.rows is None else f"{info.rows}" if info.exact else f"~{info.rows}"
            day = f"{info.day:%Y-%m-%d}" if info.day else "default (other days)"
            self.stdout.write(f"{info.name:<36} {day:<22} {rows:>12} rows")
        if any(info.rows is None for info in infos):
            self.stdout.write("? = not analysed by PostgreSQL yet; --exact counts the rows")

    def _prune(self, days: int | None, dry_run: bool) -> None:
        try:
            result = positions_prune(days=days, dry_run=dry_run)
        except ValueError as exc:
            raise CommandError(f"--days: {exc}") from None
        if result.first_kept is None:
            self.stdout.write("retention is 0 days: every position is kept, nothing to prune")
            return
        verb = "would remove" if dry_run else "removed"
        self.stdout.write(f"keeping {result.retention_days} days (from {result.first_kept:%Y-%m-%d}): "
                          f"{verb} {result.rows} position(s)"
                          + (f" and {len(result.partitions)} partition(s)" if result.partitions else ""))
        for name in result.partitions:
            self.stdout.write(f"  {name}")
