"""The commands of the step door: small typed values, one per way of changing a step.

A new way of changing a step is a new command here (and a row of the permission table
in engine/permissions.py), not a new service function."""

from dataclasses import dataclass, field
from typing import Any

from webapp.adapters.storage import IncomingFile
from webapp.engine.permissions import Act


@dataclass(frozen=True)
class Claim:
    act = Act.CLAIM


@dataclass(frozen=True)
class Start:
    act = Act.START


@dataclass(frozen=True)
class Complete:
    """`payload` in the handler's shape; or, `from_form`, a form's fields (each name with
    its list of values), read by the handler's payload model."""

    payload: dict[str, Any] = field(default_factory=dict)
    from_form: bool = False
    act = Act.COMPLETE


@dataclass(frozen=True)
class Tick:
    item: str
    checked: bool
    act = Act.TICK


@dataclass(frozen=True)
class Upload:
    files: list[IncomingFile]
    act = Act.UPLOAD


@dataclass(frozen=True)
class AddFile:
    """More files for a document request the client already answered: filed with the
    step, which stays completed (its outputs, which later steps read, do not change)."""

    files: list[IncomingFile]
    act = Act.ADD_FILE


@dataclass(frozen=True)
class ProviderConfirmed:
    """A verified provider webhook: `payload` names the person (`actorId`) who acted.
    `provider` and `for_type` say whose endpoint it came in on and which action type that
    endpoint serves: a step opened with another provider, or of another type, refuses it.
    `document`: the signed copy the provider returned, filed as the document's next
    version."""

    ref: str
    payload: dict[str, Any]
    provider: str | None = None
    for_type: str | None = None
    document: IncomingFile | None = None
    act = Act.CONFIRM


@dataclass(frozen=True)
class Fail:
    reason: str
    act = Act.FAIL


@dataclass(frozen=True)
class Block:
    reason: str
    act = Act.BLOCK


@dataclass(frozen=True)
class Unblock:
    act = Act.UNBLOCK


@dataclass(frozen=True)
class Skip:
    reason: str | None = None
    act = Act.SKIP


@dataclass(frozen=True)
class Assign:
    user_id: int | None
    act = Act.ASSIGN


Command = (
    Claim
    | Start
    | Complete
    | Tick
    | Upload
    | AddFile
    | ProviderConfirmed
    | Fail
    | Block
    | Unblock
    | Skip
    | Assign
)
