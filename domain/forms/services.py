"""Use cases of forms: load form files as immutable versions, list them, read one version."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from pymongo.errors import DuplicateKeyError

from .. import storage
from ..access import SYSTEM, Actor, Permission
from ..audit.chain import SYSTEM_CHAIN
from ..errors import FormInvalidError, FormVersionBehindError, FormVersionContentChangedError
from . import categories, queries
from .loader import FormFile, FormProblem, read_forms
from .models import FormVersion
from .. import clock


@dataclass
class LoadReport:
    added: list[tuple[str, int]] = field(default_factory=list)
    unchanged: list[tuple[str, int]] = field(default_factory=list)


def load_forms(actor: Actor, paths=None) -> LoadReport:
    """Store every new (form_id, version) of the files named (default: the shipped directory).

    Who: the system (process start, ``inspectctl forms load``); needs Permission.FORM_LOAD.
    All or nothing: every file is validated and compared with what is stored before anything
    is written, then the new versions go in one transaction with one audit event each.
    Re-loading an unchanged file is a no-op.
    Raises FormInvalidError (a file is malformed), FormVersionContentChangedError (a stored
    version's content changed: bump the version), FormVersionBehindError (a version below the
    newest stored one that was never stored).
    """
    actor.require(Permission.FORM_LOAD)
    forms, problems = read_forms(paths)
    if problems:
        raise FormInvalidError(count=len(problems), files=len({p.file for p in problems}),
                               first=str(problems[0]), _errors=by_file(problems))
    for attempt in range(3):
        report, new = _plan(actor, forms)
        if not new:
            return report
        try:
            storage.atomic(lambda tx: _store(tx, actor, new))
            return report
        except DuplicateKeyError:
            # Another process (a second start) stored a version meanwhile: compare with what it stored.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def by_file(problems: list[FormProblem]) -> dict[str, list[dict]]:
    """Problems grouped by file, as a problem's ``errors`` extension carries them."""
    out: dict[str, list[dict]] = {}
    for p in problems:
        out.setdefault(p.file, []).append({"path": p.path, "code": p.code, "message": p.message})
    return out


def load_shipped_forms() -> LoadReport:
    """The forms shipped in inspection_forms/, loaded at every start (ops.cli.prepare_database)."""
    return load_forms(SYSTEM)


def _plan(actor: Actor, forms: list[FormFile]) -> tuple[LoadReport, list[FormFile]]:
    stored = queries.stored_hashes(actor, [f.form_id for f in forms])
    report, new = LoadReport(), []
    changed: list[tuple[FormFile, FormProblem]] = []
    behind: list[tuple[FormFile, FormProblem, int]] = []
    for form in forms:
        versions = stored.get(form.form_id, {})
        latest = max(versions, default=0)
        if versions.get(form.version) == form.content_hash:
            report.unchanged.append((form.form_id, form.version))
        elif form.version in versions:
            changed.append((form, FormProblem(
                form.source, "version", "version-content-changed",
                f"version {form.version} of {form.form_id!r} is already loaded with other content: "
                f"bump the version (newest loaded: {latest})")))
        elif form.version < latest:
            behind.append((form, FormProblem(
                form.source, "version", "version-behind",
                f"version {form.version} of {form.form_id!r} is older than the newest loaded ({latest}): "
                f"versions only go up; use {latest + 1}"), latest))
        else:
            new.append(form)
            report.added.append((form.form_id, form.version))
    errors = by_file([p for _, p in changed] + [p for _, p, _ in behind])
    if changed:
        form = changed[0][0]
        raise FormVersionContentChangedError(form_id=form.form_id, version=form.version, file=form.source,
                                             latest=max(stored[form.form_id]), _errors=errors)
    if behind:
        form, _, latest = behind[0]
        raise FormVersionBehindError(form_id=form.form_id, version=form.version, file=form.source, latest=latest,
                                     _errors=errors)
    return report, new


def _store(tx: storage.Tx, actor: Actor, forms: list[FormFile]) -> None:
    for form in forms:
        content = form.content
        doc = FormVersion(form_id=form.form_id, version=form.version, content=content,
                          content_hash=form.content_hash, title=content["title"],
                          description=content.get("description") or {}, mode=content["mode"],
                          item_count=sum(len(s["items"]) for s in content["sections"]), source=form.source,
                          loaded_at=clock.now())
        tx.insert(doc)
        tx.audit(actor, "form.version-loaded", target_type="form_version",
                 target_id=f"{form.form_id}@{form.version}", chain=SYSTEM_CHAIN,
                 after={"form_id": form.form_id, "version": form.version, "content_hash": form.content_hash,
                        "source": form.source})


@dataclass
class FormCatalogue:
    items: list[dict]
    etag: str


def list_forms(actor: Actor) -> FormCatalogue:
    """The newest version of every form with the list of its versions, and an ETag over all of them.

    Who: Permission.FORM_READ (admin, supervisor, leader, inspector; never a liaison).
    Raises Forbidden.
    """
    actor.require(Permission.FORM_READ)
    items: dict[str, dict] = {}
    for doc in queries.version_summaries(actor):
        entry = items.get(doc.form_id)
        if entry is None:  # newest first: the first one seen is the latest
            entry = items[doc.form_id] = {
                "form_id": doc.form_id, "version": doc.version, "title": doc.title,
                "description": doc.description or None, "mode": doc.mode, "item_count": doc.item_count,
                "content_hash": doc.content_hash, "loaded_at": doc.loaded_at, "versions": []}
        entry["versions"].append({"version": doc.version, "content_hash": doc.content_hash,
                                  "loaded_at": doc.loaded_at})
    digest = hashlib.sha256("\n".join(f"{v['version']}:{v['content_hash']}:{i['form_id']}"
                                      for i in items.values() for v in i["versions"]).encode()).hexdigest()
    return FormCatalogue(list(items.values()), f'"{digest}"')


def get_form_version(actor: Actor, form_id: str, version: int) -> FormVersion:
    """One version with its whole content; its ETag is the content hash, so phones can cache it.

    Who: Permission.FORM_READ. Raises Forbidden, FormVersionNotFoundError.
    """
    actor.require(Permission.FORM_READ)
    return queries.get_version(actor, form_id, version)


def list_categories(actor: Actor) -> dict:
    """The problem categories and their groups, with zh/en labels. Who: any signed-in user."""
    return categories.catalogue()
