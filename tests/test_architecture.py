"""The house's walls, checked: what may import what, and that importing registers nothing."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from domain import health

ROOT = Path(__file__).resolve().parents[1]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function, resolved to absolute names."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{a.name}" for a in node.names)  # `from . import clock` names a module
    return found


def _graph(package: str) -> dict[str, set[str]]:
    files = sorted((ROOT / package).rglob("*.py"))
    modules = {_module_name(f): f for f in files}
    return {m: {i for i in _imports(f) if i in modules and i != m} for m, f in modules.items()}


def _reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        m = todo.pop()
        for n in graph.get(m, ()):
            if n == goal:
                return True
            if n not in seen:
                seen.add(n)
                todo.append(n)
    return False


@pytest.mark.parametrize("a, b", [("domain.storage", "domain.outbox"), ("domain.storage", "domain.audit.chain"),
                                  ("domain.outbox", "domain.audit.chain")])
def test_storage_outbox_and_audit_import_each_other_in_no_loop(a, b):
    graph = _graph("domain")
    assert not (_reaches(graph, a, b) and _reaches(graph, b, a)), f"{a} and {b} import each other"


def test_storage_outbox_and_audit_build_on_the_document_base_not_on_each_other():
    graph = _graph("domain")
    for low in ("domain.outbox", "domain.audit.chain", "domain.base"):
        assert not _reaches(graph, low, "domain.storage"), f"{low} reaches domain.storage"


@pytest.mark.parametrize("package, forbidden", [("workers", ("api",)), ("domain", ("api", "workers", "ops", "flask", "rq"))])
def test_a_package_imports_nothing_from_the_rooms_above_it(package, forbidden):
    offenders = {}
    for path in (ROOT / package).rglob("*.py"):
        bad = sorted(i for i in _imports(path) if i.split(".")[0] in forbidden)
        if bad:
            offenders[str(path.relative_to(ROOT))] = bad
    assert offenders == {}


def test_importing_the_domain_packages_registers_nothing_until_the_composition_root_wires_them():
    code = ("import domain.reports, domain.tasks, domain.uploads, domain.units\n"
            "from domain.uploads import targets\n"
            "from domain.uploads import completion\n"
            "from domain.units import references\n"
            "before = (dict(targets._targets), list(completion._blob_users), list(references._checks))\n"
            "from domain import bootstrap\n"
            "bootstrap.wire(); bootstrap.wire()\n"
            "after = (sorted(targets._targets), len(completion._blob_users), len(references._checks))\n"
            "print(before == ({}, [], []), after)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True (['evidence'], 1, 1)"


def test_readiness_is_down_only_without_the_database_and_names_the_parts_the_probe_reports_down(settings):
    probe = lambda: {"redis": {"state": "up"}, "workers": {"state": "down", "live": 0}, "scheduler": {"state": "up"}}  # noqa: E731
    state = health.readiness(probe)
    assert (state["status"], state["failing"]) == ("degraded", ["workers"])
    assert health.readiness(lambda: {"redis": {"state": "up"}})["status"] == "ok"
    assert health.readiness(None)["failing"] == ["redis"]
