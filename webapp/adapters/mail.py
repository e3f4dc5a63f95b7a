"""Email over SMTP: the server, login and STARTTLS come from the app's settings."""

import smtplib
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from flask import current_app

from webapp.adapters import storage
from webapp.adapters.http import failure_reason
from webapp.engine.actions.automated import ActionFailed
from webapp.engine.text import one_line
from webapp.observability import metrics

SMTP_TIMEOUT = 30


def send_email(request: dict[str, Any]) -> dict[str, Any]:
    message = build_message(
        request["to"],
        request["subject"],
        request.get("body", ""),
        cc=request.get("cc") or [],
        reply_to=request.get("replyTo"),
    )
    attached = attach(message, request.get("attachments") or [])
    deliver(message)
    result = {
        "sent": True,
        "to": list(request["to"]),
        "cc": list(request.get("cc") or []),
        "subject": request["subject"],
        "messageId": message["Message-ID"],
    }
    return {**result, "attachments": attached} if attached else result


def attach(message: EmailMessage, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The matter's documents the step resolved (services/attachments.py), read from
    storage; what the step records of each."""
    attached = []
    for file in files:
        data = (storage.root() / file["storagePath"]).read_bytes()
        maintype, _, subtype = (file.get("contentType") or "").partition("/")
        if not maintype or not subtype:
            maintype, subtype = "application", "octet-stream"
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=file["name"])
        attached.append({"documentId": file["documentId"], "name": file["name"]})
    return attached


def build_message(
    to: list[str], subject: str, body: str, cc: list[str] | None = None, reply_to: str | None = None
) -> EmailMessage:
    """Header values are made to fit on one line: a title or a parameter written with a
    line break (before they were refused, or rendered from a template) cannot add a
    header, nor make the email fail."""
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = ", ".join(one_line(address) for address in to)
    if cc:
        message["Cc"] = ", ".join(one_line(address) for address in cc)
    if reply_to:
        message["Reply-To"] = one_line(reply_to)
    message["Subject"] = one_line(subject)
    message["Message-ID"] = make_msgid(domain="matterflow")
    message.set_content(body)
    return message


def deliver(message: EmailMessage) -> None:
    config = current_app.config
    try:
        with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=SMTP_TIMEOUT) as smtp:
            if config["SMTP_STARTTLS"]:
                smtp.starttls()
            if config["SMTP_USER"]:
                smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as error:
        metrics.email_sent(False)
        refused = ", ".join(sorted(error.recipients))
        raise ActionFailed(f"The mail server refused {refused}.") from None
    except (smtplib.SMTPException, OSError) as error:
        metrics.email_sent(False)
        raise ActionFailed(f"Could not send the email: {failure_reason(error)}", True) from None
    metrics.email_sent(True)
