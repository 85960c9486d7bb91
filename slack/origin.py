"""Who a Slack request comes from: its workspace, app and organisation must be ours."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class SlackOrigin:
    """The ids we accept; an empty id is not checked (development only: production needs two)."""

    team_id: str = ""
    app_id: str = ""
    enterprise_id: str = ""

    def mismatch(
        self, *, team_id: str | None, app_id: str | None, enterprise_id: str | None
    ) -> str | None:
        """Why a request does not come from our app in our workspace, or None."""
        expected = (
            ("team_id", self.team_id, team_id),
            ("api_app_id", self.app_id, app_id),
            ("enterprise_id", self.enterprise_id, enterprise_id),
        )
        for name, want, got in expected:
            if want and got != want:
                return f"{name} {got!r} is not this app's {want!r}"
        return None


def claimed_app_id(body: dict[str, Any]) -> str | None:
    value = body.get("api_app_id")
    return value if isinstance(value, str) else None
