"""Every job module, imported once by the worker class. Add new job modules here."""
from . import outbox  # noqa: F401
from . import units  # noqa: F401
from . import audit  # noqa: F401
from . import uploads  # noqa: F401
from . import evidence  # noqa: F401
