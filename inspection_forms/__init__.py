"""Inspection forms as data: one YAML file per form, its JSON Schema and the format's README."""
from pathlib import Path

FORMS_DIR = Path(__file__).resolve().parent
