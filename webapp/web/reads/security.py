"""/admin/security: the firm's security events, newest first, a page at a time from a
keyset cursor (`before`: the id of the last row shown), optionally of one kind."""

from dataclasses import dataclass

from sqlalchemy import func, select

from webapp.engine.errors import Invalid
from webapp.extensions import db
from webapp.models import SecurityEvent, SecurityEventKind, User
from webapp.services.security import require_admin

PAGE_SIZE = 50
COUNT_CAP = 10_000  # counted exactly up to this many; beyond, the page says "10,000+"
KIND_LABELS = {
    SecurityEventKind.SIGN_IN_SUCCEEDED: "Signed in",
    SecurityEventKind.SIGN_IN_FAILED: "Wrong password",
    SecurityEventKind.SIGN_IN_THROTTLED: "Sign-in held back",
    SecurityEventKind.SIGNED_OUT: "Signed out",
    SecurityEventKind.TOKEN_USED: "API token used",
    SecurityEventKind.ACCESS_REFUSED: "Access refused",
    SecurityEventKind.CSRF_FAILED: "Form refused",
    SecurityEventKind.WALL_HIT: "Ethical wall held",
}
KIND_TONES = {
    SecurityEventKind.SIGN_IN_SUCCEEDED: "ok",
    SecurityEventKind.SIGN_IN_FAILED: "warn",
    SecurityEventKind.SIGN_IN_THROTTLED: "danger",
    SecurityEventKind.ACCESS_REFUSED: "danger",
    SecurityEventKind.CSRF_FAILED: "warn",
    SecurityEventKind.WALL_HIT: "danger",
}


@dataclass
class EventRow:
    event: SecurityEvent
    label: str
    tone: str
    who: str


@dataclass
class SecurityPage:
    rows: list[EventRow]
    kind: str | None
    before: int | None
    next_before: int | None
    total: int

    @property
    def shown_total(self) -> str:
        return f"{COUNT_CAP:,}+" if self.total > COUNT_CAP else f"{self.total:,}"


def kind_filter(text: str | None) -> str | None:
    if not text:
        return None
    if text not in {kind.value for kind in SecurityEventKind}:
        raise Invalid(f"There is no kind of security event called {text!r}.")
    return text


def security_page(
    user: User, kind: str | None, before: int | None, size: int | None = None
) -> SecurityPage:
    require_admin(user)
    size = size or PAGE_SIZE
    scope = [SecurityEvent.org_id == user.org_id]
    if kind:
        scope.append(SecurityEvent.kind == kind)
    query = select(SecurityEvent).where(*scope)
    if before is not None:
        query = query.where(SecurityEvent.id < before)
    events = list(db.session.scalars(query.order_by(SecurityEvent.id.desc()).limit(size + 1)))
    more = len(events) > size
    events = events[:size]
    return SecurityPage(
        rows=rows_of(user, events),
        kind=kind,
        before=before,
        next_before=events[-1].id if more else None,
        total=capped_count(scope),
    )


def rows_of(admin: User, events: list[SecurityEvent]) -> list[EventRow]:
    """Each event with who acted: a colleague by name; someone of another firm, never by
    name (firms never meet)."""
    ids = {event.user_id for event in events if event.user_id is not None}
    rows = db.session.execute(
        select(User.id, User.name).where(User.id.in_(ids), User.org_id == admin.org_id)
    )
    names = {user_id: name for user_id, name in rows}
    return [
        EventRow(
            event=event,
            label=KIND_LABELS.get(SecurityEventKind(event.kind), event.kind),
            tone=KIND_TONES.get(SecurityEventKind(event.kind), "neutral"),
            who=who(event, names),
        )
        for event in events
    ]


def who(event: SecurityEvent, names: dict[int, str]) -> str:
    if event.user_id is None:
        return "Unknown"
    if event.user_id in names:
        return names[event.user_id]
    return "Someone outside the firm"


def capped_count(scope: list) -> int:
    inner = select(SecurityEvent.id).where(*scope).limit(COUNT_CAP + 1).subquery()
    return int(db.session.scalar(select(func.count()).select_from(inner)) or 0)
