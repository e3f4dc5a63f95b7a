"""The action catalog: every action type with its category, description, configuration
schema and an example, for API clients and tools that build workflows."""

from flask import request
from flask.typing import ResponseReturnValue

from webapp.api import schemas as s
from webapp.api.blueprint import api
from webapp.api.paging import page_args
from webapp.api.serialize import respond
from webapp.api.spec import PAGE, endpoint, one_of
from webapp.engine.actions.base import Category
from webapp.engine.actions.catalog import CatalogEntry, catalog

TAG = "Actions"


def action_out(entry: CatalogEntry) -> s.ActionOut:
    return s.ActionOut(
        type=entry.type,
        category=entry.category,
        label=entry.label,
        description=entry.description,
        automated=entry.automated,
        config_schema=entry.config_schema,
        example=entry.example,
    )


@endpoint(
    api,
    "/actions",
    "GET",
    summary="The action catalog: every action type, by category, with its config schema",
    tag=TAG,
    response=s.ActionList,
    query={"category": one_of("only this category", *Category), **PAGE},
)
def list_actions() -> ResponseReturnValue:
    limit, offset = page_args()
    chosen = request.args.get("category")
    entries = catalog(Category(chosen) if chosen else None)
    items = [action_out(entry) for entry in entries[offset : offset + limit]]
    return respond(s.ActionList(items=items, total=len(entries)))
