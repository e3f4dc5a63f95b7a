from typing import Any

from pydantic import BaseModel, Field, field_validator

from webapp.engine.actions.base import ActionConfig, ActionContext, ActionHandler, Category, Outcome
from webapp.engine.actions.registry import register
from webapp.engine.errors import Unprocessable
from webapp.engine.roles import Role


class ChecklistConfig(ActionConfig):
    items: list[str] = Field(min_length=1, description="The items to tick, one per line")

    @field_validator("items")
    @classmethod
    def items_are_distinct_and_filled(cls, items: list[str]) -> list[str]:
        cleaned = [item.strip() for item in items]
        if any(not item for item in cleaned):
            raise ValueError("items must not be blank")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("items must be distinct")
        return cleaned


class ChecklistPayload(BaseModel):
    checked_items: list[str] = Field(alias="checkedItems")


@register
class ChecklistHandler(ActionHandler):
    type = "CHECKLIST"
    category = Category.HUMAN
    label = "Checklist"
    description = "Tick every item to complete the step."
    Config = ChecklistConfig
    example = {"items": ["Conflict check done", "Identity verified", "Engagement letter sent"]}
    Payload = ChecklistPayload
    roles = (Role.LAWYER, Role.PARALEGAL, Role.CLIENT, Role.ADMIN)
    performed_by = "A checklist is ticked by a person"

    def tick(self, ctx: ActionContext, item: str, checked: bool) -> dict[str, Any]:
        items = ctx.config["items"]
        if item not in items:
            raise Unprocessable(f"{item!r} is not an item of this checklist.", {"item": item})
        ticked = set(ctx.action_data.get("checkedItems", []))
        ticked = ticked | {item} if checked else ticked - {item}
        return {**ctx.action_data, "checkedItems": [i for i in items if i in ticked]}

    def all_ticked(self, ctx: ActionContext) -> bool:
        return set(ctx.config["items"]) <= set(ctx.action_data.get("checkedItems", []))

    def complete(self, ctx: ActionContext, payload: dict[str, Any]) -> Outcome:
        checked = payload.get("checkedItems")
        if not isinstance(checked, list) or not all(isinstance(i, str) for i in checked):
            raise Unprocessable(
                "checkedItems must be a list of the checklist's items.",
                [{"field": "checkedItems", "message": "expected a list of strings"}],
            )
        missing = [item for item in ctx.config["items"] if item not in checked]
        unknown = [item for item in checked if item not in ctx.config["items"]]
        if missing or unknown:
            raise Unprocessable(
                "Every checklist item must be ticked to complete the step.",
                {"missing": missing, "unknown": unknown},
            )
        data = {**ctx.action_data, "checkedItems": list(ctx.config["items"])}
        return Outcome(action_data=data, output={"checkedItems": data["checkedItems"]})
