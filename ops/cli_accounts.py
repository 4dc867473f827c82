"""inspectctl commands for accounts."""
from .cli import main  # noqa: F401
