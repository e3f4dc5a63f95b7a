"""The OpenAPI document, and a readable page over it (no third-party UI is bundled)."""

from collections import defaultdict
from typing import Any

from flask import Blueprint, jsonify, render_template

from webapp.api.spec import openapi_document

docs = Blueprint("api_docs", __name__)

PREFIX = "/api/v1"


def schema_name(content: dict[str, Any] | None) -> str | None:
    """The component a request or response body refers to, e.g. 'TemplateIn'."""
    for media in (content or {}).values():
        ref = media.get("schema", {}).get("$ref", "")
        if ref:
            return ref.rsplit("/", 1)[-1]
    return None


def operations_by_tag(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            success = next(code for code in operation["responses"] if code.startswith("2"))
            body = operation.get("requestBody", {}).get("content")
            groups[operation["tags"][0]].append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": operation["summary"],
                    "query": [p for p in operation["parameters"] if p["in"] == "query"],
                    "body": schema_name(body),
                    "multipart": bool(body and "multipart/form-data" in body),
                    "success": success,
                    "response": schema_name(operation["responses"][success].get("content")),
                    "public": operation.get("security") == [],
                }
            )
    return dict(groups)


@docs.get("/api/openapi.json")
def openapi() -> Any:
    return jsonify(openapi_document(PREFIX))


@docs.get("/api/docs")
def api_docs() -> Any:
    return render_template("api_docs/docs.html", groups=operations_by_tag(openapi_document(PREFIX)))
