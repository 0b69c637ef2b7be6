"""Points are Decimal in the code and integer hundredths in the database."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

HUNDRED = Decimal(100)
CENT = Decimal("0.01")


def to_cp(points: Decimal) -> int:
    """Decimal points → integer hundredths (exact for the plan's 0.5 steps)."""
    return int((points * HUNDRED).to_integral_value(rounding=ROUND_HALF_UP))


def from_cp(cp: int | None) -> Decimal:
    """Integer hundredths → Decimal points, normalised to at most two places."""
    value = (Decimal(cp or 0) / HUNDRED).quantize(CENT)
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return (
        value.quantize(Decimal("0.1")) if value * 10 == (value * 10).to_integral_value() else value
    )


def fmt(points: Decimal) -> str:
    """Points for people: 14.5, 15, 0.5 (no trailing zeros)."""
    text = f"{points:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
