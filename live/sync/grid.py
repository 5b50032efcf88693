"""Grid values (--grid 1/16, 1/8t, 1/4.) in clock ticks, and the quantize amount (--quantize 0..100)."""
from __future__ import annotations

import re
from fractions import Fraction

from engine.errors import ConfigError

from .tempo import PPQN

_GRID = re.compile(r"^1/(\d+)([t.]?)$")


def grid_ticks(text: str) -> float:
    """'1/16' -> 6 ticks, '1/8t' -> 8, '1/8.' -> 18 (24 ticks per quarter note)."""
    match = _GRID.match(text.strip())
    if not match or int(match.group(1)) not in (1, 2, 4, 8, 16, 32, 64):
        raise ConfigError(f"--grid must be a note value like 1/16, 1/8t (triplet) or 1/8. (dotted), not {text!r}")
    length = Fraction(4, int(match.group(1))) * PPQN  # ticks
    length *= {"": 1, "t": Fraction(2, 3), ".": Fraction(3, 2)}[match.group(2)]
    return float(length)


def check_quantize(amount: float) -> float:
    if not 0 <= amount <= 100:
        raise ConfigError(f"--quantize must be 0..100 (percent pulled toward the grid), not {amount}")
    return float(amount)
