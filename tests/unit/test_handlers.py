"""The five human action handlers: config validation, payload checks and outcomes. The
e-signature and payment providers are the one edge replaced by a recording stand-in."""

from decimal import Decimal
from typing import Any

import pytest

from webapp.engine.actions import ActionContext, get_handler
from webapp.engine.actions.payment import minor_units
from webapp.engine.actions.registry import human_types
from webapp.engine.errors import UnknownActionType, Unprocessable

HUMAN_TYPES = {
    "CHECKLIST",
    "APPROVAL_LAWYER",
    "SIGNATURE_CLIENT",
    "REQUEST_DOC_CLIENT",
    "PAYMENT_CLIENT",
}


def context(config: dict[str, Any], data: dict[str, Any] | None = None, providers: Any = None):
    return ActionContext(
        step_id=7, step_key="step", config=config, action_data=data or {}, providers=providers
    )


def fields_of(error: Unprocessable) -> set[str]:
    return {problem["field"] for problem in error.details}


def test_registry_knows_the_five_human_types_when_asked() -> None:
    assert set(human_types()) >= HUMAN_TYPES
    for action_type in HUMAN_TYPES:
        assert get_handler(action_type).type == action_type


def test_registry_refuses_an_unknown_type_with_the_known_ones_when_looked_up() -> None:
    with pytest.raises(UnknownActionType) as caught:
        get_handler("FAX_CLIENT")
    assert "FAX_CLIENT" in caught.value.message
    assert "CHECKLIST" in caught.value.message


@pytest.mark.parametrize(
    ("action_type", "config"),
    [
        ("CHECKLIST", {"items": ["a"], "colour": "red"}),
        ("APPROVAL_LAWYER", {"approver": "LAWYER"}),
        ("SIGNATURE_CLIENT", {"documentId": "x", "pages": 3}),
        ("REQUEST_DOC_CLIENT", {"requestText": "ID", "maxFiles": 2}),
        ("PAYMENT_CLIENT", {"amount": "10", "currency": "USD", "tip": 1}),
    ],
)
def test_config_refuses_unknown_fields_when_validated(action_type: str, config: dict) -> None:
    with pytest.raises(Unprocessable) as caught:
        get_handler(action_type).validate_config(config)
    assert caught.value.details, "the problem is listed field by field"


# ---- CHECKLIST ----------------------------------------------------------------------------


def test_checklist_config_trims_items_when_valid() -> None:
    config = get_handler("CHECKLIST").validate_config({"items": [" Search ", "Record"]})
    assert config == {"items": ["Search", "Record"]}


@pytest.mark.parametrize(
    "items", [[], ["a", " "], ["a", "a"], None], ids=["empty", "blank", "duplicate", "missing"]
)
def test_checklist_config_is_refused_when_items_are_not_usable(items: Any) -> None:
    with pytest.raises(Unprocessable) as caught:
        get_handler("CHECKLIST").validate_config({} if items is None else {"items": items})
    assert "items" in fields_of(caught.value)


def test_checklist_completes_when_every_item_is_ticked() -> None:
    outcome = get_handler("CHECKLIST").complete(
        context({"items": ["a", "b"]}), {"checkedItems": ["b", "a"]}
    )
    assert outcome.output == {"checkedItems": ["a", "b"]}
    assert outcome.action_data["checkedItems"] == ["a", "b"]


def test_checklist_refuses_completion_and_names_missing_items_when_one_is_unticked() -> None:
    with pytest.raises(Unprocessable) as caught:
        get_handler("CHECKLIST").complete(context({"items": ["a", "b"]}), {"checkedItems": ["a"]})
    assert caught.value.details == {"missing": ["b"], "unknown": []}


@pytest.mark.parametrize("payload", [{}, {"checkedItems": "a"}, {"checkedItems": [1]}])
def test_checklist_refuses_completion_when_checked_items_is_not_a_list_of_text(payload) -> None:
    with pytest.raises(Unprocessable):
        get_handler("CHECKLIST").complete(context({"items": ["a"]}), payload)


def test_checklist_tick_keeps_the_configured_order_when_items_are_ticked_and_unticked() -> None:
    handler = get_handler("CHECKLIST")
    ctx = context({"items": ["a", "b", "c"]}, {"checkedItems": ["c"]})
    data = handler.tick(ctx, "a", True)
    assert data["checkedItems"] == ["a", "c"]
    assert handler.tick(context(ctx.config, data), "c", False)["checkedItems"] == ["a"]
    with pytest.raises(Unprocessable):
        handler.tick(ctx, "z", True)


# ---- APPROVAL_LAWYER ----------------------------------------------------------------------


def test_approval_config_leaves_who_approves_to_the_step_when_no_role_is_given() -> None:
    assert get_handler("APPROVAL_LAWYER").validate_config({}) == {}


@pytest.mark.parametrize("role", ["PARTNER", "CLIENT", "PARALEGAL"])
def test_approval_config_is_refused_when_the_role_cannot_approve(role: str) -> None:
    with pytest.raises(Unprocessable) as caught:
        get_handler("APPROVAL_LAWYER").validate_config({"approverRole": role})
    assert "approverRole" in fields_of(caught.value)


@pytest.mark.parametrize("approved", [True, False])
def test_approval_records_the_decision_as_output_when_completed(approved: bool) -> None:
    outcome = get_handler("APPROVAL_LAWYER").complete(
        context({}), {"approved": approved, "comment": "ok"}
    )
    assert outcome.output == {"approved": approved, "comment": "ok"}


@pytest.mark.parametrize("payload", [{}, {"approved": "perhaps"}, {"approved": True, "comment": 5}])
def test_approval_refuses_completion_when_the_decision_is_missing_or_malformed(payload) -> None:
    with pytest.raises(Unprocessable, match="approved"):
        get_handler("APPROVAL_LAWYER").complete(context({}), payload)


# ---- SIGNATURE_CLIENT and PAYMENT_CLIENT (provider adapters recorded) ---------------------


class RecordingProviders:
    """Stands in for the provider adapters, the one edge the engine may not reach itself."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def esign(self, name: str) -> Any:
        providers = self

        class Esign:
            def open_session(self, step_id: int, document_id: str) -> dict[str, Any]:
                providers.calls.append(("esign", name, step_id, document_id))
                return {"sessionId": f"sig-{step_id}", "signUrl": "/sandbox/sign"}

        return Esign()

    def payments(self, name: str) -> Any:
        providers = self

        class Payments:
            def create_intent(self, step_id: int, amount: str, currency: str) -> dict[str, Any]:
                providers.calls.append(("payments", name, step_id, amount, currency))
                return {"intentId": f"pay-{step_id}", "payUrl": "/sandbox/pay"}

        return Payments()


def test_signature_config_needs_exactly_one_document_when_validated() -> None:
    handler = get_handler("SIGNATURE_CLIENT")
    for config in ({}, {"documentId": 3, "documentFrom": "draft"}, {"documentId": "letter"}):
        with pytest.raises(Unprocessable) as caught:
            handler.validate_config(config)
        assert "documentId" in fields_of(caught.value)
    assert handler.validate_config({"documentId": "12"}) == {"documentId": 12}
    assert handler.validate_config({"documentFrom": "draft-letter"}) == {
        "documentFrom": "draft-letter"
    }  # no provider: the firm's choice


class RecordingDocuments:
    """The matter's documents as the service gives them to a handler."""

    def __init__(self) -> None:
        self.asked: list[Any] = []

    def to_sign(self, config: dict[str, Any]) -> dict[str, Any]:
        self.asked.append(config)
        return {"documentId": 41, "name": "letter.pdf", "version": 1, "sha256": "aa"}

    def file_signed(self, data: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
        self.asked.append((data["document"]["documentId"], payload["event"]))
        return {"documentId": 42, "version": 2, "sha256": "bb", "originalSha256": "aa"}


def test_signature_start_opens_a_provider_session_on_the_document_when_started() -> None:
    providers, documents = RecordingProviders(), RecordingDocuments()
    ctx = context({"documentFrom": "draft", "provider": "sandbox"}, providers=providers)
    ctx.documents = documents
    outcome = get_handler("SIGNATURE_CLIENT").start(ctx)
    assert documents.asked == [{"documentFrom": "draft", "provider": "sandbox"}]
    assert providers.calls == [("esign", "sandbox", 7, "41")]
    assert outcome.external_ref == "sig-7"
    assert outcome.action_data["signUrl"] == "/sandbox/sign"
    assert outcome.action_data["document"]["name"] == "letter.pdf"


def test_signature_completes_with_the_signed_copy_only_when_the_provider_reports_signed() -> None:
    handler = get_handler("SIGNATURE_CLIENT")
    documents = RecordingDocuments()
    ctx = context({}, {"document": {"documentId": 41}})
    ctx.documents = documents
    outcome = handler.complete(ctx, {"event": "signed", "signedAt": "2026-01-02"})
    assert outcome.output == {
        "signed": True,
        "signedAt": "2026-01-02",
        "documentId": 42,
        "signedDocument": {"documentId": 42, "version": 2, "sha256": "bb", "originalSha256": "aa"},
        "signedDocumentId": 42,
        "signedSha256": "bb",
        "originalSha256": "aa",
    }
    with pytest.raises(Unprocessable):
        handler.complete(ctx, {"event": "declined"})
    assert documents.asked == [(41, "signed")]


def test_signature_keeps_the_copy_a_provider_brought_when_the_door_filed_it() -> None:
    documents = RecordingDocuments()
    filed = {"signedDocumentId": 9, "signedSha256": "cc", "originalSha256": "aa"}
    ctx = context({}, {"document": {"documentId": 41}, **filed})
    ctx.documents = documents
    outcome = get_handler("SIGNATURE_CLIENT").complete(ctx, {"event": "signed"})
    assert outcome.output["signedDocument"] == {
        "documentId": 9,
        "sha256": "cc",
        "originalSha256": "aa",
    }
    assert documents.asked == []  # nothing asked of the provider again


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"amount": "0", "currency": "USD"}, "amount"),
        ({"amount": "10.001", "currency": "USD"}, "amount"),
        ({"amount": "10", "currency": "us dollars"}, "currency"),
        ({"currency": "USD"}, "amount"),
    ],
)
def test_payment_config_is_refused_when_amount_or_currency_is_wrong(config, field) -> None:
    with pytest.raises(Unprocessable) as caught:
        get_handler("PAYMENT_CLIENT").validate_config(config)
    assert field in fields_of(caught.value)


def test_payment_start_creates_an_intent_for_the_amount_due_when_started() -> None:
    providers = RecordingProviders()
    config = get_handler("PAYMENT_CLIENT").validate_config({"amount": "1500", "currency": "EUR"})
    outcome = get_handler("PAYMENT_CLIENT").start(context(config, providers=providers))
    assert providers.calls == [("payments", None, 7, "1500", "EUR")]  # None: the firm's choice
    assert outcome.external_ref == "pay-7"


def test_payment_refuses_completion_when_the_amount_paid_differs() -> None:
    handler = get_handler("PAYMENT_CLIENT")
    config = {"amount": "1500.00", "currency": "USD"}
    with pytest.raises(Unprocessable, match="does not match"):
        handler.complete(
            context(config), {"event": "succeeded", "amount": "1499.99", "currency": "USD"}
        )
    with pytest.raises(Unprocessable):
        handler.complete(context(config), {"event": "failed", "amount": "1500.00"})
    paid = {"event": "succeeded", "amount": "1500", "currency": "usd"}
    outcome = handler.complete(context(config), paid)
    assert outcome.output == {"paid": True, "amount": "1500.00", "currency": "USD"}


@pytest.mark.parametrize("currency", ["JPY", None, "", 5])
def test_payment_refuses_completion_when_the_currency_paid_differs(currency) -> None:
    config = {"amount": "1500.00", "currency": "USD"}
    with pytest.raises(Unprocessable, match="currency"):
        get_handler("PAYMENT_CLIENT").complete(
            context(config), {"event": "succeeded", "amount": "1500.00", "currency": currency}
        )


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("1500.00", "USD", 150000),
        ("1500", "JPY", 1500),
        ("12.345", "KWD", 12345),
        ("0.5", "EUR", 50),
    ],
)
def test_amounts_are_counted_in_the_currency_s_smallest_unit(amount, currency, minor) -> None:
    assert minor_units(Decimal(amount), currency) == minor


def test_an_amount_finer_than_the_currency_allows_is_refused() -> None:
    with pytest.raises(Unprocessable, match="JPY"):
        minor_units(Decimal("1500.50"), "JPY")


# ---- REQUEST_DOC_CLIENT ---------------------------------------------------------------------


def test_document_request_config_needs_request_text_when_validated() -> None:
    with pytest.raises(Unprocessable) as caught:
        get_handler("REQUEST_DOC_CLIENT").validate_config({"acceptedTypes": ["pdf"]})
    assert "requestText" in fields_of(caught.value)


@pytest.mark.parametrize(
    ("kinds", "refused"),
    [
        ((".pdf",), None),
        ((".png",), None),
        ((".txt", ".text", ".csv", ".md"), "only pdf, png files are accepted"),
        ((".jpg", ".jpeg", ".jfif"), "only pdf, png files are accepted"),
    ],
)
def test_document_request_checks_the_sniffed_kind_against_its_list_when_a_file_arrives(
    kinds: tuple[str, ...], refused: str | None
) -> None:
    """The kind comes from the file's bytes (adapters/filetypes.py), never its name."""
    ctx = context({"requestText": "ID", "acceptedTypes": ["pdf", "image/png"]})
    problem = get_handler("REQUEST_DOC_CLIENT").check_file(ctx, "upload", kinds)
    if refused is None:
        assert problem is None
    else:
        assert refused in problem


def test_document_request_accepts_every_kind_when_no_list_is_given() -> None:
    ctx = context({"requestText": "ID"})
    handler = get_handler("REQUEST_DOC_CLIENT")
    assert handler.check_file(ctx, "notes.txt", (".txt",)) is None
    assert handler.check_file(ctx, "letter.docx", (".docx",)) is None


def test_document_request_completes_with_the_files_when_some_are_given() -> None:
    handler = get_handler("REQUEST_DOC_CLIENT")
    files = [{"documentId": 1, "name": "id.pdf", "sha256": "ab"}]
    outcome = handler.complete(
        context({"requestText": "ID"}, {"files": [{"documentId": 0}]}), {"files": files}
    )
    assert outcome.output == {"files": files}
    assert outcome.action_data["files"] == [{"documentId": 0}, *files]
    with pytest.raises(Unprocessable, match="at least one file"):
        handler.complete(context({"requestText": "ID"}), {"files": []})


# ---- the contract's defaults -----------------------------------------------------------------


def test_handler_fail_keeps_the_reason_when_a_step_fails() -> None:
    outcome = get_handler("CHECKLIST").fail(context({"items": ["a"]}, {"x": 1}), "client left")
    assert outcome.action_data == {"x": 1, "failureReason": "client left"}


def test_handler_config_schema_names_the_configured_fields_when_asked() -> None:
    schema = get_handler("REQUEST_DOC_CLIENT").config_schema()
    assert set(schema["properties"]) == {"requestText", "acceptedTypes"}
    assert schema["required"] == ["requestText"]
