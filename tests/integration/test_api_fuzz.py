"""Generated requests against every operation of the OpenAPI document: whatever the
input, the API answers with a clear client error or success, never a server error."""

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from webapp.engine.roles import Role
from webapp.services.auth import create_token

FUZZ = settings(
    max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


def check_operation(operation: Any, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy())
    @FUZZ
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    run()


def test_api_never_answers_a_server_error_when_given_generated_input(app, demo) -> None:
    headers = {"Authorization": f"Bearer {create_token(demo.user(Role.LAWYER).email)}"}
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    for operation in operations:
        check_operation(operation, headers)
