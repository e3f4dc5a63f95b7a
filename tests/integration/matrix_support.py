"""The access matrix's world and its people: two firms, one matter with a workflow whose
steps wait on each role, a screened lawyer, and a signed-in client (web and API) for
every person; plus what the database holds, to prove a refused request changed nothing."""

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select, text

from tests.conftest import CSRF_META, ApiClient, WebClient, forget_request_user
from tests.integration.engine_support import by_key, publish, start, step
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import ApiToken, DocumentSource, FirmClosure, Job, MatterScreen, Notification
from webapp.services.auth import create_token
from webapp.services.documents import file_document

# Tables a refused request may write to: refusals are evidence (security events, wall
# hits), and a token's use is noted on the token even when the request is refused.
EVIDENCE_TABLES = {"security_events", "wall_hits"}
NOTED_COLUMNS = {"last_used_at"}
MISSING = 987654  # an id no row has


@dataclass(frozen=True)
class Person:
    """Who asks: `firm` "A" (the world's matter is there) or "B" (the second firm)."""

    name: str
    firm: str
    role: str | None  # None: nobody signed in
    member: bool = False  # on the matter's team (the owner included)
    owner: bool = False
    screened: bool = False


PEOPLE = [
    Person("nobody", "", None),
    Person("admin", "A", Role.ADMIN),
    Person("owner", "A", Role.LAWYER, member=True, owner=True),
    Person("lawyer", "A", Role.LAWYER, member=True),
    Person("paralegal", "A", Role.PARALEGAL, member=True),
    Person("client", "A", Role.CLIENT, member=True),
    Person("outside lawyer", "A", Role.LAWYER),
    Person("outside paralegal", "A", Role.PARALEGAL),
    Person("outside client", "A", Role.CLIENT),
    Person("screened lawyer", "A", Role.LAWYER, screened=True),
    Person("B admin", "B", Role.ADMIN),
    Person("B lawyer", "B", Role.LAWYER),
    Person("B paralegal", "B", Role.PARALEGAL),
    Person("B client", "B", Role.CLIENT),
]


@dataclass
class World:
    users: dict[str, Any]  # Person.name -> User
    ids: dict[str, int]  # what the routes' parameters name, by a plain label
    trigger: dict[str, Any]  # the firm's webhook trigger, with its secret
    matter_text: list[str]  # words of the firm's matter that must never reach the others
    web: dict[str, WebClient] = field(default_factory=dict)
    api: dict[str, ApiClient] = field(default_factory=dict)


def build_world(app: Any, make_org: Any, make_user: Any, make_matter: Any) -> World:
    firm_a, firm_b = make_org("Matrix Firm"), make_org("Second Firm")
    users = {}
    for person in PEOPLE:
        if person.role is not None:
            firm = firm_a if person.firm == "A" else firm_b
            users[person.name] = make_user(firm, person.role, person.name.title())
    members = [users[p.name] for p in PEOPLE if p.member and not p.owner]
    matter = make_matter(users["owner"], *members, reference="MATRIX-SECRET-001")
    db.session.add(
        MatterScreen(
            org_id=firm_a.id,
            matter_id=matter.id,
            user_id=users["screened lawyer"].id,
            reason="Acted for the other side",
            screened_by_id=users["admin"].id,
        )
    )
    db.session.commit()
    # A matter of their own for the people off the first one: a route that checks the
    # matter in its path must still refuse the other matter's rows named after it.
    outside = [users[name] for name in ("outside paralegal", "outside client", "screened lawyer")]
    outside_matter = make_matter(users["outside lawyer"], *outside, reference="OUT-001")
    second = [users[name] for name in ("B paralegal", "B client")]
    second_matter = make_matter(users["B lawyer"], *second, reference="B-001")
    owner_api = ApiClient(app.test_client(), create_token(users["owner"].email))
    template_id = publish(
        owner_api,
        "Matrix intake",
        [
            step("approval", "APPROVAL_LAWYER", roleScope="LAWYER", config={"message": "Go?"}),
            step(
                "conflicts",
                "CHECKLIST",
                roleScope="PARALEGAL",
                config={"items": ["Search"]},
                dependsOn=[],
            ),
            step(
                "identity",
                "REQUEST_DOC_CLIENT",
                roleScope="CLIENT",
                config={"requestText": "Passport", "acceptedTypes": ["pdf"]},
                dependsOn=[],
            ),
        ],
        key="matrix_intake",
    )
    instance = start(owner_api, template_id, matter.id, title="Matrix run")
    draft = owner_api.post("/templates", json={"name": "Matrix draft", "steps": [step("one")]})
    assert draft.status_code == 201, draft.json
    letter = owner_api.post(
        "/document-templates",
        json={"name": "Matrix letter", "format": "html", "body": "<p>{{ matter.title }}</p>"},
    )
    assert letter.status_code == 201, letter.json
    admin_api = ApiClient(app.test_client(), create_token(users["admin"].email))
    trigger = admin_api.post(
        "/triggers", json={"name": "Matrix hook", "kind": "webhook", "templateKey": "matrix_intake"}
    )
    assert trigger.status_code == 201, trigger.json
    create_token(users["lawyer"].email)  # a token of the lawyer's to try to revoke
    closure = FirmClosure(org_id=firm_a.id, day=date(2030, 12, 24), reason="Matrix closed")
    db.session.add(closure)
    db.session.commit()
    lawyer_token = db.session.scalar(
        select(ApiToken.id)
        .where(ApiToken.user_id == users["lawyer"].id)
        .order_by(ApiToken.id.desc())
    )
    job = db.session.scalar(select(Job.id).order_by(Job.id))
    document = file_document(
        org_id=firm_a.id,
        matter_id=matter.id,
        name="matrix-letter.pdf",
        data=b"%PDF-1.4\n",
        content_type="application/pdf",
        source=DocumentSource.UPLOAD,
    )
    db.session.commit()
    # The lawyer's: the approval became READY for them when the workflow started.
    notification = db.session.scalar(
        select(Notification.id).where(Notification.user_id == users["lawyer"].id)
    )
    ids = {
        "matter": matter.id,
        "instance": instance["id"],
        "step": by_key(instance, "approval")["id"],
        "paralegal step": by_key(instance, "conflicts")["id"],
        "client step": by_key(instance, "identity")["id"],
        "template": template_id,
        "draft": draft.json["id"],
        "draft step": draft.json["steps"][0]["id"],
        "document template": letter.json["id"],
        "trigger": trigger.json["id"],
        "token": lawyer_token or 0,
        "job": job or 0,
        "notification": notification or 0,
        "closure": closure.id,
        "member": users["paralegal"].id,
        "screened": users["screened lawyer"].id,
        "user": users["lawyer"].id,
        "outsider": users["outside lawyer"].id,
        "owner": users["owner"].id,
        "outside matter": outside_matter.id,
        "second matter": second_matter.id,
        "document": document.id,
    }
    secrets = ["MATRIX-SECRET-001", "Matrix run", "Matrix intake"]
    world = World(users, ids, trigger.json, secrets)
    for person in PEOPLE:
        world.web[person.name] = web_client(app, users.get(person.name))
        if person.role is not None:
            token = create_token(users[person.name].email)
            world.api[person.name] = ApiClient(app.test_client(), token)
    world.api["nobody"] = ApiClient(app.test_client(), "")
    world.api["nobody"].headers = {}
    return world


def web_client(app: Any, user: Any) -> WebClient:
    web = WebClient(app.test_client())
    if user is not None:
        web.sign_in(user.email)
    else:
        forget_request_user()
        page = web.client.get("/login")
        web.csrf = CSRF_META.search(page.get_data(as_text=True)).group(1)
    return web


def snapshot_all() -> dict[str, Any]:
    """Every row of every table but the evidence of refusals, as committed: one query,
    a digest of each table's rows in key order (the matrix takes one per request)."""
    db.session.commit()
    row = db.session.execute(text(_fingerprint_sql(db.engine.dialect.name))).one()
    return dict(row._mapping)


_FINGERPRINTS: dict[str, str] = {}


def _fingerprint_sql(dialect: str) -> str:
    if dialect not in _FINGERPRINTS:
        parts = []
        for table in db.metadata.sorted_tables:
            if table.name in EVIDENCE_TABLES:
                continue
            columns = [f'"{c.name}"' for c in table.columns if c.name not in NOTED_COLUMNS]
            order = ", ".join(f'"{c.name}"' for c in table.primary_key.columns) or columns[0]
            if dialect == "postgresql":
                rows = f"string_agg(CAST(ROW({', '.join(columns)}) AS text), '|' ORDER BY {order})"
                digest = f"SELECT md5(coalesce({rows}, '')) FROM \"{table.name}\""
            else:
                joined = " || ',' || ".join(f"quote({c})" for c in columns)
                inner = f'SELECT {joined} AS r FROM "{table.name}" ORDER BY {order}'
                digest = f"SELECT group_concat(r, '|') FROM ({inner})"
            parts.append(f'({digest}) AS "{table.name}"')
        _FINGERPRINTS[dialect] = "SELECT " + ", ".join(parts)
    return _FINGERPRINTS[dialect]


def changed_tables(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [name for name in before if before[name] != after[name]]


def plain(text: str) -> str:
    """An answer with its numbers and request ids taken out, to compare two answers that
    differ only in the id asked for."""
    text = re.sub(
        r'(csrf-token" content|name="csrf_token" value|name="form_token" value|nonce)="[^"]*"',
        r"\1",
        text,
    )
    text = re.sub(r'"X-CSRFToken": "[^"]*"', "X-CSRFToken", text)
    return re.sub(r"[0-9a-f]{32}|\d+", "#", text)


def first_difference(one: str, other: str) -> int:
    """Where two answers part, to show that much of each."""
    pairs = zip(one, other, strict=False)
    return next((at for at, (a, b) in enumerate(pairs) if a != b), min(len(one), len(other)))
