"""Cleaning text people type, so what we store and show is what they meant and nothing more."""

import unicodedata

from app.domain.errors import InvalidInput

# Line breaks of every kind: a single-line field refuses them, so text cannot fake a new field.
LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")
# Marks that reorder how text is displayed (Trojan Source): stripped everywhere.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Kept in multi-line text; every other control character is stripped.
MULTILINE_KEEP = frozenset("\n\t")


def _refuse_unstorable(field: str, value: str) -> None:
    if "\x00" in value:
        raise InvalidInput(field, "must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(field, "contains an unpaired surrogate, which is not text") from None


def _keep(ch: str, multiline: bool) -> bool:
    if ch in BIDI_CONTROLS:
        return False
    if unicodedata.category(ch) == "Cc":
        return multiline and ch in MULTILINE_KEEP
    return True


def clean_text(
    field: str, value: str, *, max_length: int, multiline: bool = False, min_length: int = 1
) -> str:
    """NFC, no control or bidi-override characters, trimmed; lengths are checked after that."""
    _refuse_unstorable(field, value)
    if multiline:
        value = value.replace("\r\n", "\n")
        value = "".join("\n" if ch in LINE_BREAKS else ch for ch in value)
    elif any(ch in LINE_BREAKS for ch in value):
        raise InvalidInput(field, "must be a single line")
    kept = "".join(ch for ch in value if _keep(ch, multiline))
    cleaned = unicodedata.normalize("NFC", kept).strip()
    if len(cleaned) < min_length:
        raise InvalidInput(field, "must not be empty" if min_length == 1 else "is too short")
    if len(cleaned) > max_length:
        raise InvalidInput(field, f"must be at most {max_length} characters")
    return cleaned
