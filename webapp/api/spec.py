"""Route registration that also describes each route for the OpenAPI document, so the
document cannot drift from the code: a route exists only through `endpoint`."""

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from flask import Blueprint, request
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema

from webapp.api.schemas import ErrorBody
from webapp.engine.actions.base import validation_details
from webapp.engine.errors import Invalid, Unprocessable


@dataclass
class RouteSpec:
    rule: str
    method: str
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    query: dict[str, str] = field(default_factory=dict)
    multipart: bool = False
    auth: bool = True


ROUTES: list[RouteSpec] = []


def parse_body(model: type[BaseModel]) -> BaseModel:
    data = request.get_json(silent=True)
    if data is None:
        if request.get_data():
            raise Invalid("The request body is not valid JSON.")
        data = {}
    if not isinstance(data, dict):
        raise Invalid("The request body must be a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise Unprocessable("The request body is not valid.", validation_details(error)) from error


def endpoint(
    blueprint: Blueprint,
    rule: str,
    method: str,
    *,
    summary: str,
    tag: str,
    body: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    query: dict[str, str] | None = None,
    multipart: bool = False,
    auth: bool = True,
) -> Callable:
    def decorator(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def view(**kwargs: Any) -> Any:
            if body is not None and not (multipart and request.mimetype == "multipart/form-data"):
                kwargs["body"] = parse_body(body)
            return fn(**kwargs)

        ROUTES.append(
            RouteSpec(
                rule, method, summary, tag, body, response, status, query or {}, multipart, auth
            )
        )
        blueprint.add_url_rule(rule, endpoint=fn.__name__, view_func=view, methods=[method])
        return view

    return decorator


def _path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params = []
    parts = []
    for part in rule.split("/"):
        if part.startswith("<"):
            kind, _, name = part.strip("<>").rpartition(":")
            params.append(
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer" if kind == "int" else "string"},
                }
            )
            part = "{" + name + "}"
        parts.append(part)
    return "/".join(parts), params


def openapi_document(prefix: str) -> dict[str, Any]:
    models = {m for r in ROUTES for m in (r.body, r.response) if m} | {ErrorBody}
    keyed: list[tuple[type[BaseModel], Literal["validation"]]] = [(m, "validation") for m in models]
    refs, schema = models_json_schema(
        keyed, by_alias=True, ref_template="#/components/schemas/{model}"
    )
    paths: dict[str, Any] = {}
    for route in ROUTES:
        path, params = _path(route.rule)
        operation: dict[str, Any] = {
            "summary": route.summary,
            "tags": [route.tag],
            "operationId": f"{route.method.lower()}_{path.strip('/').replace('/', '_').replace('{', '').replace('}', '')}",
            "parameters": params
            + [
                {
                    "name": name,
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": text,
                }
                for name, text in route.query.items()
            ],
            "responses": _responses(route, refs),
        }
        if route.body is not None or route.multipart:
            operation["requestBody"] = _request_body(route, refs)
        if not route.auth:
            operation["security"] = []
        paths.setdefault(prefix + path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Matterflow API",
            "version": "1.0.0",
            "description": 'Workflow engine for law firms. Errors are {"error": {code, message, details}}.',
        },
        "paths": paths,
        "components": {
            "schemas": schema.get("$defs", {}),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
        "security": [{"bearer": []}, {"session": []}],
    }


def _request_body(route: RouteSpec, refs: dict) -> dict[str, Any]:
    content: dict[str, Any] = {}
    if route.body is not None:
        content["application/json"] = {"schema": refs[(route.body, "validation")]}
    if route.multipart:
        content["multipart/form-data"] = {
            "schema": {
                "type": "object",
                "properties": {
                    "file": {"type": "array", "items": {"type": "string", "format": "binary"}}
                },
            }
        }
    return {"required": route.body is not None and not route.multipart, "content": content}


def _responses(route: RouteSpec, refs: dict) -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": refs[(ErrorBody, "validation")]}}}
    ok: dict[str, Any] = {"description": "Success"}
    if route.response is not None:
        ok["content"] = {"application/json": {"schema": refs[(route.response, "validation")]}}
    responses: dict[str, Any] = {str(route.status): ok}
    for code, text in (
        ("400", "Invalid request or transition"),
        ("401", "Not signed in"),
        ("403", "Not allowed"),
        ("404", "Not found"),
        ("409", "Conflict"),
        ("422", "Validation failed"),
    ):
        responses[code] = {"description": text, **error}
    if route.multipart:
        responses["413"] = {"description": "File too large", **error}
    return responses
