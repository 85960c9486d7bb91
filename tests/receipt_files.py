"""Receipt files for tests: real signatures with unique bytes, optionally carrying the figures
the OpenAI stand-in "reads" off them (it cannot read pixels)."""

import json
import secrets
from typing import Any

from bench.standins.openai_standin import RECEIPT_FIGURES_MARKER

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
JPEG_SIGNATURE = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"


def png(figures: dict[str, Any] | None = None, *, size: int = 64) -> bytes:
    """A PNG's leading bytes, then random ones (each file differs), then the figures if any."""
    data = PNG_SIGNATURE + secrets.token_bytes(size)
    if figures is not None:
        data += RECEIPT_FIGURES_MARKER + json.dumps(figures).encode()
    return data


def pdf() -> bytes:
    return b"%PDF-1.7\n%" + secrets.token_hex(16).encode() + b"\n%%EOF\n"
