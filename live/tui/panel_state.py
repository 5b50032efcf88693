"""The panel's starting knob values from a session's settings, so CLI flags win over the first preset."""
from __future__ import annotations

from live.presets import PRESET_CONTROLS, InstrumentState
from live.scales import MAX_LEVEL, SCALES, scale_levels


def levels_from_histogram(histogram) -> tuple[int, ...]:
    """12 weights -> fader levels 0..8, the largest weight at the top."""
    top = max(histogram)
    return tuple(round(v / top * MAX_LEVEL) for v in histogram)


def scale_of(levels: tuple) -> tuple[str, str]:
    """(scale name, root) if the levels are exactly a scale preset, else ('custom', 'C')."""
    from live.scales import NOTE_NAMES

    for name in SCALES:
        for root in NOTE_NAMES:
            if scale_levels(name, root) == levels:
                return name, root
    return "custom", "C"


def state_from_settings(settings, model: str | None) -> InstrumentState:
    """The panel's state for a session's live.settings.Settings (same table, same ranges: nothing to clamp)."""
    if settings.pitch_class_histogram:
        levels = levels_from_histogram(settings.pitch_class_histogram)
        scale, root = scale_of(levels)
    else:
        levels, scale, root = scale_levels("chromatic"), "chromatic", "C"
    knobs = {name: getattr(settings, name) for name in PRESET_CONTROLS}
    return InstrumentState(**knobs, root=root, scale=scale, pitch_levels=levels, model=model or "default")
