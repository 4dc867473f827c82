"""inspectctl commands for audit."""
from .cli import main  # noqa: F401
