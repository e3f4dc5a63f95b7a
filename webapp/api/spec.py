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
from webapp.engine.actions import all_handlers
from webapp.engine.actions.base import validation_details
from webapp.engine.errors import Invalid, Unprocessable


@dataclass(frozen=True)
class Query:
    """A query parameter: what it means and the JSON Schema of its value. `json` says the
    value is a JSON document (OpenAPI `content`) rather than a plain string; `required`
    that the operation needs it (it answers 400 without it)."""

    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})
    json: bool = False
    required: bool = False


TEXT_MEDIA = ("application/json", "application/yaml")
# A response sent as CSV is text whatever model its JSON form has: one header line, then
# one line per item, the columns named as the JSON fields.
MEDIA_SCHEMAS: dict[str, dict[str, Any]] = {"text/csv": {"type": "string"}}
ROW_ID = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
LIMIT = Query("page size", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50})
OFFSET = Query(
    "how many to skip", {"type": "integer", "minimum": 0, "maximum": 2**31 - 1, "default": 0}
)
PAGE = {"limit": LIMIT, "offset": OFFSET}


def one_of(description: str, *values: str) -> Query:
    return Query(description, {"type": "string", "enum": list(values)})


# Every error this API answers, on every operation (a body can always be too large, a
# token can always be missing); 405 is answered for a method the path does not take.
ERRORS = (
    (
        "400",
        "The request is malformed or never valid: not JSON, a query value outside the "
        "listed ones or given twice, a NUL character, a status only the engine sets",
    ),
    ("401", "Not signed in: send an API token (Authorization: Bearer …)"),
    ("403", "Not allowed for this person"),
    ("404", "Not found, or not visible to this person"),
    (
        "409",
        "Well formed, but conflicts with the current state: a step that is not READY or "
        "IN_PROGRESS for the act, a version that is not a draft, stale step ids, a lost claim, "
        "an X-Request-ID already used for another request",
    ),
    ("413", "The request body is too large"),
    (
        "422",
        "The body is well formed but its content is not valid, or does not fit the step's "
        "action type; details name each field",
    ),
    ("429", "Too many requests; Retry-After says when to try again"),
    (
        "503",
        "The database could not be reached: `unavailable` (nothing was changed) or "
        "`outcome_unknown` (the commit was cut off: send it again with the same X-Request-ID "
        "to find out, or reload to check); Retry-After says when to try again",
    ),
)


@dataclass
class RouteSpec:
    rule: str
    method: str
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    query: dict[str, Query] = field(default_factory=dict)
    multipart: bool = False
    auth: bool = True
    also: dict[int, str] = field(default_factory=dict)
    media: tuple[str, ...] = ("application/json",)
    document: type[BaseModel] | None = None
    # A multipart body's fields beside its `file` parts, and the ones it must carry.
    form: dict[str, dict[str, Any]] = field(default_factory=dict)
    form_required: tuple[str, ...] = ()


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
        details = [naming_the_step(d, data) for d in validation_details(error)]
        raise Unprocessable("The request body is not valid.", details) from error


def naming_the_step(detail: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """A problem of `steps.N.…` names the step as the engine's own checks do (`step`,
    `key`, `title`): the person finds it by what they called it, not by its place."""
    parts = str(detail.get("field", "")).split(".")
    steps = data.get("steps")
    if (
        len(parts) < 2
        or parts[0] != "steps"
        or not parts[1].isdigit()
        or not isinstance(steps, list)
    ):
        return detail
    index = int(parts[1])
    written = steps[index] if index < len(steps) and isinstance(steps[index], dict) else {}
    named = {"step": index, "key": written.get("key"), "title": written.get("title")}
    return {**named, **detail}


def check_query(declared: dict[str, Query]) -> None:
    """Refuse with 400, in plain words, a query parameter the document calls invalid:
    given more than once, outside its listed values, or not a boolean where one is
    expected. Numbers and JSON values are read, and refused, by the views that use them."""
    for name, query in declared.items():
        values = request.args.getlist(name)
        if not values:
            continue
        if len(values) > 1:
            raise Invalid(f"{name} may be given only once.")
        value, schema = values[0], query.schema
        if "enum" in schema and value not in schema["enum"]:
            raise Invalid(f"{name} must be one of {_listed(schema['enum'])}.", {"given": value})
        if schema.get("type") == "boolean" and value not in ("true", "false"):
            raise Invalid(f"{name} must be true or false.", {"given": value})


def _listed(values: list[str]) -> str:
    return ", ".join(values[:-1]) + f" or {values[-1]}" if len(values) > 1 else values[0]


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
    query: dict[str, Query] | None = None,
    multipart: bool = False,
    auth: bool = True,
    also: dict[int, str] | None = None,
    media: tuple[str, ...] = ("application/json",),
    document: type[BaseModel] | None = None,
    form: dict[str, dict[str, Any]] | None = None,
    form_required: tuple[str, ...] = (),
) -> Callable:
    """Register a route and describe it. `also`: other success statuses it answers with
    the same body (e.g. 201 when a PATCH creates a version), with why; `media`: the media
    types the `response` model is sent as (JSON, or JSON and YAML for a document);
    `document`: a request body the view reads itself, as JSON or YAML text, in this
    model's shape."""

    def decorator(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def view(**kwargs: Any) -> Any:
            check_query(query or {})
            if body is not None and not (multipart and request.mimetype == "multipart/form-data"):
                kwargs["body"] = parse_body(body)
            return fn(**kwargs)

        ROUTES.append(
            RouteSpec(
                rule,
                method,
                summary,
                tag,
                body,
                response,
                status,
                query or {},
                multipart,
                auth,
                also or {},
                media,
                document,
                form or {},
                form_required,
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
                    "schema": dict(ROW_ID) if kind == "int" else {"type": "string", "minLength": 1},
                }
            )
            part = "{" + name + "}"
        parts.append(part)
    return "/".join(parts), params


def openapi_document(prefix: str) -> dict[str, Any]:
    models = {m for r in ROUTES for m in (r.body, r.response, r.document) if m} | {ErrorBody}
    # Each action type's config as a named component (`ChecklistConfig`, `HttpConfig`…):
    # what a step's actionConfig must be for that actionType, as GET /actions serves it.
    models |= {handler.Config for handler in all_handlers()}
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
            "parameters": params + [_query(name, q) for name, q in route.query.items()],
            "responses": _responses(route, refs),
        }
        if route.body is not None or route.multipart or route.document is not None:
            operation["requestBody"] = _request_body(route, refs)
        if not route.auth:
            operation["security"] = []
        paths.setdefault(prefix + path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Matterflow API",
            "version": "1.0.0",
            "description": "Workflow engine for law firms. Errors are "
            '{"error": {code, message, details}}. Text never contains the NUL character '
            "(U+0000): a request carrying one, anywhere, is refused with 400.",
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


def _query(name: str, query: Query) -> dict[str, Any]:
    parameter: dict[str, Any] = {
        "name": name,
        "in": "query",
        "required": query.required,
        "description": query.description,
    }
    if query.json:
        parameter["content"] = {"application/json": {"schema": query.schema}}
    else:
        parameter["schema"] = query.schema
    return parameter


def _request_body(route: RouteSpec, refs: dict) -> dict[str, Any]:
    if route.document is not None:
        schema = refs[(route.document, "validation")]
        return {"required": True, "content": {media: {"schema": schema} for media in TEXT_MEDIA}}
    content: dict[str, Any] = {}
    if route.body is not None:
        content["application/json"] = {"schema": refs[(route.body, "validation")]}
    if route.multipart:
        form: dict[str, Any] = {
            "type": "object",
            "properties": {
                "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
                **route.form,
            },
        }
        if route.form_required:
            form["required"] = list(route.form_required)
        content["multipart/form-data"] = {"schema": form}
    required = route.body is not None and not route.multipart and not _empty_is_enough(route.body)
    return {"required": required, "content": content}


def _empty_is_enough(model: type[BaseModel]) -> bool:
    """A body every field of which may be left out (a skip's reason) may be left out
    itself: the view reads a missing body as `{}`."""
    try:
        model.model_validate({})
    except ValidationError:
        return False
    return True


def _responses(route: RouteSpec, refs: dict) -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": refs[(ErrorBody, "validation")]}}}
    ok: dict[str, Any] = {"description": "Success"}
    if route.response is not None:
        schema = refs[(route.response, "validation")]
        ok["content"] = {
            media: {"schema": MEDIA_SCHEMAS.get(media, schema)} for media in route.media
        }
    responses: dict[str, Any] = {str(route.status): ok}
    for code, why in route.also.items():
        responses[str(code)] = {**ok, "description": why}
    for error_code, text in ERRORS:
        responses[error_code] = {"description": text, **error}
    responses["405"] = {
        "description": "The path does not take this method; Allow lists those it takes",
        "headers": {"Allow": {"schema": {"type": "string"}, "required": True}},
        **error,
    }
    for waiting in ("429", "503"):
        responses[waiting] = {
            **responses[waiting],
            "headers": {"Retry-After": {"schema": {"type": "integer"}, "required": True}},
        }
    return responses
