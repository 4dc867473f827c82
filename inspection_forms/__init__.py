"""inspection_forms."""
