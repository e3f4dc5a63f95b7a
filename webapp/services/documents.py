"""Documents of a matter: uploads checked by their content and streamed to storage, filed
as documents or as the next version of one, shared with the client or not, and opened
only by who may see them. Versions of one document share a lineage; sharing is decided
for the lineage, so every version of a shared document is shared.

Who sees what: the matter's staff (admins, its owner, its lawyers and paralegals) see
every document of the matter; its clients only the shared ones (a client's own uploads
are filed shared). A screened person, or anyone of another firm, finds no document at all."""

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import IO, Any

from flask import current_app
from sqlalchemy import ColumnElement, func, select, true, update

from webapp.adapters import providers, storage
from webapp.adapters.filetypes import TXT, Sniffed, refusal, sniff
from webapp.adapters.signature_page import Signer
from webapp.adapters.storage import IncomingFile, Received, StoredFile
from webapp.engine.actions.base import ActionContext
from webapp.engine.actions.request_doc import RequestDocHandler
from webapp.engine.errors import NotAllowed, NotFound, TooLarge, Unprocessable
from webapp.engine.roles import Role
from webapp.extensions import db
from webapp.models import Document, DocumentSource, InstanceStep, Matter, User, WorkflowInstance
from webapp.persistence.journal import enqueue, record_event
from webapp.persistence.transaction import transactional
from webapp.services import outbox
from webapp.services.access import load_matter
from webapp.services.events import emit

# The worker removes the stored files of a deleted matter once no document names them.
PURGE_FILES = "documents.purge_files"
RECENT_WRITE_SECONDS = 600
STAFF_ROLES = (Role.ADMIN, Role.LAWYER, Role.PARALEGAL)


@dataclass(frozen=True)
class Checked:
    """An upload copied to a temporary file, its content found to be a kind we file."""

    name: str
    received: Received
    sniffed: Sniffed

    @property
    def content_type(self) -> str:
        kind = self.sniffed.kind
        if kind is TXT:
            return "text/plain; charset=utf-8"
        return kind.mime if kind else self.sniffed.mime


@contextmanager
def checked_files(
    files: list[IncomingFile],
    handler: RequestDocHandler | None = None,
    ctx: ActionContext | None = None,
) -> Iterator[list[Checked]]:
    """Every file streamed to a temporary file (the size cap enforced while reading) and
    its content sniffed; refused all together, before any is stored, when one is empty,
    too large, not a kind the firm files, or not one the step accepts. The temporary
    files are gone after the block, whether or not it stored them."""
    if not files:
        raise Unprocessable(
            "Attach at least one file.", [{"field": "file", "message": "no file was sent"}]
        )
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    with ExitStack() as stack:
        checked = []
        for incoming in files:
            name = storage.safe_name(incoming.filename)
            try:
                received = stack.enter_context(storage.receiving(incoming, limit))
            except TooLarge as error:
                raise TooLarge(f"{name}: {error.message}", error.details) from None
            checked.append(Checked(name, received, sniff(received.path, received.head)))
        _refuse_unacceptable(checked, handler, ctx)
        yield checked


def _refuse_unacceptable(
    checked: list[Checked], handler: RequestDocHandler | None, ctx: ActionContext | None
) -> None:
    empty = [c.name for c in checked if c.received.size == 0]
    if empty:
        raise Unprocessable(f"{', '.join(empty)}: the file is empty.")
    also = handler.accepted_types(ctx) if handler is not None and ctx is not None else ()
    problems = [p for c in checked if (p := refusal(c.name, c.sniffed, also))]
    if handler is not None and ctx is not None and not problems:
        problems = [
            p for c in checked if (p := handler.check_file(ctx, c.name, c.sniffed.extensions))
        ]
    if problems:
        raise Unprocessable(" ".join(problems), [{"field": "file", "message": p} for p in problems])


def store_for_step(
    user: User, matter_id: int, step_id: int, files: list[Checked]
) -> list[dict[str, Any]]:
    """File the checked uploads on the matter, for the step; returns what the step records
    of each. A client's upload is shared with the client: it is theirs."""
    stored = []
    for upload in files:
        document = _file_checked(
            user, matter_id, upload, step_id=step_id, shared=user.role == Role.CLIENT
        )
        stored.append(
            {
                "documentId": document.id,
                "name": document.name,
                "size": document.size,
                "sha256": document.sha256,
                "contentType": document.content_type,
            }
        )
    return stored


def _file_checked(
    user: User,
    matter_id: int,
    upload: Checked,
    *,
    step_id: int | None = None,
    shared: bool = False,
    replaces: Document | None = None,
) -> Document:
    return file_document(
        org_id=user.org_id,
        matter_id=matter_id,
        name=upload.name,
        stored=storage.backend().put_received(upload.received),
        content_type=upload.content_type,
        source=DocumentSource.UPLOAD,
        step_id=step_id,
        uploaded_by_id=user.id,
        shared_with_client=shared,
        replaces=replaces,
    )


def file_document(
    *,
    org_id: int,
    matter_id: int,
    name: str,
    data: bytes | None = None,
    content_type: str,
    source: str,
    step_id: int | None = None,
    uploaded_by_id: int | None = None,
    shared_with_client: bool = False,
    replaces: Document | None = None,
    stored: StoredFile | None = None,
) -> Document:
    """Stores the bytes (or takes the file already `stored`) and files them on the matter,
    inside the caller's transaction: a new document, or with `replaces` the next version
    of that one (its lineage, shared as the lineage is)."""
    if stored is None:
        stored = storage.backend().put_bytes(data or b"")
    shared = shared_with_client or (replaces is not None and replaces.shared_with_client)
    document = Document(
        org_id=org_id,
        matter_id=matter_id,
        step_id=step_id,
        uploaded_by_id=uploaded_by_id,
        name=storage.safe_name(name),
        content_type=content_type,
        size=stored.size,
        sha256=stored.sha256,
        storage_path=stored.key,
        source=source,
        shared_with_client=shared,
        lineage_id=replaces.lineage_id if replaces is not None else None,
        version=(_latest_version(replaces) + 1) if replaces is not None else 1,
    )
    db.session.add(document)
    db.session.flush()
    if document.lineage_id is None:
        document.lineage_id = document.id
    return document


def matter_document(org_id: int, matter_id: int, document_id: Any) -> Document | None:
    """The matter's document of that id (a step's config names it as text), or None."""
    if not str(document_id or "").isdigit():
        return None
    document = db.session.get(Document, int(document_id))
    if document is None or document.org_id != org_id or document.matter_id != matter_id:
        return None
    return document


def _latest_version(document: Document) -> int:
    return (
        db.session.scalar(
            select(func.max(Document.version)).where(Document.lineage_id == document.lineage_id)
        )
        or document.version
    )


# ---- who sees what ----------------------------------------------------------------------


def is_matter_staff(user: User) -> bool:
    """Whoever may see the matter and is not a client sees all its documents (load_matter
    has said they may see it)."""
    return user.role in STAFF_ROLES


def visible_to(user: User) -> ColumnElement[bool]:
    """The documents of a matter this person may see, once they may see the matter."""
    if is_matter_staff(user):
        return true()
    return Document.shared_with_client.is_(True)


def get_document(user: User, document_id: int) -> Document:
    """The document if this person may see it; NotFound otherwise, with nothing said of
    whether it exists (another firm's, a walled matter's, one not shared with a client)."""
    missing = NotFound(f"Document {document_id} was not found.")
    document = db.session.get(Document, document_id)
    if document is None or document.org_id != user.org_id or document.matter_id is None:
        raise missing
    try:
        load_matter(document.matter_id, user)
    except NotFound:  # a matter one may not see: the document reads as not there at all
        raise missing from None
    if not is_matter_staff(user) and not document.shared_with_client:
        raise missing
    return document


def open_document(user: User, document_id: int) -> tuple[Document, IO[bytes]]:
    """The document and its bytes, authorised on every call."""
    document = get_document(user, document_id)
    store = storage.backend()
    if not store.exists(document.storage_path):
        raise NotFound("The file of this document is no longer stored.")
    return document, store.open(document.storage_path)


def versions_of(user: User, document: Document) -> list[Document]:
    return list(
        db.session.scalars(
            select(Document)
            .where(Document.lineage_id == document.lineage_id, visible_to(user))
            .order_by(Document.version.desc())
        )
    )


def list_documents(
    user: User, matter_id: int, limit: int, offset: int
) -> tuple[list[Document], int]:
    """The matter's documents this person may see, every version, newest first."""
    load_matter(matter_id, user)
    where = (Document.matter_id == matter_id, visible_to(user))
    total = db.session.scalar(select(func.count()).select_from(Document).where(*where)) or 0
    rows = db.session.scalars(
        select(Document).where(*where).order_by(Document.id.desc()).limit(limit).offset(offset)
    )
    return list(rows), total


# ---- changes ------------------------------------------------------------------------------


def _require_staff(user: User) -> None:
    if not is_matter_staff(user):
        raise NotAllowed("Only the firm's people on the matter can file or share its documents.")


@transactional
def upload_documents(
    actor: User,
    matter_id: int,
    files: list[IncomingFile],
    *,
    shared: bool = False,
    replaces_id: int | None = None,
) -> list[Document]:
    """Staff file documents on the matter (or, `replaces_id`, one new version of a
    document). Every file is checked before any is stored."""
    matter = load_matter(matter_id, actor)
    _require_staff(actor)
    replaces = None
    if replaces_id is not None:
        replaces = get_document(actor, replaces_id)
        if replaces.matter_id != matter.id:
            raise NotFound(f"Document {replaces_id} was not found.")
        if len(files) != 1:
            raise Unprocessable("A new version is one file: attach exactly one.")
    with checked_files(files) as checked:
        filed = [
            _file_checked(actor, matter.id, upload, shared=shared, replaces=replaces)
            for upload in checked
        ]
    for document in filed:
        _audit(actor, matter, "document.uploaded", document)
        emit(actor.org_id, "document.uploaded", matter.id, _event_data(document))
    return filed


def _event_data(document: Document) -> dict[str, Any]:
    return {
        "documentId": document.id,
        "name": document.name,
        "size": document.size,
        "sha256": document.sha256,
        "contentType": document.content_type,
    }


def _audit(actor: User, matter: Matter, event_type: str, document: Document, **extra: Any) -> None:
    record_event(
        org_id=actor.org_id,
        event_type=event_type,
        actor_id=actor.id,
        matter_id=matter.id,
        payload={
            "documentId": document.id,
            "lineageId": document.lineage_id,
            "version": document.version,
            "name": document.name,
            "sha256": document.sha256,
            **extra,
        },
    )


@transactional
def share_document(actor: User, document_id: int, shared: bool) -> Document:
    """Share a document (every version of it) with the matter's clients, or stop."""
    document = get_document(actor, document_id)
    _require_staff(actor)
    matter = load_matter(document.matter_id or 0, actor)
    if document.shared_with_client == shared:
        return document
    _share_lineage(document, shared)
    _audit(actor, matter, "document.shared" if shared else "document.unshared", document)
    return document


def _share_lineage(document: Document, shared: bool) -> None:
    db.session.execute(
        update(Document)
        .where(Document.lineage_id == document.lineage_id, Document.org_id == document.org_id)
        .values(shared_with_client=shared)
        .execution_options(synchronize_session="fetch")
    )


# ---- files of deleted matters -------------------------------------------------------------


def purge_files_later(org_id: int, keys: list[str]) -> None:
    """After the commit that removed the rows, the worker deletes the stored files no
    remaining document names (storage is by content: another matter may hold the same
    bytes)."""
    if keys:
        enqueue(PURGE_FILES, {"keys": sorted(set(keys))}, org_id=org_id)


def storage_keys_of_matter(matter_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(Document.storage_path).where(Document.matter_id == matter_id).distinct()
        )
    )


def run_purge_job(job: outbox.Claimed, worker_id: str) -> None:
    _purge(job.id, worker_id)


@transactional
def _purge(job_id: int, worker_id: str) -> None:
    """Delete the job's stored files that no document row names. A file written again
    lately is kept: an upload of the same bytes may be about to name it (its row is not
    committed yet); the next deletion that names the file tries again."""
    job = outbox.own_job(job_id, worker_id)
    if job is None:
        return
    job.attempts += 1
    keys = [str(key) for key in (job.payload or {}).get("keys", [])]
    named = set(
        db.session.scalars(
            select(Document.storage_path).where(Document.storage_path.in_(keys)).distinct()
        )
    )
    store = storage.backend()
    gone = [key for key in keys if key not in named and store.idle_for(key) >= RECENT_WRITE_SECONDS]
    for key in gone:
        store.delete(key)
    outbox.mark_done(job, f"{len(gone)} of {len(keys)} stored files removed")


# ---- the document a signature step signs ----------------------------------------------------


class StepDocuments:
    """What a step's handler may ask of its matter's documents, inside the step door's
    transaction (the handler itself never touches the session): the document a signature
    step signs, and filing the signed copy the provider returns."""

    def __init__(
        self,
        instance: WorkflowInstance,
        step: InstanceStep,
        actor_id: int | None,
        outputs: Callable[[], dict[str, Any]],
    ) -> None:
        self.instance = instance
        self.step = step
        self.actor_id = actor_id
        self.outputs = outputs  # the instance's step outputs, read only when asked

    def to_sign(self, config: dict[str, Any]) -> dict[str, Any]:
        """The document named by `documentId`, or by the `documentId` output of the step
        `documentFrom`: on this matter, a PDF."""
        document_id = config.get("documentId")
        source = config.get("documentFrom")
        if source is not None:
            made = self.outputs().get(source)
            document_id = made.get("documentId") if isinstance(made, dict) else None
            if document_id is None:
                raise Unprocessable(
                    f"The step {source!r} has not made a document yet: its output has no "
                    "documentId.",
                    [{"field": "documentFrom", "message": f"{source} made no document"}],
                )
        document = self._on_matter(document_id)
        if document.content_type != "application/pdf":
            raise Unprocessable(
                f"Only a PDF can be signed: {document.name} is {document.content_type}.",
                [{"field": "documentId", "message": "the document is not a PDF"}],
            )
        if not document.shared_with_client:  # the signer must be able to read it
            _share_lineage(document, True)
            record_event(
                org_id=document.org_id,
                event_type="document.shared",
                actor_id=self.actor_id,
                matter_id=document.matter_id,
                instance_id=self.instance.id,
                step_id=self.step.id,
                payload={**_signing_facts(document), "reason": "sent for signature"},
            )
        return _signing_facts(document)

    def _on_matter(self, document_id: Any) -> Document:
        document = db.session.get(Document, document_id) if isinstance(document_id, int) else None
        if (
            document is None
            or document.org_id != self.instance.org_id
            or document.matter_id != self.instance.matter_id
        ):
            raise Unprocessable(
                f"Document {document_id} is not a document of this matter.",
                [{"field": "documentId", "message": "no such document on the matter"}],
            )
        return document

    def file_signed(self, action_data: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
        """Ask the provider for the signed copy of the session's document and file it as
        the document's next version (source=signature, shared with the client, who signed
        it). Returns both hashes, for the step's output and its audit row."""
        facts = action_data.get("document") or {}
        original = self._on_matter(facts.get("documentId"))
        signer = db.session.get(User, self.actor_id) if self.actor_id else None
        with storage.backend().open(original.storage_path) as stream:
            signed_bytes = providers.registry.esign(
                action_data.get("provider", "sandbox")
            ).signed_copy(
                str(action_data.get("sessionId")),
                stream.read(),
                Signer(
                    name=signer.name if signer else "Unknown signer",
                    email=signer.email if signer else "",
                    signed_at=str(payload.get("signedAt") or ""),
                    original_sha256=original.sha256,
                    document_name=original.name,
                ),
            )
        signed = file_document(
            org_id=original.org_id,
            matter_id=original.matter_id or 0,
            name=_signed_name(original.name),
            data=signed_bytes,
            content_type="application/pdf",
            source=DocumentSource.SIGNATURE,
            step_id=self.step.id,
            uploaded_by_id=signer.id if signer else None,
            shared_with_client=True,
            replaces=original,
        )
        return {
            "documentId": signed.id,
            "version": signed.version,
            "sha256": signed.sha256,
            "originalId": original.id,
            "originalSha256": original.sha256,
        }


def _signing_facts(document: Document) -> dict[str, Any]:
    return {
        "documentId": document.id,
        "name": document.name,
        "version": document.version,
        "sha256": document.sha256,
    }


def _signed_name(name: str) -> str:
    stem, dot, extension = name.rpartition(".")
    return f"{stem} (signed).{extension}" if dot else f"{name} (signed)"
