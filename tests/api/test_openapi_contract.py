"""schemathesis over the OpenAPI spec, against the production app on PostgreSQL."""

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok

from tests.api.conftest import AppFactory
from tests.api.helpers import Person

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]
EXAMPLES_PER_OPERATION = 100


@pytest.mark.slow
@pytest.mark.parametrize("role", ["employee", "auditor", "admin"])
def test_every_answer_is_declared_and_never_a_server_error(
    make_client: AppFactory, person: Callable[..., Person], role: str
) -> None:
    app = make_client().app
    # Production serves no /openapi.json; the schema comes from the app object itself.
    schema = schemathesis.openapi.from_dict(app.openapi())  # type: ignore[attr-defined]
    schema.app = app
    caller = person(*([] if role == "employee" else [role]))
    statuses: Counter[tuple[str, int]] = Counter()
    results = list(schema.get_all_operations())
    assert all(isinstance(r, Ok) for r in results), "the schema has invalid operations"
    operations = [r.ok() for r in results if isinstance(r, Ok)]
    assert {op.label for op in operations} >= {
        "POST /expenses",
        "GET /expenses/{expense_id}",
        "GET /audit/events",
    }
    for operation in operations:
        # Valid-by-schema data, schema-violating data, and the documented examples.
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
            *operation.get_strategies_from_examples(),
        )

        @given(case=cases)
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def exercise(case: Any) -> None:
            response = case.call_and_validate(headers=caller.auth, checks=CHECKS)
            statuses[(case.operation.label, response.status_code)] += 1

        exercise()
    # The counts are reported for the record; run with -s to see them.
    calls = f"{sum(statuses.values())} calls: {dict(sorted(statuses.items()))}"
    print(f"\nschemathesis as {role}: {calls}")  # noqa: T201
    assert not [key for key in statuses if key[1] >= 500]
    assert sum(statuses.values()) >= len(operations) * 10
