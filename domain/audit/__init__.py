"""The audit log: one HMAC-linked chain per supervision office plus one system chain."""
from .chain import SYSTEM_CHAIN, AuditEvent, AuditHead, append_event, verify_chain  # noqa: F401
