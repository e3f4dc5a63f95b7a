"""Dropbox Sign, through its official SDK: a signature request sent by email from a matter
document, a search that finds one we already sent (by the idempotency key in its
metadata), the signed PDF, and the callback check (an HMAC of the event with the firm's
API key). The API's address comes from DROPBOX_SIGN_API_BASE (empty: the SDK's own), so
the tests point it at a stand-in on loopback."""

import io
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import current_app

from webapp.engine.errors import Unauthenticated, Unavailable, Unprocessable

if TYPE_CHECKING:  # the SDK takes seconds to import: only the calls that need it load it
    from dropbox_sign.api import SignatureRequestApi
    from dropbox_sign.models import EventCallbackRequest

NAME = "dropbox_sign"
# What Dropbox Sign wants back from a callback, or it sends the event again.
CALLBACK_ANSWER = "Hello API Event Received"
CALLBACK_IGNORED = {"callback_test"}


@dataclass(frozen=True)
class SignatureRequest:
    title: str
    filename: str
    data: bytes
    signer_name: str
    signer_email: str
    metadata: dict[str, str]
    client_id: str | None = None


def _api(api_key: str) -> "SignatureRequestApi":
    from dropbox_sign import ApiClient, Configuration
    from dropbox_sign.api import SignatureRequestApi

    base = current_app.config.get("DROPBOX_SIGN_API_BASE") or ""
    configuration = Configuration(username=api_key, host=base.rstrip("/") or None)
    return SignatureRequestApi(ApiClient(configuration))


def _failure(error: Exception, doing: str) -> Exception:
    status = getattr(error, "status", None)
    if status in (401, 403):
        return Unprocessable(
            "Dropbox Sign refused the firm's DROPBOX_SIGN_API_KEY: an admin must check it in "
            "Admin → Secrets."
        )
    if isinstance(status, int) and 400 <= status < 500 and status != 409:
        return Unprocessable(f"Dropbox Sign refused {doing}: {_message(error)}")
    return Unavailable(f"Dropbox Sign did not answer {doing}. Try again in a moment.")


def _message(error: Exception) -> str:
    try:
        return str(json.loads(getattr(error, "body", "") or "{}")["error"]["error_msg"])
    except (ValueError, KeyError, TypeError):
        return "no reason given"


def _sdk_errors() -> tuple[type[Exception], ...]:
    from dropbox_sign.exceptions import ApiException, OpenApiException

    return (ApiException, OpenApiException, OSError)


def send(api_key: str, request: SignatureRequest) -> dict[str, str]:
    """Sends the document to the signer by email; the request's id and its page."""
    from dropbox_sign.models import SignatureRequestSendRequest, SubSignatureRequestSigner

    upload = io.BytesIO(request.data)
    upload.name = request.filename
    body = SignatureRequestSendRequest(
        title=request.title[:255],
        files=[upload],
        signers=[
            SubSignatureRequestSigner(
                name=request.signer_name, email_address=request.signer_email, order=0
            )
        ],
        metadata=request.metadata,
        client_id=request.client_id,
        test_mode=bool(current_app.config.get("DROPBOX_SIGN_TEST_MODE")),
    )
    try:
        sent = _api(api_key).signature_request_send(body)
    except _sdk_errors() as error:
        raise _failure(error, "the signature request") from None
    signature_request = sent.signature_request
    if not signature_request.signature_request_id:
        raise Unavailable("Dropbox Sign did not say which signature request it made.")
    return {
        "id": signature_request.signature_request_id,
        "url": signature_request.details_url or "",
    }


def find_sent(api_key: str, key: str) -> dict[str, str] | None:
    """A request we sent with this idempotency key (its metadata holds it), should a crash
    have lost our record of it: Dropbox Sign has no idempotency header, so we ask."""
    try:
        listed = _api(api_key).signature_request_list(query=key, page_size=20)
    except _sdk_errors() as error:
        raise _failure(error, "the search for an earlier request") from None
    for found in listed.signature_requests or []:
        if (found.metadata or {}).get("idempotencyKey") == key and found.signature_request_id:
            return {"id": found.signature_request_id, "url": found.details_url or ""}
    return None


def signed_pdf(api_key: str, request_id: str) -> bytes:
    """The signed document, one PDF with the audit trail Dropbox Sign appends."""
    try:
        content = _api(api_key).signature_request_files(request_id, file_type="pdf")
    except _sdk_errors() as error:
        raise _failure(error, "the signed document") from None
    data = content.read() if hasattr(content, "read") else content
    if not isinstance(data, bytes | bytearray) or not data:
        raise Unavailable("Dropbox Sign sent no signed document yet. It will call again.")
    return bytes(data)


def parse_callback(form_json: str | None, body: bytes) -> "EventCallbackRequest":
    """The event of a callback: Dropbox Sign posts it as the form field `json`."""
    from dropbox_sign.models import EventCallbackRequest
    from pydantic import ValidationError

    text = form_json if form_json is not None else body.decode("utf-8", "replace")
    try:
        return EventCallbackRequest.init(json.loads(text))
    except (ValueError, TypeError, ValidationError):
        # Without an event there is no hash to check: the sender is not known.
        raise Unauthenticated("The Dropbox Sign callback carries no signed event.") from None


def check_callback(api_key: str, event: "EventCallbackRequest") -> None:
    from dropbox_sign import EventCallbackHelper

    if not EventCallbackHelper.is_valid(api_key, event):
        raise Unauthenticated("The Dropbox Sign event hash does not match.")
