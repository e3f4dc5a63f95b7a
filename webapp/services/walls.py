"""Ethical walls (ABA Model Rule 1.10): an admin screens a person from a matter, with a
reason. From the next request the matter does not exist for them — every page, the API,
search, lists and the inbox answer as if it never had (services/access) — they leave its
team and its open steps, are never eligible, assigned or notified for it, and each
refused attempt is kept as evidence (services/wall_hits). Helpers of the matter door
(services/matters.perform), which commits."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select

from webapp.engine.errors import Conflict, NotAllowed, NotFound, Unprocessable
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Matter, MatterScreen, Notification, User, WallHit
from webapp.persistence.journal import record_event
from webapp.services import team
from webapp.services.access import load_matter

MAX_REASON = 2000
EVIDENCE_LIMIT = 200  # the newest refused attempts a page lists; the API pages the rest


def require_admin(actor: User) -> None:
    if actor.role != Role.ADMIN:
        raise NotAllowed("Only an admin can screen a person from a matter or lift a screen.")


def _person(actor: User, user_id: int) -> User:
    person = db.session.get(User, user_id)
    if person is None or person.org_id != actor.org_id:
        raise NotFound(f"User {user_id} was not found.")
    return person


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        message = "Give the reason for the screen (the conflict it answers)."
        raise Unprocessable(message, [{"field": "reason", "message": message}])
    if len(text) > MAX_REASON:
        message = "The reason is too long (2,000 characters at most)."
        raise Unprocessable(message, [{"field": "reason", "message": message}])
    return text


def screen(actor: User, matter_id: int, user_id: int, reason: str) -> tuple[Matter, MatterScreen]:
    matter = load_matter(matter_id, actor)
    require_admin(actor)
    person = _person(actor, user_id)
    why = _reason(reason)
    if person.id == matter.owner_id:
        raise Conflict(
            f"{person.name} is the matter's responsible lawyer: give the matter another "
            "owner before screening them."
        )
    if screen_of(matter, person.id) is not None:
        raise Conflict(f"{person.name} is already screened from this matter.")
    wall = MatterScreen(
        org_id=matter.org_id,
        matter_id=matter.id,
        user_id=person.id,
        reason=why,
        screened_by_id=actor.id,
    )
    db.session.add(wall)
    team.drop_member(actor, matter, person, "screened")
    # What they were told of the matter before goes too: their list shows nothing of it.
    db.session.execute(
        delete(Notification).where(
            Notification.user_id == person.id, Notification.matter_id == matter.id
        )
    )
    record_event(
        org_id=matter.org_id,
        event_type="matter.screened",
        actor_id=actor.id,
        matter_id=matter.id,
        payload={"userId": person.id, "reason": why},
    )
    db.session.flush()
    return matter, wall


def lift(actor: User, matter_id: int, user_id: int) -> Matter:
    """The person may be added to the team again; their access comes back only then (or
    at once for an admin, who sees every matter of the firm)."""
    matter = load_matter(matter_id, actor)
    require_admin(actor)
    person = _person(actor, user_id)
    wall = screen_of(matter, person.id)
    if wall is None:
        raise NotFound(f"{person.name} is not screened from this matter.")
    db.session.delete(wall)
    record_event(
        org_id=matter.org_id,
        event_type="matter.screen_lifted",
        actor_id=actor.id,
        matter_id=matter.id,
        payload={"userId": person.id, "reason": wall.reason},
    )
    db.session.flush()
    return matter


def screen_of(matter: Matter, user_id: int) -> MatterScreen | None:
    return db.session.scalar(
        select(MatterScreen).where(
            MatterScreen.matter_id == matter.id, MatterScreen.user_id == user_id
        )
    )


def require_not_screened(matter: Matter, person: User) -> None:
    """A screened person is not added to the team: the wall is lifted first, on purpose."""
    if screen_of(matter, person.id) is not None:
        raise Conflict(
            f"{person.name} is screened from this matter (an ethical wall). An admin must "
            "lift the screen before they can join its team."
        )


# ---- the evidence -----------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    user_id: int
    name: str
    attempted: str
    at: datetime


@dataclass(frozen=True)
class Evidence:
    """Who is screened, by whom, when and why, and the refused attempts, newest first."""

    screens: list[MatterScreen]
    attempts: list[Attempt]
    total_attempts: int


def evidence(actor: User, matter_id: int, limit: int = EVIDENCE_LIMIT, offset: int = 0) -> Evidence:
    """For admins and the matter's owner: the screens of a matter and the attempts the
    walls refused (those of screens since lifted included: the record stays)."""
    return matter_evidence(_walls_reader(actor, matter_id), limit, offset)


def screens(actor: User, matter_id: int) -> list[MatterScreen]:
    """The screens alone (admins and the matter's owner), oldest first."""
    return _screens_of(_walls_reader(actor, matter_id))


def _walls_reader(actor: User, matter_id: int) -> Matter:
    matter = load_matter(matter_id, actor)
    if actor.role != Role.ADMIN and actor.id != matter.owner_id:
        raise NotAllowed("Only an admin or the matter's owner can see its screens.")
    return matter


def _screens_of(matter: Matter) -> list[MatterScreen]:
    return list(
        db.session.scalars(
            select(MatterScreen)
            .where(MatterScreen.matter_id == matter.id)
            .order_by(MatterScreen.created_at, MatterScreen.id)
        )
    )


def matter_evidence(matter: Matter, limit: int, offset: int) -> Evidence:
    """The same, for a matter the caller has loaded and checked (the People tab's read)."""
    walls = _screens_of(matter)
    hits = select(WallHit.user_id, User.name, WallHit.attempted, WallHit.created_at).join(
        User, User.id == WallHit.user_id
    )
    hits = hits.where(WallHit.matter_id == matter.id, WallHit.org_id == matter.org_id)
    rows = db.session.execute(hits.order_by(WallHit.id.desc()).limit(limit).offset(offset))
    count = db.session.scalar(
        select(func.count()).select_from(WallHit).where(WallHit.matter_id == matter.id)
    )
    attempts = [Attempt(user_id, name, what, at) for user_id, name, what, at in rows]
    return Evidence(walls, attempts, count or 0)
