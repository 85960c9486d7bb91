"""The sandbox's Home tab and user switcher: views.publish is strict, and the page shows the tab."""

from collections.abc import Mapping

from fastapi.testclient import TestClient

from slack.home_view import OwnItem, PendingItem, home_view
from slack.sandbox.app import create_sandbox_app

TOKEN = "xoxb-sandbox-home-test"
EXPENSE_ID = "6f1c1f0e-8b4c-4d7e-9a57-1f0d2f9f6a11"


def sandbox() -> TestClient:
    app = create_sandbox_app(bot_token=TOKEN, signing_secret="s" * 32, events_url="http://unused")
    return TestClient(app)


def publish(client: TestClient, user: str, view: Mapping[str, object]) -> dict[str, object]:
    response = client.post(
        "/api/views.publish",
        json={"user_id": user, "view": view},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    return dict(response.json())


def test_views_publish_takes_a_home_view_and_refuses_anything_else() -> None:
    client = sandbox()
    item = PendingItem(EXPENSE_ID, 0, "any approver", "Alice", "9.00", "USD", "Cafe", "meals")
    assert publish(client, "U0BOB", home_view([item], []))["ok"] is True
    assert publish(client, "U0BOB", {"type": "modal", "blocks": []})["error"] == "invalid_arguments"
    too_many = {"type": "home", "blocks": [{"type": "divider"}] * 101}
    assert publish(client, "U0BOB", too_many)["error"] == "invalid_arguments"
    assert client.get("/_state").json()["homes"]["U0BOB"]["type"] == "home"


def test_the_page_shows_the_home_tab_of_whoever_you_act_as() -> None:
    client = sandbox()
    item = PendingItem(EXPENSE_ID, 0, "any approver", "Alice", "9.00", "USD", "Cafe", "meals")
    publish(client, "U0CAROL", home_view([item], [OwnItem("5.00", "USD", "Bar", "approved", "x")]))
    page = client.get("/", params={"as": "U0CAROL", "tab": "home"}).text
    assert 'action="ui/home_click"' in page
    assert "Ask a question" in page
    assert "<option selected>U0CAROL</option>" in page
    assert "<option>U0ALICE</option>" in page  # the switcher offers the demo people
    other = client.get("/", params={"as": "U0BOB", "tab": "home"}).text
    assert "has not published a Home tab for you yet" in other
