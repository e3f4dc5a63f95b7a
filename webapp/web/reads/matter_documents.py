"""A matter's Documents tab: its documents as this person may see them, each with its
versions, newest document first. Two statements whatever the matter holds (after the
matter itself): one page of documents with all their versions and who filed each, and
the count of documents. Columns only: the tab shows hundreds of rows and building
objects for them would cost more than the query."""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Document, Matter, User
from webapp.services.access import load_matter
from webapp.services.documents import is_matter_staff, visible_to

PAGE_SIZE = 50
SOURCE_LABELS = {"upload": "Uploaded", "render": "Generated", "signature": "Signed copy"}
KIND_LABELS = {
    "application/pdf": "PDF",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word",
    "application/msword": "Word (.doc)",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel",
    "image/png": "PNG image",
    "image/jpeg": "JPEG image",
}


@dataclass(frozen=True)
class VersionRow:
    id: int
    name: str
    version: int
    size: int
    content_type: str
    source: str
    shared: bool
    created_at: datetime
    by: str | None

    @property
    def kind(self) -> str:
        if self.content_type.startswith("text/plain"):
            return "Text"
        return KIND_LABELS.get(self.content_type, self.content_type)

    @property
    def source_label(self) -> str:
        return SOURCE_LABELS.get(self.source, self.source)

    @property
    def is_pdf(self) -> bool:
        return self.content_type == "application/pdf"


@dataclass
class DocumentGroup:
    """One document: its newest version this person sees, and the earlier ones."""

    lineage_id: int
    versions: list[VersionRow] = field(default_factory=list)

    @property
    def latest(self) -> VersionRow:
        return self.versions[0]

    @property
    def earlier(self) -> list[VersionRow]:
        return self.versions[1:]


@dataclass
class MatterDocuments:
    matter: Matter
    groups: list[DocumentGroup]
    total: int  # documents (lineages), not versions
    page: int
    can_upload: bool  # and share: the firm's people on the matter
    is_client: bool

    @property
    def next_page(self) -> int | None:
        return self.page + 1 if (self.page + 1) * PAGE_SIZE < self.total else None


def matter_documents(user: User, matter_id: int, page: int = 0) -> MatterDocuments:
    matter = load_matter(matter_id, user)
    where = (Document.matter_id == matter.id, visible_to(user))
    lineages = (
        select(Document.lineage_id)
        .where(*where)
        .group_by(Document.lineage_id)
        .order_by(func.max(Document.id).desc())
        .limit(PAGE_SIZE)
        .offset(page * PAGE_SIZE)
    )
    rows = db.session.execute(
        select(
            Document.lineage_id,
            Document.id,
            Document.name,
            Document.version,
            Document.size,
            Document.content_type,
            Document.source,
            Document.shared_with_client,
            Document.created_at,
            User.name,
        )
        .outerjoin(User, User.id == Document.uploaded_by_id)
        .where(*where, Document.lineage_id.in_(lineages))
        .order_by(Document.lineage_id.desc(), Document.version.desc())
    ).all()
    groups: dict[int, DocumentGroup] = {}
    for lineage, *values in rows:
        lineage_id = lineage or 0  # set for every committed row (services.documents)
        group = groups.setdefault(lineage_id, DocumentGroup(lineage_id))
        group.versions.append(VersionRow(*values))
    ordered = sorted(groups.values(), key=lambda g: g.latest.id, reverse=True)
    total = (
        db.session.scalar(select(func.count(func.distinct(Document.lineage_id))).where(*where)) or 0
    )
    return MatterDocuments(
        matter,
        ordered,
        total,
        page,
        can_upload=is_matter_staff(user),
        is_client=user.role == Role.CLIENT,
    )
