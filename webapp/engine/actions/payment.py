from decimal import Decimal
from typing import Any

from pydantic import Field

from webapp.engine.actions.base import ActionConfig, ActionContext, ActionHandler, Outcome
from webapp.engine.actions.registry import register
from webapp.engine.errors import Unprocessable


class PaymentConfig(ActionConfig):
    amount: Decimal = Field(gt=0, max_digits=12, decimal_places=2, description="Amount due")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. USD")
    provider: str = Field(default="sandbox", description="Payment provider")


@register
class PaymentHandler(ActionHandler):
    type = "PAYMENT_CLIENT"
    label = "Client payment"
    description = "The client pays through the payment provider."
    Config = PaymentConfig
    completes_by_webhook = True

    def start(self, ctx: ActionContext) -> Outcome:
        provider = ctx.config.get("provider", "sandbox")
        intent = ctx.providers.payments(provider).create_intent(
            ctx.step_id, str(ctx.config["amount"]), ctx.config["currency"]
        )
        data = {**ctx.action_data, "provider": provider, **intent}
        return Outcome(action_data=data, external_ref=intent["intentId"])

    def complete(self, ctx: ActionContext, payload: dict[str, Any]) -> Outcome:
        if payload.get("event") != "succeeded":
            raise Unprocessable("The provider did not report a successful payment.", payload)
        if Decimal(str(payload.get("amount"))) != Decimal(str(ctx.config["amount"])):
            raise Unprocessable("The amount paid does not match the amount due.", payload)
        output = {
            "paid": True,
            "amount": str(ctx.config["amount"]),
            "currency": ctx.config["currency"],
        }
        return Outcome(action_data={**ctx.action_data, **output}, output=output)
