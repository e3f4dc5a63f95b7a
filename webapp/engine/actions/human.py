"""The five human action types."""

from webapp.engine.actions import approval, checklist, payment, request_doc, signature

__all__ = ["approval", "checklist", "payment", "request_doc", "signature"]
