"""Inspection forms (检查表): files as data, stored as immutable versions; answers checked against them."""
from .answers import indicates_problem, oversized_answers, problems_in, require_valid_answers, validate_answers, visible_items
from .categories import CATEGORIES, GROUPS, is_known as is_known_category, top_level as top_level_category
from .loader import FormFile, FormProblem, read_forms
from .models import FormVersion
from .services import (LoadReport, get_form_version, list_categories, list_forms, load_forms,
                       load_shipped_forms)

__all__ = ["indicates_problem", "oversized_answers", "problems_in", "require_valid_answers", "validate_answers", "visible_items",
           "CATEGORIES", "GROUPS", "is_known_category", "top_level_category", "FormFile", "FormProblem",
           "read_forms", "FormVersion", "LoadReport", "get_form_version", "list_categories", "list_forms",
           "load_forms", "load_shipped_forms"]
