from flask import request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from webapp.api import schemas as s
from webapp.api.blueprint import api
from webapp.api.paging import TEXT_CURSOR, after_text_arg, page_args
from webapp.api.serialize import matter_out, matters_out, respond
from webapp.api.spec import PAGE, Query, endpoint
from webapp.services import matters

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
    matter = matters.create_matter(current_user, body.reference, body.title, body.owner_id)
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
