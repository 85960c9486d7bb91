"""Signed but hostile Slack payloads of every shape: a 2xx, 4xx or 403, never a 500."""

import json
from typing import Any
from urllib.parse import urlencode

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from slack.sandbox.payloads import APP_ID, TEAM
from tests.api.helpers import signed_raw

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
ids = st.one_of(st.just({"id": "U0X"}), st.just({"id": TEAM["id"]}), json_values)
payloads = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["block_actions", "view_submission", "view_closed", "shortcut"])
        | json_values,
        "team": st.just(TEAM) | ids,
        "user": ids,
        "api_app_id": st.just(APP_ID) | json_values,
        "enterprise": st.none() | ids,
        "channel": ids,
        "trigger_id": st.text(max_size=5) | json_values,
        "actions": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "action_id": st.sampled_from(["expense_approve", "expense_reject"])
                    | json_values,
                    "type": st.just("button") | json_values,
                    "block_id": json_values,
                    "value": st.just('{"e":"00000000-0000-0000-0000-000000000000","s":0}')
                    | json_values,
                },
            ),
            max_size=2,
        )
        | json_values,
        "view": st.fixed_dictionaries(
            {},
            optional={
                "type": st.just("modal") | json_values,
                "callback_id": st.sampled_from(["expense_reject_modal", "x"]) | json_values,
                "state": st.just({"values": {}}) | json_values,
                "private_metadata": json_values,
            },
        )
        | json_values,
    },
)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payload=payloads | json_values, as_command=st.booleans())
def test_signed_hostile_payloads_are_never_a_server_error(
    client: TestClient, payload: Any, as_command: bool
) -> None:
    if as_command and isinstance(payload, dict):
        # Plain form fields, as slash commands arrive.
        fields = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in payload.items()}
        body = urlencode(fields).encode()
    else:
        body = urlencode({"payload": json.dumps(payload)}).encode()
    response = client.post("/slack/events", content=body, headers=signed_raw(body))
    event(f"answer {response.status_code}")
    assert response.status_code < 500, (payload, response.text)
