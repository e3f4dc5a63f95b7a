from flask import request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from webapp.api import schemas as s
from webapp.api.blueprint import api
from webapp.api.paging import TEXT_CURSOR, after_text_arg, page_args
from webapp.api.serialize import matter_out, matters_out, members_out, respond, screen_out
from webapp.api.spec import PAGE, Query, endpoint
from webapp.services import matters, team, walls

TAG = "Matters"


@endpoint(
    api,
    "/matters",
    "GET",
    summary="List matters",
    tag=TAG,
    response=s.MatterList,
    query={
        "q": Query("matches reference or title"),
        "after": Query(
            "keyset cursor: only matters whose reference sorts after this one — pass the "
            "last reference of the previous page; combines with q, limit and offset",
            TEXT_CURSOR,
        ),
        **PAGE,
    },
)
def list_matters() -> ResponseReturnValue:
    limit, offset = page_args()
    after = after_text_arg("reference")
    rows, total = matters.list_matters(current_user, request.args.get("q"), limit, offset, after)
    return respond(s.MatterList(items=matters_out(rows, current_user), total=total))


@endpoint(
    api,
    "/matters",
    "POST",
    summary="Open a matter",
    tag=TAG,
    body=s.MatterIn,
    response=s.MatterOut,
    status=201,
)
def create_matter(body: s.MatterIn) -> ResponseReturnValue:
    client: int | matters.NewClient | None = body.client_id
    if body.client is not None:
        client = matters.NewClient(body.client.name, body.client.email)
    seats = tuple(matters.Seat(seat.user_id, seat.role) for seat in body.team)
    command = matters.Create(body.reference, body.title, body.owner_id, client, seats)
    matter = matters.perform(current_user, None, command).kept()
    return respond(matter_out(matter, current_user), 201)


@endpoint(
    api, "/matters/<int:matter_id>", "GET", summary="Get a matter", tag=TAG, response=s.MatterOut
)
def get_matter(matter_id: int) -> ResponseReturnValue:
    return respond(matter_out(matters.get_matter(current_user, matter_id), current_user))


@endpoint(
    api,
    "/matters/<int:matter_id>/members",
    "POST",
    summary="Add a person to a matter",
    tag=TAG,
    body=s.MemberIn,
    response=s.MatterOut,
    status=201,
)
def add_member(matter_id: int, body: s.MemberIn) -> ResponseReturnValue:
    command = matters.AddMember(body.user_id, body.role)
    matter = matters.perform(current_user, matter_id, command).kept()
    return respond(matter_out(matter, current_user), 201)


@endpoint(
    api,
    "/matters/<int:matter_id>/members",
    "GET",
    summary="The people on a matter, the responsible lawyer first",
    tag=TAG,
    response=s.MemberList,
)
def list_members(matter_id: int) -> ResponseReturnValue:
    matter = matters.get_matter(current_user, matter_id)
    items = members_out(matter, current_user, team.team_of(matter))
    return respond(s.MemberList(items=items, total=len(items)))


@endpoint(
    api,
    "/matters/<int:matter_id>/members/<int:user_id>",
    "DELETE",
    summary="Take a person off a matter: their access ends and their open steps there are "
    "unassigned and unclaimed",
    tag=TAG,
    response=s.MatterOut,
)
def remove_member(matter_id: int, user_id: int) -> ResponseReturnValue:
    matter = matters.perform(current_user, matter_id, matters.RemoveMember(user_id)).kept()
    return respond(matter_out(matter, current_user))


@endpoint(
    api,
    "/matters/<int:matter_id>/screens",
    "GET",
    summary="Who is screened from a matter (ethical walls), by whom, when and why "
    "(admins and the matter's owner)",
    tag=TAG,
    response=s.ScreenList,
)
def list_screens(matter_id: int) -> ResponseReturnValue:
    items = [screen_out(wall) for wall in walls.screens(current_user, matter_id)]
    return respond(s.ScreenList(items=items, total=len(items)))


@endpoint(
    api,
    "/matters/<int:matter_id>/screens",
    "POST",
    summary="Screen a person from a matter with a reason (admins): from their next request "
    "the matter does not exist for them",
    tag=TAG,
    body=s.ScreenIn,
    response=s.ScreenOut,
    status=201,
)
def add_screen(matter_id: int, body: s.ScreenIn) -> ResponseReturnValue:
    command = matters.Screen(body.user_id, body.reason)
    wall = matters.perform(current_user, matter_id, command).walled()
    return respond(screen_out(wall), 201)


@endpoint(
    api,
    "/matters/<int:matter_id>/screens/<int:user_id>",
    "DELETE",
    summary="Lift a screen (admins); the person rejoins the team only when added again",
    tag=TAG,
    response=s.MatterOut,
)
def lift_screen(matter_id: int, user_id: int) -> ResponseReturnValue:
    matter = matters.perform(current_user, matter_id, matters.LiftScreen(user_id)).kept()
    return respond(matter_out(matter, current_user))


@endpoint(
    api,
    "/matters/<int:matter_id>/screens/attempts",
    "GET",
    summary="The refused attempts of screened people on a matter, newest first: the "
    "evidence that its walls held (admins and the matter's owner)",
    tag=TAG,
    response=s.WallHitList,
    query=PAGE,
)
def list_wall_hits(matter_id: int) -> ResponseReturnValue:
    limit, offset = page_args()
    found = walls.evidence(current_user, matter_id, limit, offset)
    items = [
        s.WallHitOut(user_id=a.user_id, name=a.name, attempted=a.attempted, created_at=a.at)
        for a in found.attempts
    ]
    return respond(s.WallHitList(items=items, total=found.total_attempts))


@endpoint(
    api,
    "/matters/<int:matter_id>",
    "PATCH",
    summary="Rename, close, archive or reopen (workflows are left untouched)",
    tag=TAG,
    body=s.MatterPatch,
    response=s.MatterOut,
)
def patch_matter(matter_id: int, body: s.MatterPatch) -> ResponseReturnValue:
    command = matters.Update(body.status, body.title)
    matter = matters.perform(current_user, matter_id, command).kept()
    return respond(matter_out(matter, current_user))


@endpoint(
    api,
    "/matters/<int:matter_id>",
    "DELETE",
    summary="Delete a matter and its workflows (admins only; the audit trail stays)",
    tag=TAG,
    response=s.MatterDeleted,
)
def delete_matter(matter_id: int) -> ResponseReturnValue:
    gone = matters.perform(current_user, matter_id, matters.Delete()).gone()
    return respond(
        s.MatterDeleted(id=gone.id, reference=gone.reference, instances_removed=gone.instance_ids)
    )
