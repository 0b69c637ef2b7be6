"""Counts as inspectors write them: 2, 两, 三, 十二, ２ (and never ², ② or ٣)."""

from __future__ import annotations

import unicodedata

_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
NUMERAL_CHARS = "".join(_DIGITS) + "十百"
ASCII_DIGITS = "0123456789"
FULL_WIDTH_DIGITS = "０１２３４５６７８９"


def parse_count(text: str) -> int | None:
    """The number written in digits 0-9 or Chinese numerals, or None if it is not one."""
    if not text:
        return None
    if all(ch in ASCII_DIGITS for ch in text):  # not str.isdigit: it takes ² and ٣ too
        return int(text)
    if any(ch not in NUMERAL_CHARS for ch in text):
        return None
    total, current = 0, 0
    for ch in text:
        if ch == "百":
            total += (current or 1) * 100
            current = 0
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = current * 10 + _DIGITS[ch]
    return total + current


def lookalike_digit(text: str) -> str:
    """The first character that reads as a digit but is none of 0-9 or ０-９ ('' if none).

    Superscripts, subscripts, circled and other scripts' digits: NFKC would turn ² into 2,
    so they are caught before the text is normalised.
    """
    for ch in text:
        if ch in ASCII_DIGITS or ch in FULL_WIDTH_DIGITS:
            continue
        folded = unicodedata.normalize("NFKC", ch)
        if unicodedata.category(ch) == "Nd" or any(c in ASCII_DIGITS for c in folded):
            return ch
    return ""
