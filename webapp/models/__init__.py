from webapp.models.calendars import CalendarFeed, FirmClosure
from webapp.models.client_links import ClientLink
from webapp.models.document_templates import (
    DocumentFormat,
    DocumentTemplate,
    DocumentTemplateStatus,
)
from webapp.models.documents import Document, DocumentSource
from webapp.models.events import InstanceChange, WorkflowEvent
from webapp.models.form_tokens import FormToken
from webapp.models.instances import InstanceStep, WorkflowInstance
from webapp.models.jobs import Job, StepAttempt
from webapp.models.matters import Matter, MatterMember, MatterScreen, WallHit
from webapp.models.migrations import MigrationRun, MigrationRunItem
from webapp.models.notifications import (
    DeliveryKind,
    DeliveryState,
    EmailDelivery,
    EmailItem,
    EmailItemKind,
    EmailPreference,
    Notification,
)
from webapp.models.orgs import ApiToken, Invitation, Organization, User
from webapp.models.receipts import RequestReceipt
from webapp.models.secrets import ResourceLink, Secret
from webapp.models.security import SecurityEvent, SecurityEventKind
from webapp.models.templates import TemplateStep, WorkflowTemplate
from webapp.models.triggers import Trigger, TriggerFiring
from webapp.models.workers import WorkerHeartbeat

__all__ = [
    "ApiToken",
    "CalendarFeed",
    "ClientLink",
    "DeliveryKind",
    "DeliveryState",
    "Document",
    "DocumentFormat",
    "DocumentSource",
    "DocumentTemplate",
    "DocumentTemplateStatus",
    "EmailDelivery",
    "EmailItem",
    "EmailItemKind",
    "EmailPreference",
    "FirmClosure",
    "FormToken",
    "InstanceChange",
    "InstanceStep",
    "Invitation",
    "Job",
    "Matter",
    "MatterMember",
    "MatterScreen",
    "MigrationRun",
    "MigrationRunItem",
    "Notification",
    "Organization",
    "RequestReceipt",
    "ResourceLink",
    "Secret",
    "SecurityEvent",
    "SecurityEventKind",
    "StepAttempt",
    "TemplateStep",
    "Trigger",
    "TriggerFiring",
    "User",
    "WallHit",
    "WorkerHeartbeat",
    "WorkflowEvent",
    "WorkflowInstance",
    "WorkflowTemplate",
]
