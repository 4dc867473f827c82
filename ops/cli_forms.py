"""inspectctl commands for forms."""
from .cli import main  # noqa: F401
