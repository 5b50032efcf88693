"""Performance: a sequence of event class ids, converted from and to notes and MIDI files (Magenta's rules)."""
from __future__ import annotations

from collections import defaultdict, deque

import mido
import numpy as np

from .errors import MidiReadError
from .atomic import atomic_path
from .events import (DEFAULT_VELOCITY_BINS, KIND_CODE, MAX_SHIFT_STEPS, NOTE_OFF, NOTE_ON, STEPS_PER_SECOND,
                     TIME_SHIFT, VELOCITY, Event, Vocabulary, bin_to_velocity, velocity_to_bin)
from .midi_file import read_midi
from .notes import NoteList

NO_VELOCITY_DEFAULT = 100  # models without velocity play every note at this velocity (Magenta)
TICKS_PER_BEAT = 220
TEMPO = 500_000  # 120 qpm: 440 ticks per second


def quantize(seconds) -> np.ndarray:
    """Magenta's absolute quantization: round half up to 10 ms steps."""
    return (np.asarray(seconds, dtype=np.float64) * STEPS_PER_SECOND + 0.5).astype(np.int64)


class Performance:
    """Class ids over a Vocabulary; `events` gives them as Event values."""

    def __init__(self, ids, num_velocity_bins: int = DEFAULT_VELOCITY_BINS):
        self.vocab = Vocabulary(num_velocity_bins)
        self.ids = np.asarray(ids, dtype=np.int32)
        if len(self.ids) and (self.ids.min() < 0 or self.ids.max() >= self.vocab.num_classes):
            raise ValueError(f"class ids must be in range 0..{self.vocab.num_classes - 1}")

    @property
    def num_velocity_bins(self) -> int:
        return self.vocab.num_velocity_bins

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self):
        return f"Performance({len(self)} events, {self.num_steps} steps, {self.num_velocity_bins} velocity bins)"

    @property
    def events(self) -> list[Event]:
        return self.vocab.decode_all(self.ids)

    @property
    def num_steps(self) -> int:
        return int(self.vocab.shift_steps(self.ids).sum())

    @classmethod
    def from_events(cls, events, num_velocity_bins: int = DEFAULT_VELOCITY_BINS) -> "Performance":
        return cls(Vocabulary(num_velocity_bins).encode_all(events), num_velocity_bins)

    @classmethod
    def from_midi(cls, path_or_midifile, num_velocity_bins: int = DEFAULT_VELOCITY_BINS,
                  apply_sustain: bool = True, include_drums: bool = False) -> "Performance":
        notes = read_midi(path_or_midifile, include_drums=include_drums, apply_sustain=apply_sustain)
        return cls.from_notes(notes, num_velocity_bins)

    @classmethod
    def from_notes(cls, notes: NoteList, num_velocity_bins: int = DEFAULT_VELOCITY_BINS) -> "Performance":
        """Magenta's extraction: onsets and offsets sorted by (step, note index, is_offset), shifts of at
        most 1 s between them, VELOCITY before a NOTE_ON whose bin differs from the current one."""
        vocab = Vocabulary(num_velocity_bins)
        if len(notes) and (notes.start.min() < 0 or notes.end.min() < 0):
            raise MidiReadError("negative note time; times must be >= 0 s")
        notes = notes.sorted()
        start, end = quantize(notes.start), quantize(notes.end)
        end = np.where(end <= start, start + 1, end)
        n = len(notes)
        steps = np.concatenate([start, end])
        is_off = np.concatenate([np.zeros(n, bool), np.ones(n, bool)])
        index = np.concatenate([np.arange(n), np.arange(n)])
        order = np.lexsort((is_off, index, steps))
        bins = velocity_to_bin(np.clip(notes.velocity, 1, 127), num_velocity_bins) if num_velocity_bins else None
        return cls(_emit(vocab, steps[order], is_off[order], index[order], notes.pitch, bins), num_velocity_bins)

    def to_notes(self, max_note_duration: float | None = 5.0, velocity: int = NO_VELOCITY_DEFAULT) -> NoteList:
        """Magenta's decode: an unmatched NOTE_OFF is ignored, the oldest open note of a pitch closes first,
        zero-length notes are dropped, open notes close at the end, notes are cut at `max_note_duration`."""
        codes, values = self.vocab.kind_codes[self.ids].tolist(), self.vocab.values[self.ids].tolist()
        open_notes: dict[int, deque] = defaultdict(deque)
        rows, step = [], 0
        for code, value in zip(codes, values):
            if code == KIND_CODE[TIME_SHIFT]:
                step += value
            elif code == KIND_CODE[VELOCITY]:
                velocity = int(bin_to_velocity(value, self.num_velocity_bins))
            elif code == KIND_CODE[NOTE_ON]:
                open_notes[value].append((step, velocity))
            elif open_notes[value]:
                on_step, on_velocity = open_notes[value].popleft()
                rows.append((value, on_step, step, on_velocity))
        rows += [(p, s, step, v) for p, queue in open_notes.items() for s, v in queue]
        rows = [r for r in rows if r[2] > r[1]]
        if not rows:
            return NoteList.empty()
        pitch, on, off, vel = (np.array(c) for c in zip(*rows))
        start, end = on / STEPS_PER_SECOND, off / STEPS_PER_SECOND
        if max_note_duration is not None:
            end = np.minimum(end, start + max_note_duration)
        return NoteList.from_tuples(zip(pitch, start, end, vel)).sorted()

    def to_midi(self, path=None, max_note_duration: float | None = 5.0, program: int = 0) -> mido.MidiFile:
        """One track at 120 qpm; written atomically when `path` is given."""
        midi = notes_to_midi(self.to_notes(max_note_duration), program)
        if path is not None:
            save_midi_atomic(midi, path)
        return midi

    def set_length(self, num_steps: int) -> "Performance":
        """Trim from the end or pad with TIME_SHIFTs to exactly `num_steps` (Magenta's set_length: events
        at the final step stay, a last short shift is extended before new ones are added)."""
        shifts = self.vocab.shift_steps(self.ids)
        total = int(shifts.sum())
        ids = self.ids.copy()
        if total > num_steps:
            before = np.concatenate([[0], np.cumsum(shifts)[:-1]])
            keep = np.where(shifts > 0, before < num_steps, before <= num_steps)
            ids, shifts = ids[keep], shifts[keep]
            if shifts.sum() > num_steps:  # the last kept shift overshoots: shorten it
                ids[-1] -= int(shifts.sum()) - num_steps
            return Performance(ids, self.num_velocity_bins)
        missing = num_steps - total
        if missing and len(ids) and 0 < shifts[-1] < MAX_SHIFT_STEPS:
            grow = min(missing, MAX_SHIFT_STEPS - int(shifts[-1]))
            ids[-1] += grow
            missing -= grow
        return Performance(np.concatenate([ids, time_shift_ids(self.vocab, missing)]), self.num_velocity_bins)


def time_shift_ids(vocab: Vocabulary, steps: int) -> np.ndarray:
    """TIME_SHIFT(100) while more than 100 steps remain, then the rest (none for 0)."""
    if steps <= 0:
        return np.zeros(0, np.int32)
    full, rest = divmod(int(steps), MAX_SHIFT_STEPS)
    shifts = [MAX_SHIFT_STEPS] * full + ([rest] if rest else [])
    return np.array(shifts, np.int32) + vocab.offsets[TIME_SHIFT]


def _emit(vocab: Vocabulary, steps, is_off, index, pitch, bins) -> np.ndarray:
    out: list[int] = []
    shift0, on0, off0 = vocab.offsets[TIME_SHIFT], vocab.offsets[NOTE_ON], vocab.offsets[NOTE_OFF]
    vel0 = vocab.offsets.get(VELOCITY, 0)
    pitch, bins = pitch.tolist(), bins.tolist() if bins is not None else None
    step, current_bin = 0, 0
    for s, off, i in zip(steps.tolist(), is_off.tolist(), index.tolist()):
        while s > step:
            shift = min(s - step, MAX_SHIFT_STEPS)
            out.append(shift0 + shift)
            step += shift
        if off:
            out.append(off0 + pitch[i])
            continue
        if bins is not None and bins[i] != current_bin:
            current_bin = bins[i]
            out.append(vel0 + current_bin)
        out.append(on0 + pitch[i])
    return np.array(out, np.int32)


def notes_to_midi(notes: NoteList, program: int = 0, channel: int = 0) -> mido.MidiFile:
    """Overlapping notes of one pitch re-strike it; its note-off waits for the last of them."""
    ticks_per_second = TICKS_PER_BEAT * 1e6 / TEMPO
    timeline = [(float(t), 0, p, 0) for p, t in zip(notes.pitch.tolist(), notes.end.tolist())]
    timeline += [(float(t), 1, p, v) for p, t, v in zip(notes.pitch.tolist(), notes.start.tolist(),
                                                        notes.velocity.tolist())]
    timeline.sort()
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=TEMPO, time=0),
                            mido.Message("program_change", program=program, channel=channel, time=0)])
    sounding = [0] * 128
    last_tick = 0
    for seconds, is_on, pitch, velocity in timeline:
        tick = int(round(seconds * ticks_per_second))
        messages = []
        if is_on:
            if sounding[pitch]:
                messages.append(mido.Message("note_off", note=pitch, channel=channel))
            messages.append(mido.Message("note_on", note=pitch, velocity=int(velocity), channel=channel))
            sounding[pitch] += 1
        else:
            sounding[pitch] -= 1
            if not sounding[pitch]:
                messages.append(mido.Message("note_off", note=pitch, channel=channel))
        for message in messages:
            track.append(message.copy(time=tick - last_tick))
            last_tick = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    midi = mido.MidiFile(ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.append(track)
    return midi


def save_midi_atomic(midi: mido.MidiFile, path) -> None:
    with atomic_path(path) as tmp:
        midi.save(str(tmp))
