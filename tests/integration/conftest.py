import pytest

from tests.integration.engine_support import Firm, make_firm


@pytest.fixture
def firm(make_org, make_user, make_matter, api_as) -> Firm:
    """A lawyer owning a matter, with an API client (a module may ask for more people)."""
    return make_firm(make_org, make_user, make_matter, api_as)


# The trigger tests' fixtures: an injected clock and a firm with an admin and a template.
# The security tests' app with rate limits switched on (the suite's apps run without them).
# The provider tests' stand-ins of Stripe and Dropbox Sign, and a firm whose client pays
# and signs through them.
from tests.integration.provider_support import (  # noqa: E402, F401
    client_firm,
    dropbox_api,
    dropbox_firm,
    provider,
    stripe_api,
    stripe_firm,
)
from tests.integration.security_support import limited  # noqa: E402, F401
from tests.integration.trigger_support import clock, tfirm  # noqa: E402, F401
