"""A tiny synthetic playing style for the fine-tuning tests and bench: whole-tone melodies at 4 notes/s.

write_style_takes(folder, minutes) writes recorder-format takes (a 'player' track in the style, a 'model'
track of chromatic noise that must be ignored); style_of(notes) and sample_style(loaded) measure how close
notes are to the style: the share of notes in one whole-tone scale (the larger of the two: transposition
augmentation moves a melody between them) and notes per second.
"""
from __future__ import annotations

from pathlib import Path

import mido
import numpy as np

from engine.events import Event
from engine.generation import ControlSchedule, GenerationOptions, generate
from engine.performance import Performance
from live.recorder import Recorder

NOTES_PER_SECOND = 4.0
WHOLE_TONE = (0, 2, 4, 6, 8, 10)


def _add_note(rec: Recorder, part: str, start: float, end: float, pitch: int, velocity: int) -> None:
    rec.add(part, start, mido.Message("note_on", note=pitch, velocity=velocity))
    rec.add(part, end, mido.Message("note_off", note=pitch))


def write_style_takes(folder, minutes: float, takes: int = 6, seed: int = 0) -> list:
    """`takes` takes splitting `minutes` of whole-tone playing (each starting after a few seconds' silence)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    seconds = minutes * 60 / takes
    paths = []
    for t in range(takes):
        rec = Recorder(folder / f"take-{t:02d}.mid")
        lead = 2.0 + rng.random()
        pitch = 60
        for i in range(int(seconds * NOTES_PER_SECOND)):
            pitch = int(np.clip(pitch + 2 * rng.choice([-2, -1, 1, 1, 2]), 48, 84))
            start = lead + i / NOTES_PER_SECOND
            _add_note(rec, "player", start, start + 0.2, pitch, int(rng.integers(60, 100)))
            if i % 3 == 0:
                _add_note(rec, "model", start + 0.1, start + 0.6, int(rng.integers(30, 100)), 80)
        paths.append(Path(rec.save()))
    return paths


def style_of(pitches: np.ndarray, seconds: float) -> tuple[float, float]:
    """(whole-tone share, notes per second)."""
    if not len(pitches) or seconds <= 0:
        return 0.0, 0.0
    in_scale = np.isin(np.asarray(pitches) % 12, WHOLE_TONE)
    return float(max(in_scale.mean(), 1 - in_scale.mean())), len(pitches) / seconds


def sample_style(loaded, seconds: float = 20.0, outputs: int = 4, seed: int = 0) -> tuple[float, float]:
    """The style of unconditioned samples (an optionally conditioned model plays without its controls)."""
    config = loaded.config
    steps = int(seconds * 100)
    schedule = ControlSchedule(config, steps, disable_conditioning=True if config.optional_conditioning else None)
    primer = Performance(config.vocab.encode_all([Event("time_shift", 1)]), config.num_velocity_bins)
    results = generate(loaded.stepper(), primer,
                       GenerationOptions(num_steps=steps, seed=seed), schedule, outputs)
    shares, rates = zip(*(style_of(r.performance.to_notes().pitch, seconds) for r in results))
    return float(np.mean(shares)), float(np.mean(rates))
