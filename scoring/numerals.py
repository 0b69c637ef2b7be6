"""Counts as inspectors write them: 2, 两, 三, 十二, ２."""

from __future__ import annotations

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


def parse_count(text: str) -> int | None:
    """The number written in Arabic or Chinese numerals, or None if it is not one."""
    if not text:
        return None
    if text.isascii() and text.isdigit():
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
