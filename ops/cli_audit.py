"""inspectctl commands for the audit log's integrity: verify the chains, export their heads."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from .cli import connected, main


@main.group("audit")
def audit() -> None:
    """Audit log integrity (审计日志完整性)."""


@audit.command("verify")
@click.option("--chain", default=None, help="one chain (an office id, or `system`); default: every chain")
@click.option("--heads", "heads_path", default=None, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="exported heads file; default: AUDIT_HEADS_DIR/heads.jsonl when it exists")
def verify(chain: str | None, heads_path: Path | None) -> None:
    """Recompute every link and compare with the heads; exit 1 naming the first broken link."""
    from domain.audit import AuditEvent, AuditHead, heads_file, read_exported_heads, verify_all

    with connected():
        if heads_path is None and heads_file().exists():
            heads_path = heads_file()
        exported_chains: set[str] = set()
        if heads_path is None:
            click.echo("warning: no exported heads; events cut off the end of a chain whose head was moved "
                       "back cannot be detected", err=True)
        else:
            exported = read_exported_heads(heads_path)
            exported_chains = set(exported.by_chain)
            click.echo(f"exported heads: {heads_path} ({len(exported_chains)} chains)")
            if exported.bad_lines:
                click.echo(f"warning: {exported.bad_lines} unreadable line(s) in {heads_path}", err=True)
        if chain and chain not in exported_chains and AuditHead.objects(id=chain).first() is None \
                and AuditEvent.objects(chain=chain).first() is None:
            raise click.BadParameter(f"no chain {chain!r}", param_hint="--chain")
        reports = verify_all(chain, heads_path)
    for report in reports:
        click.echo(str(report))
    broken = [r for r in reports if not r.ok]
    click.echo(f"{len(reports) - len(broken)} sound, {len(broken)} broken")
    sys.exit(1 if broken else 0)


@audit.command("export-heads")
def export_heads_command() -> None:
    """Append the current chain heads to AUDIT_HEADS_DIR/heads.jsonl (what the scheduled job does)."""
    from domain.audit import export_heads
    from domain.errors import AuditChainBrokenError

    with connected():
        try:
            result = export_heads()
        except AuditChainBrokenError as error:
            for item in error.params.get("_broken", []):
                click.echo(f"chain {item['chain']}: BROKEN at seq {item['seq']}: {item['reason']}", err=True)
            sys.exit(1)
    click.echo(f"exported {result['written']} changed head(s) of {result['chains']} chain(s) to {result['file']}")
