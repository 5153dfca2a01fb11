"""`portail rgpd retention [--dry-run]`: what the retention policy purges, counts per category."""

from __future__ import annotations

import typer


def register_cli(app: typer.Typer) -> None:
    rgpd_app = typer.Typer(help="RGPD: retention policy.")
    app.add_typer(rgpd_app, name="rgpd")

    @rgpd_app.command("retention")
    def retention(dry_run: bool = typer.Option(False, "--dry-run", help="Count what would go; delete nothing."),
                  on: str = typer.Option("", "--today", help="Run as of this date (YYYY-MM-DD); default today.")
                  ) -> None:
        """Purge what is past its retention period (`[rgpd]` of the config; docs/rgpd.md). The output
        holds counts per category only, never personal data."""
        from rich.console import Console
        from rich.table import Table

        from core.billing.cli import _date
        from core.cli import run_with_db
        from core.rgpd.service import run_retention
        from core.timeutil import today

        day = _date(on, "--today") if on else today()
        done = run_with_db(lambda: run_retention(day, dry_run=dry_run))
        table = Table(title=("Seraient supprimés" if dry_run else "Supprimés") + f" au {day.isoformat()}")
        table.add_column("catégorie")
        table.add_column("nombre", justify="right")
        for key, count in sorted(done.items()):
            table.add_row(key, str(count))
        Console().print(table)
        if dry_run:
            Console().print("Simulation : rien n'a été supprimé.")
