import re
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, field_validator

from webapp.engine.actions.base import ActionConfig, ActionContext, ActionHandler, Category, Outcome
from webapp.engine.actions.registry import register
from webapp.engine.errors import Unprocessable
from webapp.engine.roles import Role

_GROUPED = re.compile(r"^\d{1,3}(?:[.,]\d{3})+$")
# ISO 4217 currencies without a minor unit, and those with three decimals, as payment
# providers count them (every other currency has two).
ZERO_DECIMAL = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
THREE_DECIMAL = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])


def decimal_places(currency: str) -> int:
    code = currency.upper()
    return 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2


def from_minor_units(amount: int, currency: str) -> Decimal:
    """A provider's smallest-unit count as an amount: 150000 USD -> 1500.00."""
    return Decimal(int(amount)).scaleb(-decimal_places(currency))


def minor_units(amount: Decimal, currency: str) -> int:
    """The amount in the currency's smallest unit, as providers charge it: 1500.00 USD ->
    150000, 1500 JPY -> 1500. An amount finer than the currency allows is refused."""
    code = currency.upper()
    places = decimal_places(code)
    scaled = Decimal(amount).scaleb(places)
    if scaled != scaled.to_integral_value():
        raise Unprocessable(f"{amount} {code} is finer than {code} allows ({places} decimals).")
    return int(scaled)


def normalize_amount(value: Any) -> Any:
    """An amount as people type it, as a plain decimal string. The separator followed by
    the last one or two digits is the decimal point ("500,00" and "500.00" -> "500.00");
    with both "." and "," the rightmost is the decimal point and the other groups
    thousands ("1.234,50" and "1,234.50" -> "1234.50"); a lone separator before three
    digits groups thousands when it is a comma ("1,234" -> "1234") and is left to fail
    the two-decimal rule when it is a point ("1.234"). Spaces and apostrophes between
    digits group thousands too ("1 234,50", "1'234.50")."""
    if not isinstance(value, str):
        return value
    text = re.sub(r"[\s'\u00a0\u202f]", "", value)
    if "," in text and "." in text:
        decimal = "," if text.rfind(",") > text.rfind(".") else "."
        grouping = "." if decimal == "," else ","
        return text.replace(grouping, "").replace(decimal, ".")
    if "," in text:
        if _GROUPED.match(text):
            return text.replace(",", "")
        return text.replace(",", ".") if text.count(",") == 1 else text
    if text.count(".") > 1 and _GROUPED.match(text):
        return text.replace(".", "")
    return text


class PaymentConfig(ActionConfig):
    amount: Decimal = Field(
        gt=0, max_digits=12, decimal_places=2, description="Amount due, e.g. 500.00 or 500,00"
    )
    currency: str = Field(description="ISO 4217 code, e.g. EUR or USD (any case)")
    provider: Literal["sandbox", "stripe"] | None = Field(
        default=None,
        description="Payment provider (sandbox or stripe); empty: the firm's choice in Admin",
    )

    @field_validator("amount", mode="before")
    @classmethod
    def amount_as_typed(cls, value: Any) -> Any:
        return normalize_amount(value)

    @field_validator("currency")
    @classmethod
    def currency_code(cls, value: str) -> str:
        code = value.strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", code):
            raise ValueError(
                f"{value!r} is not a currency code: write three letters such as EUR or USD"
            )
        return code


@register
class PaymentHandler(ActionHandler):
    type = "PAYMENT_CLIENT"
    category = Category.HUMAN
    label = "Client payment"
    description = "The client pays through the payment provider."
    Config = PaymentConfig
    example = {"amount": "1500.00", "currency": "EUR"}
    roles = (Role.CLIENT,)
    performed_by = "A client payment is made by the client"
    completes_by_webhook = True

    def start(self, ctx: ActionContext) -> Outcome:
        """`ctx.providers` resolves an empty provider to the firm's choice and says which
        it used (services/providers.py)."""
        intent = ctx.providers.payments(ctx.config.get("provider")).create_intent(
            ctx.step_id, str(ctx.config["amount"]), ctx.config["currency"]
        )
        data = {**ctx.action_data, **intent}
        return Outcome(action_data=data, external_ref=intent["intentId"])

    def complete(self, ctx: ActionContext, payload: dict[str, Any]) -> Outcome:
        if payload.get("event") != "succeeded":
            raise Unprocessable("The provider did not report a successful payment.", payload)
        if not paid_as_asked(payload, ctx.config):
            raise Unprocessable(
                "The amount or currency paid does not match what the step asked for.", payload
            )
        output = {
            "paid": True,
            "amount": str(ctx.config["amount"]),
            "currency": ctx.config["currency"],
        }
        return Outcome(action_data={**ctx.action_data, **output}, output=output)


def paid_as_asked(payload: dict[str, Any], config: dict[str, Any]) -> bool:
    """The provider's amount and currency are exactly the step's: a payment of the right
    number in another currency is not the payment asked for."""
    currency = payload.get("currency")
    if not isinstance(currency, str) or currency.upper() != str(config["currency"]).upper():
        return False
    try:
        return Decimal(str(payload.get("amount"))) == Decimal(str(config["amount"]))
    except ArithmeticError:
        return False
