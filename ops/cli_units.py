"""inspectctl commands for units: the CSV import."""
from __future__ import annotations

import csv
import sys
from pathlib import Path

import click

from .cli import connected, main


def _message(code: str, params: dict) -> str:
    from api.messages import text

    return text("zh_CN", f"{code}|detail", params) or text("zh_CN", f"{code}|title", params) or code


@main.command("import-units")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="write every row's outcome to this CSV file (UTF-8 with BOM, opens in Excel)")
def import_units(file: Path, report_path: Path | None) -> None:
    """Create or update units from FILE (UTF-8 or GBK CSV; columns in docs/units-csv.md).

    Re-importing updates units by code. Bad rows are listed and skipped; the exit status is 1
    when any row was bad.
    """
    from domain.access import SYSTEM
    from domain.errors import DomainError
    from domain.units import csv_import

    with connected():
        try:
            rows = csv_import.read_rows(file.read_bytes())
        except DomainError as exc:
            raise click.ClickException(f"{exc.code}: {_message(exc.code, exc.params)}") from None
        with click.progressbar(length=len(rows), label="导入单位 importing units", file=sys.stderr) as bar:
            report = csv_import.import_rows(SYSTEM, rows, on_row=lambda: bar.update(1))
    counts = report.counts
    click.echo("created {created}, updated {updated}, unchanged {unchanged}, bad {bad}".format(**counts))
    for o in report.bad:
        click.echo(f"  row {o.row} {o.code or '-'}: {o.error_code} {_message(o.error_code, o.params)}", err=True)
    if report_path:
        with open(report_path, "w", newline="", encoding="utf-8-sig") as fh:
            writer = csv.writer(fh)
            writer.writerow(["row", "code", "outcome", "error_code", "message"])
            for o in report.outcomes:
                writer.writerow([o.row, o.code, o.outcome, o.error_code or "",
                                 _message(o.error_code, o.params) if o.error_code else ""])
        click.echo(f"report written to {report_path}")
    if counts["bad"]:
        sys.exit(1)
