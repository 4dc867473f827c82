"""The unit tree (单位): regions, organisations, supervision offices and service sites."""
from .references import register_reference_check  # noqa: F401
