"""inspectctl commands for units."""
from .cli import main  # noqa: F401
