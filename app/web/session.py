"""The auditor page's cookies: a signed session naming a token by its hash, and CSRF nonces.

The session cookie holds no token, only its SHA-256 and the session's CSRF nonce, signed with
SESSION_SECRET. The token itself is looked up on every request, so revoking it (or taking the
auditor role away) ends the session at the next click.
"""

import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.responses import Response

SESSION_COOKIE = "expense_bot_audit"
FORM_COOKIE = "expense_bot_audit_form"
COOKIE_PATH = "/audit"
# A working day: after that the auditor signs in again.
SESSION_SECONDS = 8 * 3600
FORM_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class PageSession:
    token_hash: str
    csrf: str


class PageCookies:
    def __init__(self, secret: str, *, secure: bool) -> None:
        # Development may run without SESSION_SECRET: a key of this process's own (production
        # refuses to start without one).
        key = secret or secrets.token_urlsafe(32)
        self._sessions = URLSafeTimedSerializer(key, salt="expense-bot/audit-page/session")
        self._forms = URLSafeTimedSerializer(key, salt="expense-bot/audit-page/form")
        self.secure = secure

    def _set(self, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=COOKIE_PATH,
            secure=self.secure,
            httponly=True,
            samesite="strict",
        )

    def clear(self, response: Response, name: str) -> None:
        response.delete_cookie(
            name, path=COOKIE_PATH, secure=self.secure, httponly=True, samesite="strict"
        )

    def start_session(self, response: Response, token_hash: str) -> None:
        value = self._sessions.dumps({"t": token_hash, "c": secrets.token_urlsafe(24)})
        self._set(response, SESSION_COOKIE, value, SESSION_SECONDS)
        self.clear(response, FORM_COOKIE)

    def session(self, cookie: str | None) -> PageSession | None:
        if not cookie:
            return None
        try:
            data = self._sessions.loads(cookie, max_age=SESSION_SECONDS)
        except BadSignature:  # also an expired one
            return None
        if not isinstance(data, dict) or not {"t", "c"} <= data.keys():
            return None
        return PageSession(str(data["t"]), str(data["c"]))

    def form_nonce(self, cookie: str | None) -> tuple[str, str | None]:
        """The sign-in form's CSRF nonce: the cookie's, or a new one with the cookie to set."""
        nonce = self._form_nonce(cookie)
        if nonce is not None:
            return nonce, None
        nonce = secrets.token_urlsafe(24)
        return nonce, self._forms.dumps(nonce)

    def set_form_cookie(self, response: Response, value: str) -> None:
        self._set(response, FORM_COOKIE, value, FORM_SECONDS)

    def _form_nonce(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            nonce = self._forms.loads(cookie, max_age=FORM_SECONDS)
        except BadSignature:
            return None
        return nonce if isinstance(nonce, str) else None

    def form_ok(self, cookie: str | None, submitted: str) -> bool:
        """The sign-in form came from our page: its nonce matches the signed cookie's."""
        nonce = self._form_nonce(cookie)
        return nonce is not None and hmac.compare_digest(nonce, submitted)


def same(expected: str, submitted: str) -> bool:
    return hmac.compare_digest(expected.encode(), submitted.encode())
