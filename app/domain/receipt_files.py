"""Which uploaded files are receipts: PDF, PNG, JPEG or HEIC, told by their content, not name."""

from enum import StrEnum

import filetype

# The bytes a type is read from; every signature we accept sits well inside them.
SNIFF_BYTES = 262


class ReceiptType(StrEnum):
    PDF = "application/pdf"
    PNG = "image/png"
    JPEG = "image/jpeg"
    HEIC = "image/heic"

    @property
    def extension(self) -> str:
        return self.value.rsplit("/", 1)[1].replace("jpeg", "jpg")

    @property
    def readable_by_vision(self) -> bool:
        """Vision models take PNG and JPEG; PDF and HEIC would need converting first."""
        return self in (ReceiptType.PNG, ReceiptType.JPEG)


def sniff(head: bytes) -> ReceiptType | None:
    """The receipt type the content's leading bytes show, or None for anything else."""
    mime = filetype.guess_mime(head[:SNIFF_BYTES])
    try:
        return None if mime is None else ReceiptType(mime)
    except ValueError:
        return None
