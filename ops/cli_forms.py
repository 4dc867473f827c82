"""inspectctl commands for forms: validate form files (no database needed) and load them as versions."""
from __future__ import annotations

import click

from .cli import main


@main.group("forms")
def forms() -> None:
    """Inspection forms 检查表: inspection_forms/<form_id>.yaml."""


def _echo_errors(errors_by_file: dict[str, list[dict]]) -> None:
    for file, problems in errors_by_file.items():
        for p in problems:
            click.echo(f"{file}: {p['path']}: {p['message']} [{p['code']}]", err=True)


@forms.command("validate")
@click.argument("paths", nargs=-1, type=click.Path())
def validate(paths) -> None:
    """Check form files or directories (default: the shipped forms); exit 1 on any error."""
    from domain.forms.loader import read_forms

    found, problems = read_forms(list(paths) or None)
    for p in problems:
        click.echo(str(p), err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s) in {len({p.file for p in problems})} file(s)", err=True)
        raise SystemExit(1)
    for form in found:
        click.echo(f"ok {form.form_id} v{form.version} {form.content_hash[:12]} ({form.source})")


@forms.command("load")
@click.argument("paths", nargs=-1, type=click.Path())
def load(paths) -> None:
    """Load form files as new versions (default: the shipped forms). All or nothing; exit 1 if refused."""
    from domain.access import SYSTEM
    from domain.errors import FormInvalidError, FormVersionBehindError, FormVersionContentChangedError
    from domain.forms.services import load_forms

    from .cli import connected

    try:
        # Connecting loads the shipped forms first (prepare_database), so a bad shipped file shows here too.
        with connected():
            report = load_forms(SYSTEM, list(paths) or None)
    except (FormInvalidError, FormVersionContentChangedError, FormVersionBehindError) as exc:
        _echo_errors(exc.params.get("_errors", {}))
        click.echo(f"refused ({exc.code}): nothing was loaded", err=True)
        raise SystemExit(1)
    for form_id, version in report.added:
        click.echo(f"added {form_id} v{version}")
    for form_id, version in report.unchanged:
        click.echo(f"unchanged {form_id} v{version}")
