"""Expiring signed links to an uploaded receipt, so a card never shows where files are stored."""

import hashlib

from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.settings import Settings

# Long enough for a multi-step approval; a redrawn card carries a fresh link.
LINK_SECONDS = 7 * 24 * 3600
SALT = "expense-bot/receipt-link"


class ReceiptLinks:
    def __init__(self, settings: Settings) -> None:
        secret = settings.session_secret.get_secret_value()
        if not secret:
            # Development only (production refuses to start without SESSION_SECRET): the API and
            # the worker must agree on the key, so it is derived rather than random per process.
            secret = hashlib.sha256(f"dev-receipt-links:{settings.data_dir}".encode()).hexdigest()
        self._signer = URLSafeTimedSerializer(secret, salt=SALT)
        self._base = settings.public_base_url.rstrip("/")

    def url(self, sha256: str) -> str:
        return f"{self._base}/receipts/{sha256}?sig={self._signer.dumps(sha256)}"

    def verify(self, sha256: str, sig: str, max_age: int = LINK_SECONDS) -> bool:
        """True only for an unexpired signature made for this very receipt."""
        try:
            signed = self._signer.loads(sig, max_age=max_age)
        except BadSignature:  # SignatureExpired is one
            return False
        return bool(signed == sha256)
