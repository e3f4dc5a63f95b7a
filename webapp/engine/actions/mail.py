from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from pydantic import BeforeValidator, Field, field_validator

from webapp.engine.actions.automated import AutomatedHandler, Call, RunContext
from webapp.engine.actions.base import ActionConfig, Category
from webapp.engine.actions.registry import register
from webapp.engine.definition import RetryPolicy
from webapp.engine.templating import is_template
from webapp.engine.text import has_line_break, one_line_problem


def _addresses(values: list[str]) -> list[str]:
    """Syntax only, no DNS lookup; `.test` domains pass, as a firm's staging and demo
    people use them."""
    for value in values:
        if has_line_break(value):
            raise ValueError(one_line_problem("An email address"))
        if is_template(value):
            continue
        try:
            validate_email(value, check_deliverability=False, test_environment=True)
        except EmailNotValidError as error:
            raise ValueError(f"{value!r} is not a valid email address: {error}") from None
    return values


def _id_as_text(value: object) -> object:
    """A document id may be sent as a number; it is kept as text, as a template gives it."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) else value


# A document of the matter: its id, or a template that gives one when the step is ready.
DocumentRef = Annotated[str, BeforeValidator(_id_as_text), Field(min_length=1, max_length=500)]


class EmailConfig(ActionConfig):
    to: list[str] = Field(min_length=1, max_length=50, description="Recipients")
    cc: list[str] = Field(default_factory=list, max_length=50, description="Copied")
    subject: str = Field(min_length=1, max_length=500, description="Subject line")
    body: str = Field(default="", max_length=100_000, description="Plain-text body")
    reply_to: str | None = Field(default=None, alias="replyTo", description="Reply address")
    # None, not an empty list: a config without attachments reads as it was written (an
    # exported template from before attachments imports and exports unchanged).
    attachments: list[DocumentRef] | None = Field(
        default=None,
        max_length=20,
        description="Documents of the matter to attach, one a line: ids, or templates "
        "giving one (e.g. {{ steps.letter.documentId }})",
    )

    @field_validator("to", "cc")
    @classmethod
    def addresses_are_valid(cls, values: list[str]) -> list[str]:
        return _addresses(values)

    @field_validator("subject")
    @classmethod
    def subject_is_one_line(cls, value: str) -> str:
        if has_line_break(value):
            raise ValueError(one_line_problem("The subject"))
        return value

    @field_validator("attachments")
    @classmethod
    def attachments_are_documents(cls, values: list[str] | None) -> list[str] | None:
        for value in values or []:
            if not is_template(value) and not (value.isdigit() and int(value) > 0):
                raise ValueError(f"{value!r} is not a document id")
        return values

    @field_validator("reply_to")
    @classmethod
    def reply_to_is_valid(cls, value: str | None) -> str | None:
        return _addresses([value])[0] if value else value


@register
class EmailHandler(AutomatedHandler):
    type = "core.email"
    category = Category.NOTIFICATION
    label = "Email"
    description = "Sends a plain-text email over SMTP, with documents of the matter attached."
    Config = EmailConfig
    example = {
        "to": ["{{ context.clientEmail }}"],
        "cc": [],
        "subject": "Your matter {{ matter.reference }}",
        "body": "Dear client,\n\nWe have opened your matter.",
        "replyTo": "intake@firm.example",
        "attachments": ["{{ steps.letter.documentId }}"],
    }
    default_retry = RetryPolicy(max_attempts=3, backoff_seconds=30, backoff_factor=2)

    def run(self, ctx: RunContext) -> Call:
        return Call("email", dict(ctx.config))
