"""Cleaning typed text: NFC, no control or bidi characters, single lines, storable characters."""

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.errors import InvalidInput
from app.domain.text import BIDI_CONTROLS, LINE_BREAKS, clean_text


def test_nfc_and_trimmed() -> None:
    decomposed = "Cafe\u0301 du Monde  "
    assert clean_text("merchant", decomposed, max_length=200) == "Café du Monde"


def test_controls_and_bidi_overrides_are_stripped() -> None:
    # "Trojan Source": an RLO that would show the amount reversed on a card.
    assert clean_text("merchant", "Rail\u202eoC\u202c\x07 Co", max_length=200) == "RailoC Co"
    assert clean_text("description", "a\tb\x1bc\u2066d", max_length=20, multiline=True) == "a\tbcd"


def test_single_line_fields_refuse_every_line_break() -> None:
    for brk in sorted(LINE_BREAKS):
        with pytest.raises(InvalidInput, match="single line") as refused:
            clean_text("merchant", f"Rail{brk}*Amount:* 1", max_length=200)
        assert refused.value.field == "merchant"


def test_multiline_text_keeps_lines_as_newlines() -> None:
    text = "line one\r\nline two\u2028line three\rfour"
    cleaned = clean_text("description", text, max_length=100, multiline=True)
    assert cleaned == "line one\nline two\nline three\nfour"


@pytest.mark.parametrize("value", ["a\x00b", "a\ud800b", "\udfff"])
def test_nul_and_lone_surrogates_are_refused(value: str) -> None:
    with pytest.raises(InvalidInput):
        clean_text("description", value, max_length=100, multiline=True)


def test_lengths_are_checked_after_cleaning() -> None:
    assert clean_text("merchant", "a" * 10 + "\u202e" * 50, max_length=10) == "a" * 10
    with pytest.raises(InvalidInput, match="empty"):
        clean_text("merchant", " \u200e\x07 ", max_length=10)
    with pytest.raises(InvalidInput, match="at most 3"):
        clean_text("merchant", "abcd", max_length=3)


@given(st.text(max_size=60))
def test_whatever_is_typed_the_result_is_clean_or_refused(value: str) -> None:
    try:
        cleaned = clean_text("merchant", value, max_length=60)
    except InvalidInput:
        return
    assert cleaned == cleaned.strip()
    assert unicodedata.is_normalized("NFC", cleaned)
    assert not any(unicodedata.category(ch) == "Cc" for ch in cleaned)
    assert not any(ch in BIDI_CONTROLS or ch in LINE_BREAKS for ch in cleaned)
    cleaned.encode("utf-8")  # storable
