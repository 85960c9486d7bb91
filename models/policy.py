"""Every policy text a decision was made under, kept the first time a decision uses it."""

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class PolicyVersion(Base):
    """One policy file's exact text, known by its SHA-256; `version` is what the file declared.

    Keyed on the hash, not the version: a file edited without bumping its version is a second row.
    """

    __tablename__ = "policy_versions"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[str] = mapped_column(String(64), index=True)
    text: Mapped[str] = mapped_column(Text)
    first_used_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
