"""The panel's starting knob values from a session's config, so CLI flags win over the first preset."""
from __future__ import annotations

from live.presets import KNOB_RANGES, InstrumentState
from live.scales import MAX_LEVEL, SCALES, scale_levels


def _clamp(name: str, value: float) -> float:
    low, high, _ = KNOB_RANGES[name]
    return min(high, max(low, float(value)))


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


def state_from_session_config(config) -> InstrumentState:
    """InstrumentState for a live.session.SessionConfig (knob values clamped into the panel's ranges)."""
    nps = config.notes_per_second
    if config.pitch_class_histogram:
        levels = levels_from_histogram(config.pitch_class_histogram)
        scale, root = scale_of(levels)
    else:
        levels, scale, root = scale_levels("chromatic"), "chromatic", "C"
    return InstrumentState(
        notes_per_second=0.0 if nps is None else _clamp("notes_per_second", nps),
        temperature=_clamp("temperature", config.temperature),
        velocity_scale=_clamp("velocity_scale", config.velocity_scale),
        lookahead_ms=_clamp("lookahead_ms", config.lookahead_ms),
        conditioning=bool(config.conditioning), root=root, scale=scale, pitch_levels=levels,
        mode=config.mode,
        call_silence_s=_clamp("call_silence_s", config.call_silence_seconds),
        answer_s=0.0 if config.response_seconds is None else _clamp("answer_s", config.response_seconds),
        model=str(config.bundle_file) if config.bundle_file else "default")  # a path is a valid model name
