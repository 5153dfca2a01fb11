"""`portail billing run --start 2026-03-01 --end 2026-03-31`: a billing run with a progress bar."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

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

    @billing_app.command("pes")
    def billing_pes(regie: str = typer.Option(..., help="Code of the régie ([[regies]] code)."),
                    start: str = typer.Option(..., help="First issue date of the invoices (YYYY-MM-DD)."),
                    end: str = typer.Option(..., help="Last issue date of the invoices (YYYY-MM-DD), same year."),
                    output: str = typer.Option("", help="Where to write the XML (default: its name, here).")) -> None:
        """PES V2 ORMC file of a régie's invoices for the comptable public (each invoice exported once)."""
        from pathlib import Path

        from rich.console import Console

        from core.billing.service import export_pes, pes_export_content
        from core.cli import run_with_db
        from core.errors import PortailError
        from core.formatting import euros

        first, last = _date(start, "--start"), _date(end, "--end")
        console = Console()

        async def build() -> tuple[Any, bytes]:
            export = await export_pes(None, regie, first, last)
            content = await pes_export_content(export)
            return export, content

        try:
            export, content = run_with_db(build)
        except PortailError as exc:
            console.print(f"[red]{exc.code}[/red] : {exc.message}")
            raise typer.Exit(1) from None
        target = Path(output or export.file_name)
        target.write_bytes(content)
        console.print(f"[green]Bordereau {export.exercice}/{export.bordereau_number}[/green] : "
                      f"{export.invoices_count} facture(s), {euros(export.total_cents)} -> {target}")
        for item in export.left_out:
            console.print(f"[yellow]écartée[/yellow] {item['number']} : {item['reason']}")
