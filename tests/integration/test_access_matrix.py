"""The access matrix (issue 15, point 11): every mutating route of the URL map and of the
OpenAPI document has a decision in DECISIONS below, and every person the decision refuses
(nobody signed in, each role of the firm on and off the matter, a lawyer screened from
it, each role of a second firm) is refused without a change to any table. A second firm's
people, and on the matter's routes the firm's people who are not on it (the screened
lawyer among them), get exactly the answer a missing id gets: never a 403 with details,
never the matter's data.

A new route fails `test_every_mutating_route_has_a_decision` until its line is added to
DECISIONS. The people a decision allows are not tried here (their own tests do that):
the world is built once per test and only refusals, which change nothing, are sent."""

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import forget_request_user
from tests.integration.matrix_support import (
    MISSING,
    PEOPLE,
    Person,
    World,
    build_world,
    changed_tables,
    first_difference,
    plain,
    snapshot_all,
)
from tests.integration.trigger_support import signed_post
from webapp.engine.roles import Role

# ---- who may: one decision per route ------------------------------------------------

ANYONE = "public"
SIGNED = "signed request"  # a hook or a provider's webhook: the signature decides
LINK = "signed link"  # an invitation, a client's one-step link: the link's token decides
SIGNED_IN = "anyone signed in, for their own account"
OWN_TOKEN = "the token's owner, or an admin of the firm"
OWN_NOTIFICATION = "the person the notification is for"
ADMIN = "admin"
STAFF = "admins and lawyers of the firm"
EDITORS = "matter editors (admins and the matter's owner)"
MATTER_ADMIN = "admins (delete a matter)"
STARTERS = "admins and the matter's lawyers"
ASSIGNERS = "admins and the matter's owner"
STEP_LAWYERS = "members of the step's role (LAWYER), and admins"
STEP_PARALEGALS = "members of the step's role (PARALEGAL), and admins"
STEP_CLIENTS = "members of the step's role (CLIENT), and admins"
SANDBOX = "the person of the sandbox session (signed in)"
DOC_STAFF = "the matter's lawyers and paralegals, and admins (file and share documents)"

ALLOWED: dict[str, Callable[[Person], bool]] = {
    ANYONE: lambda p: True,
    SIGNED: lambda p: False,
    LINK: lambda p: False,
    SIGNED_IN: lambda p: p.role is not None,
    OWN_TOKEN: lambda p: p.name in ("lawyer", "admin"),
    OWN_NOTIFICATION: lambda p: p.name == "lawyer",
    ADMIN: lambda p: p.role == Role.ADMIN,
    STAFF: lambda p: p.role in (Role.ADMIN, Role.LAWYER),
    EDITORS: lambda p: p.role == Role.ADMIN or p.owner,
    MATTER_ADMIN: lambda p: p.role == Role.ADMIN,
    STARTERS: lambda p: p.role == Role.ADMIN or (p.member and p.role == Role.LAWYER),
    ASSIGNERS: lambda p: p.role == Role.ADMIN or p.owner,
    STEP_LAWYERS: lambda p: p.role == Role.ADMIN or (p.member and p.role == Role.LAWYER),
    STEP_PARALEGALS: lambda p: p.role == Role.ADMIN or (p.member and p.role == Role.PARALEGAL),
    STEP_CLIENTS: lambda p: p.role == Role.ADMIN or (p.member and p.role == Role.CLIENT),
    SANDBOX: lambda p: False,  # tried with a session reference nobody holds
    DOC_STAFF: lambda p: (
        p.role == Role.ADMIN or (p.member and p.role in (Role.LAWYER, Role.PARALEGAL))
    ),
}

# Decisions about one matter: the firm's people off it (the screened lawyer among them)
# must get the missing-id answer too.
MATTER_BOUND = {EDITORS, MATTER_ADMIN, STARTERS, ASSIGNERS, STEP_LAWYERS, STEP_PARALEGALS}
MATTER_BOUND |= {STEP_CLIENTS, DOC_STAFF}

_I = "/matters/<int:matter_id>/workflows/<int:instance_id>"
_T = "/workflows/templates/<int:template_id>"
_S = "/api/v1/steps/<int:step_id>"
_D = "/api/v1/document-templates/<int:template_id>"
_W = "/documents/templates/<int:template_id>"

DECISIONS: dict[tuple[str, str], str] = {
    # sign-in, account, invitations
    ("/login", "POST"): ANYONE,
    ("/logout", "POST"): ANYONE,
    ("/invitations/<token>", "POST"): LINK,
    ("/c/<token>", "POST"): LINK,
    ("/c/<token>/provider", "POST"): LINK,
    ("/account/password", "POST"): SIGNED_IN,
    ("/account/tokens", "POST"): SIGNED_IN,
    ("/account/tokens/<int:token_id>/revoke", "POST"): OWN_TOKEN,
    ("/account/calendar", "POST"): SIGNED_IN,
    ("/api/v1/tokens", "POST"): SIGNED_IN,
    ("/api/v1/tokens/<int:token_id>", "DELETE"): OWN_TOKEN,
    # notifications and email preferences: one's own; the link in every email
    ("/notifications/<int:notification_id>/read", "POST"): OWN_NOTIFICATION,
    ("/notifications/read-all", "POST"): SIGNED_IN,
    ("/api/v1/notifications/<int:notification_id>/read", "POST"): OWN_NOTIFICATION,
    ("/api/v1/notifications/read-all", "POST"): SIGNED_IN,
    ("/account/notifications", "POST"): SIGNED_IN,
    ("/api/v1/me/preferences", "PATCH"): SIGNED_IN,
    ("/preferences/email/<token>", "POST"): LINK,
    # the admin area and its API
    ("/admin/firm", "POST"): ADMIN,
    ("/admin/firm/closures", "POST"): ADMIN,
    ("/admin/firm/closures/<int:closure_id>/delete", "POST"): ADMIN,
    ("/admin/jobs/<int:job_id>/retry", "POST"): ADMIN,
    ("/admin/providers", "POST"): ADMIN,
    ("/admin/tokens/<int:token_id>/revoke", "POST"): ADMIN,
    ("/admin/triggers", "POST"): ADMIN,
    ("/admin/triggers/<int:trigger_id>/delete", "POST"): ADMIN,
    ("/admin/triggers/<int:trigger_id>/enabled", "POST"): ADMIN,
    ("/admin/triggers/<int:trigger_id>/secret", "POST"): ADMIN,
    ("/admin/users", "POST"): ADMIN,
    ("/admin/users/<int:user_id>", "POST"): ADMIN,
    ("/admin/users/<int:user_id>/invitation", "POST"): ADMIN,
    ("/admin/secrets", "POST"): ADMIN,
    ("/admin/secrets/<name>/delete", "POST"): ADMIN,
    ("/api/v1/secrets", "POST"): ADMIN,
    ("/api/v1/secrets/<name>", "DELETE"): ADMIN,
    ("/api/v1/users", "POST"): ADMIN,
    ("/api/v1/users/<int:user_id>", "PATCH"): ADMIN,
    ("/api/v1/users/<int:user_id>/invitation", "POST"): ADMIN,
    ("/api/v1/jobs/<int:job_id>/retry", "POST"): ADMIN,
    ("/api/v1/triggers", "POST"): ADMIN,
    ("/api/v1/triggers/<int:trigger_id>", "PATCH"): ADMIN,
    ("/api/v1/triggers/<int:trigger_id>", "DELETE"): ADMIN,
    ("/api/v1/triggers/<int:trigger_id>/secret", "POST"): ADMIN,
    # signed from outside
    ("/api/v1/hooks/<int:trigger_id>", "POST"): SIGNED,
    ("/api/v1/webhooks/esign/<provider>", "POST"): SIGNED,
    ("/api/v1/webhooks/payments/<provider>", "POST"): SIGNED,
    ("/api/v1/webhooks/uploads/<provider>", "POST"): SIGNED,
    ("/api/v1/webhooks/stripe", "POST"): SIGNED,
    ("/api/v1/providers", "PUT"): ADMIN,
    ("/api/v1/webhooks/dropbox-sign", "POST"): SIGNED,
    ("/sandbox/esign/<session_id>", "POST"): SANDBOX,
    ("/sandbox/pay/<intent_id>", "POST"): SANDBOX,
    # matters and their teams
    ("/matters", "POST"): STAFF,
    ("/api/v1/matters", "POST"): STAFF,
    ("/api/v1/matters/<int:matter_id>", "PATCH"): EDITORS,
    ("/api/v1/matters/<int:matter_id>", "DELETE"): MATTER_ADMIN,
    ("/api/v1/matters/<int:matter_id>/members", "POST"): EDITORS,
    ("/api/v1/matters/<int:matter_id>/members/<int:user_id>", "DELETE"): EDITORS,
    ("/api/v1/matters/<int:matter_id>/screens", "POST"): ADMIN,
    ("/api/v1/matters/<int:matter_id>/screens/<int:user_id>", "DELETE"): ADMIN,
    ("/matters/<int:matter_id>/delete", "POST"): MATTER_ADMIN,
    ("/matters/<int:matter_id>/people", "POST"): EDITORS,
    ("/matters/<int:matter_id>/people/<int:user_id>/remove", "POST"): EDITORS,
    ("/matters/<int:matter_id>/screens", "POST"): ADMIN,
    ("/matters/<int:matter_id>/screens/<int:user_id>/lift", "POST"): ADMIN,
    ("/matters/<int:matter_id>/status", "POST"): EDITORS,
    ("/matters/<int:matter_id>/workflows", "POST"): STARTERS,
    # a matter's documents
    ("/matters/<int:matter_id>/documents", "POST"): DOC_STAFF,
    ("/documents/<int:document_id>/share", "POST"): DOC_STAFF,
    ("/api/v1/matters/<int:matter_id>/documents", "POST"): DOC_STAFF,
    ("/api/v1/documents/<int:document_id>", "PATCH"): DOC_STAFF,
    # workflows on a matter: the runner and the editor
    (f"{_I}/edit/steps", "POST"): EDITORS,
    (f"{_I}/edit/steps/<int:step_id>/move", "POST"): EDITORS,
    (f"{_I}/edit/steps/<int:step_id>/remove", "POST"): EDITORS,
    (f"{_I}/edit/steps/<int:step_id>/row", "POST"): EDITORS,
    (f"{_I}/edit/steps/<int:step_id>/settings", "POST"): EDITORS,
    (f"{_I}/edit/steps/reorder", "POST"): EDITORS,
    (f"{_I}/jobs/<int:job_id>/retry", "POST"): EDITORS,
    (f"{_I}/migration", "POST"): EDITORS,
    (f"{_I}/status", "POST"): EDITORS,
    ("/api/v1/instances/<int:instance_id>", "PATCH"): EDITORS,
    ("/api/v1/instances/<int:instance_id>/advance", "POST"): EDITORS,
    ("/api/v1/instances/<int:instance_id>/definition", "PUT"): EDITORS,
    ("/api/v1/instances/<int:instance_id>/migration", "POST"): EDITORS,
    ("/api/v1/instances/<int:instance_id>/steps", "POST"): EDITORS,
    ("/api/v1/instances/<int:instance_id>/steps/<int:step_id>", "PATCH"): EDITORS,
    ("/api/v1/instances/<int:instance_id>/steps/<int:step_id>", "DELETE"): EDITORS,
    ("/api/v1/instances/<int:instance_id>/steps/reorder", "POST"): EDITORS,
    ("/api/v1/workflows", "POST"): STARTERS,
    # steps (the lawyers' approval unless named otherwise in TARGETS)
    (f"{_S}/assign", "POST"): ASSIGNERS,
    (f"{_S}/block", "POST"): STEP_LAWYERS,
    (f"{_S}/claim", "POST"): STEP_LAWYERS,
    (f"{_S}/complete", "POST"): STEP_LAWYERS,
    (f"{_S}/fail", "POST"): STEP_LAWYERS,
    (f"{_S}/files", "POST"): STEP_CLIENTS,
    (f"{_S}/skip", "POST"): STEP_LAWYERS,
    (f"{_S}/start", "POST"): STEP_LAWYERS,
    (f"{_S}/unblock", "POST"): STEP_LAWYERS,
    ("/steps/<int:step_id>/assign", "POST"): ASSIGNERS,
    ("/steps/<int:step_id>/block", "POST"): STEP_LAWYERS,
    ("/steps/<int:step_id>/claim", "POST"): STEP_LAWYERS,
    ("/steps/<int:step_id>/complete", "POST"): STEP_LAWYERS,
    ("/steps/<int:step_id>/fail", "POST"): STEP_LAWYERS,
    ("/steps/<int:step_id>/provider", "POST"): STEP_CLIENTS,
    ("/steps/<int:step_id>/skip", "POST"): STEP_LAWYERS,
    ("/steps/<int:step_id>/start", "POST"): STEP_LAWYERS,
    ("/steps/<int:step_id>/tick", "POST"): STEP_PARALEGALS,
    ("/steps/<int:step_id>/unblock", "POST"): STEP_LAWYERS,
    ("/steps/<int:step_id>/upload", "POST"): STEP_CLIENTS,
    ("/steps/<int:step_id>/files", "POST"): STEP_CLIENTS,
    ("/steps/<int:step_id>/client-link/resend", "POST"): STARTERS,
    ("/steps/<int:step_id>/client-link/revoke", "POST"): STARTERS,
    # templates: the firm's, authored by admins and lawyers
    ("/api/v1/templates", "POST"): STAFF,
    ("/api/v1/templates/import", "POST"): STAFF,
    ("/api/v1/templates/<int:template_id>", "PATCH"): STAFF,
    ("/api/v1/templates/<int:template_id>/archive", "POST"): STAFF,
    ("/api/v1/templates/<int:template_id>/instantiate", "POST"): STARTERS,
    ("/api/v1/templates/<int:template_id>/migrations", "POST"): STAFF,
    ("/api/v1/templates/<int:template_id>/publish", "POST"): STAFF,
    ("/workflows/templates", "POST"): STAFF,
    # document templates: the firm's, authored by admins and lawyers; a preview renders a
    # matter's data, for admins and the matter's lawyers
    ("/api/v1/document-templates", "POST"): STAFF,
    (f"{_D}", "PATCH"): STAFF,
    (f"{_D}/publish", "POST"): STAFF,
    (f"{_D}/render", "POST"): STARTERS,
    ("/documents/templates", "POST"): STAFF,
    (f"{_W}", "POST"): STAFF,
    (f"{_W}/new-version", "POST"): STAFF,
    (f"{_W}/publish", "POST"): STAFF,
    (f"{_T}/archive", "POST"): STAFF,
    (f"{_T}/details", "POST"): STAFF,
    (f"{_T}/migrations", "POST"): STAFF,
    (f"{_T}/new-version", "POST"): STAFF,
    (f"{_T}/publish", "POST"): STAFF,
    (f"{_T}/steps", "POST"): STAFF,
    (f"{_T}/steps/<int:step_id>/move", "POST"): STAFF,
    (f"{_T}/steps/<int:step_id>/remove", "POST"): STAFF,
    (f"{_T}/steps/<int:step_id>/row", "POST"): STAFF,
    (f"{_T}/steps/<int:step_id>/settings", "POST"): STAFF,
    (f"{_T}/steps/reorder", "POST"): STAFF,
}

# Which row of the world each path parameter names, unless TARGETS says otherwise.
PARAMETERS = {
    "matter_id": "matter",
    "instance_id": "instance",
    "step_id": "step",
    "template_id": "draft",
    "trigger_id": "trigger",
    "token_id": "token",
    "job_id": "job",
    "user_id": "user",
    "document_id": "document",
    "notification_id": "notification",
    "closure_id": "closure",
}
TARGETS: dict[str, dict[str, str]] = {
    "/api/v1/matters/<int:matter_id>/members/<int:user_id>": {"user_id": "member"},
    "/matters/<int:matter_id>/people/<int:user_id>/remove": {"user_id": "member"},
    "/api/v1/matters/<int:matter_id>/screens/<int:user_id>": {"user_id": "screened"},
    "/matters/<int:matter_id>/screens/<int:user_id>/lift": {"user_id": "screened"},
    "/steps/<int:step_id>/tick": {"step_id": "paralegal step"},
    "/steps/<int:step_id>/upload": {"step_id": "client step"},
    "/steps/<int:step_id>/files": {"step_id": "client step"},
    f"{_S}/files": {"step_id": "client step"},
    "/steps/<int:step_id>/provider": {"step_id": "client step"},
    "/steps/<int:step_id>/client-link/resend": {"step_id": "client step"},
    "/steps/<int:step_id>/client-link/revoke": {"step_id": "client step"},
    "/api/v1/templates/<int:template_id>/instantiate": {"template_id": "template"},
    "/api/v1/templates/<int:template_id>/migrations": {"template_id": "template"},
    f"{_T}/migrations": {"template_id": "template"},
    _D: {"template_id": "document template"},
    f"{_D}/publish": {"template_id": "document template"},
    f"{_D}/render": {"template_id": "document template"},
    _W: {"template_id": "document template"},
    f"{_W}/new-version": {"template_id": "document template"},
    f"{_W}/publish": {"template_id": "document template"},
    f"{_T}/new-version": {"template_id": "template"},
    f"{_T}/steps/<int:step_id>/move": {"step_id": "draft step"},
    f"{_T}/steps/<int:step_id>/remove": {"step_id": "draft step"},
    f"{_T}/steps/<int:step_id>/row": {"step_id": "draft step"},
    f"{_T}/steps/<int:step_id>/settings": {"step_id": "draft step"},
}
# Routes without an id whose body names the first firm's rows: the second firm's people
# are refused there too (they may create in their own firm, not in this one).
NAMES_FIRST_FIRM = {("/api/v1/matters", "POST"), ("/api/v1/workflows", "POST")}
NAMES_FIRST_FIRM |= {("/matters", "POST")}


def body_for(rule: str, method: str, ids: dict[str, int]) -> dict[str, Any]:
    """A request a permitted person could make: the refusal must not rest on a bad body."""
    step = {"key": "extra", "title": "Extra", "actionType": "core.echo"}
    step["actionConfig"] = {"message": "hi"}
    if rule.endswith("/matters"):
        return {"reference": "NEW-1", "title": "New", "ownerId": ids["owner"]}
    if rule.endswith("/members"):
        return {"userId": ids["outsider"], "role": "LAWYER"}
    if rule.endswith("/screens"):
        return {"userId": ids["outsider"], "reason": "Conflict"}
    if rule.endswith("/workflows") or rule.endswith("/instantiate"):
        return {"workflowId": ids["template"], "matterId": ids["matter"]}
    if rule.endswith("/assign"):
        return {"userId": ids["user"]}
    if rule.endswith("/complete"):
        return {"approved": True}
    if rule.endswith(("/fail", "/block")):
        return {"reason": "No"}
    if rule.endswith("/users"):
        return {"email": "new.person@example.test", "name": "New Person", "role": "LAWYER"}
    if rule.endswith("<int:document_id>") and method == "PATCH":
        return {"sharedWithClient": True}
    if rule.endswith("<int:user_id>") and method == "PATCH":
        return {"active": False}
    if rule.endswith("/tokens"):
        return {"name": "Matrix"}
    if rule.endswith("/providers"):
        return {"payments": "stripe", "esign": "dropbox_sign"}
    if rule.endswith("/secrets"):
        return {"name": "MATRIX_KEY", "value": "matrix value"}
    if rule.endswith("/triggers"):
        return {"name": "New hook", "kind": "webhook", "templateKey": "matrix_intake"}
    if rule.endswith("/document-templates"):
        return {"name": "New letter", "format": "html", "body": "<p>{{ matter.title }}</p>"}
    if rule.endswith("/render"):
        return {"matterId": ids["matter"], "format": "pdf"}
    if rule == _D and method == "PATCH":
        return {"name": "Changed", "body": "<p>{{ matter.reference }}</p>"}
    if rule.endswith("/templates"):
        return {"name": "New template", "steps": [step]}
    if rule.endswith("/steps") and "instances" in rule:
        return step
    if rule.endswith("/reorder"):
        return {"stepIds": [ids["step"], ids["paralegal step"], ids["client step"]]}
    if rule.endswith("/migration"):
        return {"toVersion": ids["template"]}
    if rule.endswith("/migrations"):
        return {"fromVersion": ids["template"], "dryRun": False}
    if rule.endswith("/definition"):
        return {"steps": [step]}
    if method == "PATCH":
        return {"title": "Changed", "name": "Changed", "enabled": False}
    return {}


def form_for(rule: str, ids: dict[str, int]) -> dict[str, Any]:
    """The web forms' fields, as the pages post them."""
    instance_status = "workflows/<int:instance_id>/status" in rule
    return {
        "status": "Paused" if instance_status else "CLOSED",
        "seen": "Running",
        "toVersion": ids["template"],
        "sections": ["basics"],
        "step_id": [ids["paralegal step"], ids["step"], ids["client step"]],
        "reference": "NEW-1",
        "title": "Changed",
        "name": "Changed",
        "owner_id": ids["owner"],
        "user_id": ids["outsider"],
        "role": "LAWYER",
        "reason": "Conflict",
        "template_id": ids["template"],
        "email": "new.person@example.test",
        "kind": "webhook",
        "template_key": "matrix_intake",
        "items": "0",
        "approved": "yes",
        "action_type": "core.echo",
        "key": "extra",
        "to_version": ids["template"],
        "from_version": ids["template"],
        "new_password": "a long enough new password 42",
        "value": "matrix value",
        "current_password": "wrong",
        "shared": "yes",
        "payments": "stripe",
        "esign": "dropbox_sign",
    }


# ---- the routes ---------------------------------------------------------------------

MUTATING = ("POST", "PUT", "PATCH", "DELETE")


def url_map_routes(app: Any) -> set[tuple[str, str]]:
    return {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method in MUTATING
    }


def shape(rule: str) -> str:
    """A route with its parameters unnamed, as Flask and OpenAPI both write it."""
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", rule)


def openapi_routes(app: Any) -> set[tuple[str, str]]:
    document = app.test_client().get("/api/openapi.json").json
    return {
        (shape(path), method.upper())
        for path, operations in document["paths"].items()
        for method in operations
        if method.upper() in MUTATING
    }


def test_every_mutating_route_has_a_decision(app):
    decided = {(shape(rule), method) for rule, method in DECISIONS}
    missing = [f"{m} {r} (URL map)" for r, m in sorted(url_map_routes(app) - set(DECISIONS))]
    missing += [f"{m} {r} (OpenAPI)" for r, m in sorted(openapi_routes(app) - decided)]
    assert not missing, (
        "These mutating routes have no access decision: add a line for each to DECISIONS "
        f"in tests/integration/test_access_matrix.py: {missing}"
    )
    stale = sorted(set(DECISIONS) - url_map_routes(app))
    assert not stale, f"DECISIONS names routes that no longer exist: {stale}"


# ---- the matrix ---------------------------------------------------------------------


def path_of(rule: str, world: World, missing: bool = False, matter: int | None = None) -> str:
    """The rule with the world's ids (or ids no row has); `matter`: the asker's own matter
    in place of the world's, the other ids kept."""
    chosen = {**PARAMETERS, **TARGETS.get(rule, {})}

    def fill(match: re.Match[str]) -> str:
        converter, _, name = match.group(1).rpartition(":")
        if converter != "int":
            return "matrix-reference"
        if name == "matter_id" and matter is not None:
            return str(matter)
        return str(MISSING if missing else world.ids[chosen[name]])

    return re.sub(r"<([^>]+)>", fill, rule)


def send(
    world: World,
    person: Person,
    rule: str,
    method: str,
    missing: bool = False,
    matter: int | None = None,
) -> Any:
    path = path_of(rule, world, missing, matter)
    if rule.startswith("/api/"):
        api = world.api[person.name]
        forget_request_user()
        return api.client.open(
            path, method=method, headers=api.headers, json=body_for(rule, method, world.ids)
        )
    web = world.web[person.name]
    # Every other person asks as HTMX does (its answers take other paths: fragments,
    # HX-Redirect), the rest as a plain form; both, for everyone, would double the time.
    htmx = PEOPLE.index(person) % 2 == 1
    if rule.endswith("/move"):
        path += "?offset=1"
    return web.post(path, data=form_for(rule, world.ids), htmx=htmx)


def refused_people(rule: str, method: str) -> list[Person]:
    decision = DECISIONS[(rule, method)]
    has_id = "<int:" in rule
    chosen = []
    for person in PEOPLE:
        allowed = ALLOWED[decision](person)
        if person.firm == "B" and (has_id or (rule, method) in NAMES_FIRST_FIRM):
            allowed = decision == ANYONE or (decision == SIGNED_IN and not has_id)
        if not allowed:
            chosen.append(person)
    return chosen


def must_look_missing(person: Person, rule: str, method: str) -> bool:
    """A second firm's people asking for the first firm's rows, and the firm's people who
    are not on the matter (the screened lawyer among them; admins see every matter) asking
    for the matter's, get the answer a missing id gets."""
    decision = DECISIONS[(rule, method)]
    if "<int:" not in rule or decision in (SIGNED, LINK, ANYONE):
        return False
    outside = person.role in (Role.LAWYER, Role.PARALEGAL, Role.CLIENT) and not person.member
    return person.firm == "B" or (outside and decision in MATTER_BOUND)


def try_route(world: World, rule: str, method: str) -> list[str]:
    """Every refused person in turn; what went wrong, in words."""
    problems = []
    before = snapshot_all()
    for person in refused_people(rule, method):
        response = send(world, person, rule, method)
        api = rule.startswith("/api/")
        text = response.get_data(as_text=True)
        where = f"{method} {rule} as {person.name}"
        if response.status_code >= 500 or (api and 200 <= response.status_code < 300):
            problems.append(f"{where}: answered {response.status_code}, not a refusal")
        after = snapshot_all()
        if after != before:
            problems.append(f"{where}: changed {changed_tables(before, after)}")
            before = after
        if must_look_missing(person, rule, method):
            for secret in world.matter_text:
                if secret in text:
                    problems.append(f"{where}: the answer shows {secret!r}")
            gone = send(world, person, rule, method, missing=True)
            problems += compare(where, response, gone)
        own = own_matter(world, person, rule)
        if own is not None:
            response = send(world, person, rule, method, matter=own)
            after = snapshot_all()
            if after != before:
                problems.append(
                    f"{where} through their own matter: changed {changed_tables(before, after)}"
                )
                before = after
            gone = send(world, person, rule, method, missing=True, matter=own)
            problems += compare(f"{where} through their own matter", response, gone)
    return problems


def own_matter(world: World, person: Person, rule: str) -> int | None:
    """The matter of their own through which someone off the world's matter asks for its
    rows (its instance, step, job, member), where the route names a matter and more."""
    if not re.search(r"<int:matter_id>.*<int:", rule):
        return None
    if person.firm == "B":
        return world.ids["second matter"]
    # Within the firm, who works there is no secret (a person's name may be said); the
    # matter's own rows are.
    off_matter = ("outside lawyer", "outside paralegal", "outside client", "screened lawyer")
    if person.name in off_matter and "<int:user_id>" not in rule:
        return world.ids["outside matter"]
    return None


def compare(where: str, response: Any, gone: Any) -> list[str]:
    asked, missed = plain(response.get_data(as_text=True)), plain(gone.get_data(as_text=True))
    if (response.status_code, asked) == (gone.status_code, missed):
        return []
    at = first_difference(asked, missed)
    return [
        f"{where}: answered {response.status_code} …{asked[at - 80 : at + 200]!r}, "
        f"but a missing id gets {gone.status_code} …{missed[at - 80 : at + 200]!r}"
    ]


@pytest.fixture
def world(app, make_org, make_user, make_matter) -> World:
    return build_world(app, make_org, make_user, make_matter)


def _routes(prefix_api: bool) -> list[tuple[str, str]]:
    return sorted(key for key in DECISIONS if key[0].startswith("/api/") == prefix_api)


@pytest.mark.parametrize("surface", ["api", "web"])
def test_refused_people_change_nothing_and_learn_nothing(world, surface):
    problems = []
    for rule, method in _routes(surface == "api"):
        problems += try_route(world, rule, method)
    assert not problems, "\n".join(problems)


def test_a_hook_signed_with_another_secret_changes_nothing(app, world):
    """The signed routes' own decision: the signature. One made with any other secret
    (another trigger's, another firm's) is refused; the right one is served."""
    client = app.test_client()
    before = snapshot_all()
    refused = signed_post(client, world.trigger, {"client": "X"}, secret="another-firms-secret")
    assert refused.status_code in (401, 403), refused.json
    assert snapshot_all() == before
    served = signed_post(client, world.trigger, {"client": "X"})
    assert served.status_code in (200, 201, 202), served.json
    assert snapshot_all() != before
