import pytest

from tests.integration.engine_support import Firm, make_firm


@pytest.fixture
def firm(make_org, make_user, make_matter, api_as) -> Firm:
    """A lawyer owning a matter, with an API client (a module may ask for more people)."""
    return make_firm(make_org, make_user, make_matter, api_as)
