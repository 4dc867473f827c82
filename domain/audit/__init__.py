"""The audit log: one HMAC-linked chain per supervision office plus one system chain."""
from .chain import (SYSTEM_CHAIN, AuditEvent, AuditHead, ChainReport, append_event, ensure_chain,  # noqa: F401
                    verify_chain)
from .heads import export_heads, heads_file, read_exported_heads, verify_all  # noqa: F401
