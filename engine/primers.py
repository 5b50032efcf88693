"""Primers for generation, as Magenta's generate script builds them: a chord, a melody, or a MIDI file."""
from __future__ import annotations

from .errors import ConfigError
from .events import STEPS_PER_SECOND
from .midi_file import read_midi
from .notes import NoteList
from .performance import Performance, time_shift_ids

PRIMER_VELOCITY = 100
CHORD_SECONDS = 0.5  # 60 / 120 qpm: one quarter note
MELODY_STEP_SECONDS = 0.125  # 120 qpm, 4 steps per quarter
MELODY_HOLD, MELODY_OFF = -2, -1


def _check_pitches(values, flag: str, allowed: str, low: int = 0):
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, int) and not isinstance(v, bool)
                                                        for v in values):
        raise ConfigError(f"{flag} must be a list of integers like [60, 64, 67], not {values!r}")
    bad = [v for v in values if not low <= v <= 127]
    if bad:
        raise ConfigError(f"{flag} value {bad[0]} is out of range; allowed: {allowed}")


def pitches_primer(pitches, num_velocity_bins: int) -> Performance:
    """A chord at t=0 lasting 0.5 s at velocity 100."""
    _check_pitches(pitches, "--primer_pitches", "MIDI pitches 0..127")
    notes = NoteList.from_tuples([(p, 0.0, CHORD_SECONDS, PRIMER_VELOCITY) for p in pitches])
    return Performance.from_notes(notes, num_velocity_bins)


def melody_notes(melody) -> NoteList:
    """Melody events (-2 hold, -1 off, 0..127 on) at 0.125 s per event; a note ends at the next event
    that is not a hold, or at the end of the melody."""
    _check_pitches(melody, "--primer_melody", "-2 (hold), -1 (note off), 0..127 (note on)", low=MELODY_HOLD)
    rows, current = [], None
    for i, value in enumerate(list(melody) + [MELODY_OFF]):
        if value == MELODY_HOLD:
            continue
        if current is not None:
            rows.append((current[0], current[1], i * MELODY_STEP_SECONDS, PRIMER_VELOCITY))
            current = None
        if value >= 0 and i < len(melody):
            current = (value, i * MELODY_STEP_SECONDS)
    return NoteList.from_tuples(rows)


def melody_primer(melody, num_velocity_bins: int) -> Performance:
    return Performance.from_notes(melody_notes(melody), num_velocity_bins)


def midi_primer(path, num_velocity_bins: int) -> Performance:
    """All notes of the file (every track and program merged), WITHOUT the sustain pedal (Magenta's primer)."""
    return Performance.from_notes(read_midi(path, apply_sustain=False), num_velocity_bins)


def empty_primer(num_velocity_bins: int, total_steps: int) -> Performance:
    """Magenta's start for no primer: one TIME_SHIFT of min(1 s, the whole length)."""
    return Performance(time_shift_ids(Performance([], num_velocity_bins).vocab, min(STEPS_PER_SECOND, total_steps)),
                       num_velocity_bins)


def build_primer(num_velocity_bins: int, total_steps: int, pitches=None, melody=None, midi=None) -> Performance:
    """At most one primer kind; none gives the empty primer."""
    given = [name for name, v in (("--primer_pitches", pitches), ("--primer_melody", melody),
                                  ("--primer_midi", midi)) if v not in (None, "", [])]
    if len(given) > 1:
        raise ConfigError(f"give only one primer, not {' and '.join(given)}")
    if pitches not in (None, "", []):
        primer = pitches_primer(pitches, num_velocity_bins)
    elif melody not in (None, "", []):
        primer = melody_primer(melody, num_velocity_bins)
    elif midi not in (None, ""):
        primer = midi_primer(midi, num_velocity_bins)
    else:
        return empty_primer(num_velocity_bins, total_steps)
    if primer.num_steps >= total_steps:
        raise ConfigError(f"the primer lasts {primer.num_steps} steps, as long as --num_steps={total_steps} or "
                          "longer; raise --num_steps or shorten the primer")
    return primer
