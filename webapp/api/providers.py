"""The firm's payment and e-signature providers (admins): what Admin → Providers shows
and saves, through the same service."""

from typing import Literal

from flask.typing import ResponseReturnValue
from flask_login import current_user
from pydantic import Field

from webapp.api.blueprint import api
from webapp.api.schemas import Schema
from webapp.api.serialize import respond
from webapp.api.spec import endpoint
from webapp.services import providers

TAG = "Providers"


class ProviderOptionOut(Schema):
    name: str
    label: str
    chosen: bool
    needs: list[str] = Field(description="the firm secrets this provider needs")
    missing_secrets: list[str] = Field(description="of those, the ones not added yet")


class ProvidersOut(Schema):
    payments: list[ProviderOptionOut]
    esign: list[ProviderOptionOut]


class ProvidersIn(Schema):
    payments: Literal["sandbox", "stripe"]
    esign: Literal["sandbox", "dropbox_sign"]


def providers_out() -> ProvidersOut:
    firm = providers.firm_providers(current_user)

    def options(found: list[providers.ProviderOption]) -> list[ProviderOptionOut]:
        return [
            ProviderOptionOut(
                name=o.choice.name,
                label=o.choice.label,
                chosen=o.chosen,
                needs=list(o.choice.needs),
                missing_secrets=o.missing,
            )
            for o in found
        ]

    return ProvidersOut(payments=options(firm.payments), esign=options(firm.esign))


@endpoint(
    api,
    "/providers",
    "GET",
    summary="The firm's payment and e-signature providers, which is chosen, and the "
    "secrets each still needs (admins)",
    tag=TAG,
    response=ProvidersOut,
)
def get_providers() -> ResponseReturnValue:
    return respond(providers_out())


@endpoint(
    api,
    "/providers",
    "PUT",
    summary="Choose the firm's payment and e-signature providers, for steps that name "
    "none (admins); a provider may be chosen before its secrets are added",
    tag=TAG,
    body=ProvidersIn,
    response=ProvidersOut,
)
def put_providers(body: ProvidersIn) -> ResponseReturnValue:
    providers.choose_providers(current_user, body.payments, body.esign)
    return respond(providers_out())
