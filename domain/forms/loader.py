"""Reading form files: YAML, the JSON Schema (inspection_forms/form.schema.json), the semantic
rules, and the batch checks, all without a database.

``read_forms`` validates every file of a batch before anything is stored, so a batch with
one bad file loads nothing.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator

from inspection_forms import FORMS_DIR

from . import rules

SCHEMA_PATH = FORMS_DIR / "form.schema.json"
SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class FormProblem:
    """One thing wrong with one file: where (file, JSON path), what (stable code), and why."""

    file: str
    path: str
    code: str
    message: str

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message} [{self.code}]"


@dataclass(frozen=True)
class FormFile:
    """A valid form, normalised, ready to be stored as a version."""

    form_id: str
    version: int
    content: dict
    content_hash: str
    source: str


@lru_cache(maxsize=1)
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys silently; a form author should hear about it."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def parse_yaml(text: str, file: str) -> tuple[object, list[FormProblem]]:
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader), []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        what = getattr(exc, "problem", None) or str(exc)
        return None, [FormProblem(file, where, "yaml-syntax", f"not valid YAML: {what}")]


_UNEXPECTED = re.compile(r"\((.*) (?:was|were) unexpected\)")


def schema_problems(data: object, file: str) -> list[FormProblem]:
    """The JSON Schema's complaints, rewritten to name the exact property where it can."""
    errors = sorted(validator().iter_errors(data), key=lambda e: (list(map(str, e.absolute_path)), e.validator))
    out: list[FormProblem] = []
    paths = [tuple(e.absolute_path) for e in errors]
    for error, path in zip(errors, paths):
        if error.validator == "unevaluatedProperties" and any(
                p != path and p[:len(path)] == path for p in paths):
            # A failing type-specific branch leaves its properties "unevaluated": report the real error only.
            continue
        out += _describe(error, list(path), file)
    return out


def _describe(error, path: list, file: str) -> list[FormProblem]:
    v, instance = error.validator, error.instance
    if v == "required":
        missing = [k for k in error.validator_value if not isinstance(instance, dict) or k not in instance]
        return [FormProblem(file, rules.json_path(path + [k]), "schema.required", "is required") for k in missing]
    if v == "dependentRequired":
        return [FormProblem(file, rules.json_path(path + [need]), "schema.required",
                            f"is required when {prop} is given")
                for prop, needs in error.validator_value.items() if prop in instance
                for need in needs if need not in instance]
    if v in ("unevaluatedProperties", "additionalProperties"):
        found = _UNEXPECTED.search(error.message)
        names = re.findall(r"'([^']*)'", found.group(1)) if found else ["?"]
        where = f" on a {instance['type']} item" if isinstance(instance, dict) and "type" in instance else " here"
        return [FormProblem(file, rules.json_path(path + [n]), "schema.unexpected-property", f"is not allowed{where}")
                for n in names]
    if v == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        return [FormProblem(file, rules.json_path(path), "schema.enum", f"{instance!r} is not one of: {allowed}")]
    if v in ("oneOf", "anyOf", "not") and "x-message" in error.schema:
        return [FormProblem(file, rules.json_path(path), "schema.shape", error.schema["x-message"])]
    template = _PLAIN.get(v)
    message = template.format(limit=error.validator_value, got=instance) if template else error.message
    return [FormProblem(file, rules.json_path(path), f"schema.{v}", message)]


_PLAIN = {
    "minimum": "must be at least {limit} (got {got!r})",
    "maximum": "must be at most {limit} (got {got!r})",
    "exclusiveMinimum": "must be greater than {limit} (got {got!r})",
    "type": "must be of type {limit} (got {got!r})",
    "pattern": "{got!r} does not match the pattern {limit}",
    "minItems": "needs at least {limit} entries",
    "maxItems": "may have at most {limit} entries",
    "minLength": "may not be empty",
}


def check_form(data: object, file: str, expected_id: str | None = None) -> list[FormProblem]:
    """Schema first; the semantic rules only once the shape is right."""
    problems = schema_problems(data, file)
    if problems:
        return problems
    problems = [FormProblem(file, p.path, p.code, p.message) for p in rules.check_semantics(data)]
    if expected_id is not None and data["form_id"] != expected_id:
        problems.insert(0, FormProblem(file, "form_id", "form-id-mismatch",
                                       f"form_id {data['form_id']!r} must equal the file name {expected_id!r}"))
    return problems


def form_paths(paths) -> tuple[list[Path], list[FormProblem]]:
    """Files named, and the .yaml files of directories named, in a stable order."""
    files: list[Path] = []
    problems: list[FormProblem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in SUFFIXES and p.is_file())
            if not found:
                problems.append(FormProblem(str(path), "(file)", "no-forms", "no .yaml form files in this directory"))
            files += found
        elif path.is_file():
            files.append(path)
        else:
            problems.append(FormProblem(str(path), "(file)", "file-not-found", "no such file or directory"))
    return files, problems


def read_form(path: Path) -> tuple[FormFile | None, list[FormProblem]]:
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [FormProblem(file, "(file)", "unreadable", f"cannot read the file as UTF-8: {exc}")]
    data, problems = parse_yaml(text, file)
    if problems:
        return None, problems
    problems = check_form(data, file, expected_id=path.stem)
    if problems:
        return None, problems
    content = rules.normalise(data)
    return FormFile(content["form_id"], content["version"], content, rules.content_hash(content), path.name), []


def read_forms(paths=None) -> tuple[list[FormFile], list[FormProblem]]:
    """Every form of the batch (default: the shipped directory), or every problem found in it."""
    files, problems = form_paths(paths or [FORMS_DIR])
    forms: list[FormFile] = []
    first_file: dict[str, str] = {}
    for path in files:
        form, found = read_form(path)
        problems += found
        if form is None:
            continue
        if form.form_id in first_file:
            problems.append(FormProblem(str(path), "form_id", "duplicate-form-id",
                                        f"form {form.form_id!r} is also in {first_file[form.form_id]}"))
            continue
        first_file[form.form_id] = str(path)
        forms.append(form)
    return forms, problems
