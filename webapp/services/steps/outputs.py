"""An instance's step outputs (`step_data`, read by conditions and templates as
`steps.<key>`), merged in the database when a transition did not load them."""

import json
from typing import Any

from sqlalchemy import cast, func, inspect, literal
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ClauseElement

from webapp.extensions import db
from webapp.models import WorkflowInstance


def record_output(instance: WorkflowInstance, key: str, value: Any) -> None:
    """Sets `steps.<key>`. When the instance's outputs were not loaded (a lean transition)
    the database merges the new one in, so a large instance's outputs are neither read nor
    written whole; `outputs` reads them back when a condition or template needs them."""
    state = inspect(instance)
    pending = state.dict.get("step_data")
    if "step_data" in state.unloaded or isinstance(pending, ClauseElement):
        base = pending if isinstance(pending, ClauseElement) else WorkflowInstance.step_data
        instance.step_data = _merged(base, key, value)
    else:
        instance.step_data = {**(pending or {}), key: value}


def outputs(instance: WorkflowInstance) -> dict[str, Any]:
    if isinstance(inspect(instance).dict.get("step_data"), ClauseElement):
        db.session.flush()  # let the database merge, then read the outputs back
    return instance.step_data or {}


def _merged(base: Any, key: str, value: Any) -> Any:
    """`base` with `key` set to `value`, in SQL. The key is quoted in SQLite's JSON path
    (`$."client-facts"`): step keys may hold hyphens, and are slugs without quotes."""
    encoded = json.dumps(value)
    if db.engine.dialect.name == "postgresql":
        empty = cast(literal("{}"), JSONB)
        return func.coalesce(base, empty).op("||")(
            func.jsonb_build_object(key, cast(literal(encoded), JSONB))
        )
    return func.json_set(func.coalesce(base, "{}"), f'$."{key}"', func.json(encoded))
