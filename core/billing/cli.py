"""`portail billing run --start 2026-03-01 --end 2026-03-31`: a billing run with a progress bar."""

from __future__ import annotations

from datetime import date, datetime

import typer


def _date(value: str, name: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter(f"{name} : date AAAA-MM-JJ attendue") from None


def register_cli(app: typer.Typer) -> None:
    billing_app = typer.Typer(help="Billing: invoice runs.")
    app.add_typer(billing_app, name="billing")

    @billing_app.command("run")
    def billing_run(start: str = typer.Option(..., help="First day of the period (YYYY-MM-DD)."),
                    end: str = typer.Option(..., help="Last day of the period (YYYY-MM-DD).")) -> None:
        """Bill every household for the period (idempotent: a second run creates nothing)."""
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        from core.billing.service import run_billing
        from core.billing.types import BillingPeriod
        from core.cli import run_with_db
        from core.formatting import euros

        period = BillingPeriod(_date(start, "--start"), _date(end, "--end"))
        if period.end < period.start:
            raise typer.BadParameter("--end précède --start")
        console = Console()
        with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console) as bar:
            task = bar.add_task("Facturation", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result = run_with_db(lambda: run_billing(period, None, progress))
        console.print(f"[green]{result.invoices} facture(s)[/green], {result.lines} ligne(s), "
                      f"{euros(result.total_cents)} ; {result.skipped_lines} ligne(s) déjà facturée(s) ignorée(s) "
                      f"sur {result.households} foyer(s).")
