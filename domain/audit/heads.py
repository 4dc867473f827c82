"""Exported chain heads and whole-log verification.

A recomputed chain proves that no link was changed, but not that none was cut off the end:
deleting the last events and moving the head back needs no key. So the heads are appended,
on a schedule, to a JSON-lines file that production keeps on another host
(``AUDIT_HEADS_DIR``); verification then checks every link against every exported head.
"""
from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .. import clock
from ..config import get_settings
from ..errors import AuditChainBrokenError
from .chain import AuditEvent, AuditHead, ChainReport, verify_chain

HEADS_FILE = "heads.jsonl"
# The exporter looks for each chain's last line only this far back; a chain not seen there
# simply gets a fresh line (a harmless repeat), so the cost stays flat as the file grows.
TAIL_BYTES = 256 * 1024


def heads_file() -> Path:
    return get_settings().resolved_audit_heads_dir / HEADS_FILE


@dataclass
class ExportedHeads:
    """Every exported (seq, hash) per chain; ``conflicts`` names chains exported with two hashes for one seq."""

    by_chain: dict[str, dict[int, str]] = field(default_factory=dict)
    conflicts: dict[str, int] = field(default_factory=dict)
    bad_lines: int = 0

    def add(self, line: str) -> None:
        try:
            rec = json.loads(line)
            chain, seq, digest = str(rec["chain"]), int(rec["seq"]), str(rec["hash"])
        except (ValueError, KeyError, TypeError):
            self.bad_lines += 1  # e.g. a line torn by a crash mid-write
            return
        known = self.by_chain.setdefault(chain, {})
        if known.get(seq, digest) != digest:
            self.conflicts.setdefault(chain, seq)
        known[seq] = digest


def read_exported_heads(path: Path) -> ExportedHeads:
    heads = ExportedHeads()
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                heads.add(line)
    return heads


def _last_exported(fd: int) -> dict[str, tuple[int, str]]:
    size = os.fstat(fd).st_size
    start = max(0, size - TAIL_BYTES)
    data = os.pread(fd, size - start, start).decode("utf-8", errors="replace")
    lines = data.splitlines()
    if start:
        lines = lines[1:]  # probably cut in the middle
    last: dict[str, tuple[int, str]] = {}
    for line in lines:
        try:
            rec = json.loads(line)
            last[str(rec["chain"])] = (int(rec["seq"]), str(rec["hash"]))
        except (ValueError, KeyError, TypeError):
            continue
    return last


def _lost_link(chain: str, seq: int, digest: str, head: dict) -> str | None:
    """Why ``chain`` no longer holds its last exported link, or None while it does."""
    if head["seq"] < seq:
        return "shorter-than-exported-head"
    event = AuditEvent._get_collection().find_one({"chain": chain, "seq": seq}, {"hash": 1})
    if event is None or event.get("hash") != digest:
        return "exported-head-differs"
    return None


def _open_for_append(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    created = not path.exists()
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
    if created:  # make the new directory entry durable too
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return fd


def export_heads(path: Path | None = None) -> dict:
    """Append ``{chain, seq, hash, exported_at}`` for each chain whose head moved since its last line.

    Called by the scheduled job ``workers.audit.export_audit_heads`` and by ``inspectctl audit
    export-heads`` (operators; no actor). Append-only and fsynced; a file lock keeps a manual run
    and the job from interleaving. Raises AuditChainBrokenError, after exporting the sound chains,
    for a chain that no longer holds its last exported link: exporting its new head would bury that.
    """
    path = path or heads_file()
    at = clock.now()
    stamp = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    fd = _open_for_append(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        last = _last_exported(fd)
        lines, broken, chains = [], [], 0
        for head in AuditHead._get_collection().find({}).sort("_id", 1):
            chain, seq, digest = str(head["_id"]), int(head.get("seq") or 0), str(head.get("hash"))
            chains += 1
            if chain in last:
                reason = _lost_link(chain, *last[chain], {"seq": seq})
                if reason:
                    broken.append({"chain": chain, "seq": last[chain][0], "reason": reason})
                    continue
                if last[chain] == (seq, digest):
                    continue
            if seq == 0:
                continue
            lines.append(json.dumps({"chain": chain, "seq": seq, "hash": digest, "exported_at": stamp},
                                    ensure_ascii=False, sort_keys=True))
        if lines:
            os.write(fd, ("\n".join(lines) + "\n").encode("utf-8"))
            os.fsync(fd)
    finally:
        os.close(fd)  # also releases the lock
    if broken:
        first = broken[0]
        raise AuditChainBrokenError(chain=first["chain"], seq=first["seq"], reason=first["reason"],
                                    _broken=broken)
    return {"file": str(path), "chains": chains, "written": len(lines)}


def verify_all(chain: str | None = None, heads_path: Path | None = None, key: bytes | None = None) -> list[ChainReport]:
    """Verify one chain or every chain the database or the exported heads know of.

    Operators call it (``inspectctl audit verify``). A chain present only in the exported
    heads was deleted outright, and shows as shorter than its exported head.
    """
    exported = read_exported_heads(heads_path) if heads_path else ExportedHeads()
    if chain is not None:
        chains = [chain]
    else:
        known = {str(c) for c in AuditHead._get_collection().distinct("_id")}
        known |= {str(c) for c in AuditEvent._get_collection().distinct("chain")}
        chains = sorted(known | set(exported.by_chain))
    reports = []
    for name in chains:
        if name in exported.conflicts:
            seq = exported.conflicts[name]
            reports.append(ChainReport(name, 0, False, seq, "exported-heads-conflict",
                                       f"the heads file holds two hashes for seq {seq}"))
            continue
        reports.append(verify_chain(name, key, exported.by_chain.get(name)))
    return reports
