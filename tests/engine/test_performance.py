import mido
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from engine.errors import MidiReadError
from engine.events import Event
from engine.midi_file import read_midi
from engine.notes import NoteList
from engine.performance import Performance
from tests.midi_builders import midi_from_notes

on, off, shift, vel = (lambda v: Event("note_on", v)), (lambda v: Event("note_off", v)), \
    (lambda v: Event("time_shift", v)), (lambda v: Event("velocity", v))


def events_of(notes, pedal=(), bins=32, sustain=True):
    return Performance.from_midi(midi_from_notes(notes, pedal), bins, apply_sustain=sustain).events


def test_chord():
    assert events_of([(60, 0, 0.5, 80), (64, 0, 0.5, 80), (67, 0, 0.5, 80)]) == [
        vel(20), on(60), on(64), on(67), shift(50), off(60), off(64), off(67)]


def test_same_pitch_overlapping_is_not_merged():
    assert events_of([(60, 0, 1.0, 100), (60, 0.5, 1.5, 100)], bins=0) == [
        on(60), shift(50), on(60), shift(50), off(60), shift(50), off(60)]


def test_gap_longer_than_a_second_splits_into_full_shifts():
    assert events_of([(60, 0, 0.1, 64), (62, 2.55, 2.6, 64)], bins=0) == [
        on(60), shift(10), off(60), shift(100), shift(100), shift(45), on(62), shift(5), off(62)]


def test_velocity_only_when_the_bin_changes():
    assert events_of([(60, 0, 0.1, 100), (62, 0.1, 0.2, 98), (64, 0.2, 0.3, 40)]) == [
        vel(25), on(60), shift(10), off(60), on(62), shift(10), off(62), vel(10), on(64), shift(10), off(64)]


def test_offsets_before_onsets_at_the_same_step():
    assert events_of([(60, 0, 0.5, 1), (62, 0.5, 1.0, 1)]) == [
        vel(1), on(60), shift(50), off(60), on(62), shift(50), off(62)]


def test_sustain_pedal_lengthens_notes():
    notes = [(60, 0.0, 0.2, 64), (64, 0.3, 0.4, 64), (60, 0.6, 0.7, 64)]
    pedal = [(0.1, 127), (1.0, 0)]
    # 60 is held until re-struck at 0.6; the re-struck 60 and 64 are held until pedal-up at 1.0.
    assert events_of(notes, pedal, bins=0) == [
        on(60), shift(30), on(64), shift(30), off(60), on(60), shift(40), off(64), off(60)]
    assert events_of(notes, pedal, bins=0, sustain=False) == [
        on(60), shift(20), off(60), shift(10), on(64), shift(10), off(64), shift(20), on(60), shift(10), off(60)]


def test_pedal_held_to_the_end_extends_to_the_last_event():
    notes = read_midi(midi_from_notes([(60, 0.0, 0.2, 64)], pedal=[(0.1, 127), (2.0, 127)]))
    assert notes.end.tolist() == [2.0]


def test_decode_rules():
    perf = Performance.from_events([off(50), on(60), on(60), shift(10), off(60), on(62), off(62), shift(10)], 0)
    notes = perf.to_notes()
    # the unmatched NOTE_OFF is ignored, the oldest 60 closes first, the zero-length 62 is dropped,
    # the second 60 is closed at the end
    assert notes.to_tuples() == [(60, 0.0, 0.1, 100), (60, 0.0, 0.2, 100)]


def test_notes_are_cut_at_the_max_duration():
    perf = Performance.from_events([vel(32), on(60)] + [shift(100)] * 8 + [off(60)])
    assert perf.to_notes().to_tuples() == [(60, 0.0, 5.0, 125)]
    assert perf.to_notes(max_note_duration=None).end.tolist() == [8.0]


def test_set_length_trims_and_pads():
    perf = Performance.from_events([on(60), shift(100), off(60), shift(50)], 0)
    assert perf.set_length(120).events == [on(60), shift(100), off(60), shift(20)]
    assert perf.set_length(300).events == [on(60), shift(100), off(60), shift(100), shift(100)]
    assert perf.set_length(100).events == [on(60), shift(100), off(60)]
    assert perf.set_length(30).events == [on(60), shift(30)]
    assert perf.set_length(300).num_steps == 300


def test_to_midi_writes_a_playable_file(tmp_path):
    perf = Performance.from_events([vel(20), on(60), on(64), shift(50), off(60), off(64)])
    midi = perf.to_midi(tmp_path / "out.mid")
    assert (tmp_path / "out.mid").exists() and not list(tmp_path.glob("*.tmp"))
    notes = [m for m in midi.tracks[0] if m.type == "note_on"]
    assert [(m.note, m.velocity) for m in notes] == [(60, 77), (64, 77)]
    assert Performance.from_midi(tmp_path / "out.mid").events == perf.events


def test_tempo_changes_are_honoured():
    midi = midi_from_notes([(60, 0, 0.5, 64)])  # at 120 qpm
    track = midi.tracks[0]
    track.append(mido.MetaMessage("set_tempo", tempo=1_000_000, time=0))  # 60 qpm from 0.5 s
    track.append(mido.Message("note_on", note=62, velocity=64, time=0))
    track.append(mido.Message("note_off", note=62, time=480))
    notes = read_midi(midi)
    assert notes.to_tuples()[-1] == (62, 0.5, 1.5, 64)


@pytest.mark.parametrize("content,reason", [
    (b"not midi at all", "no MThd header"),
    (b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0MTrk\x00\x00\x00\x20\x00\x90", "truncated"),
    (b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0MTrk\x00\x00\x00\x08\x00\x90\x3c\x40\x00\xb0\x40\xa8",
     "data byte must be in range 0..127"),
])
def test_corrupt_files_give_one_line_errors(tmp_path, content, reason):
    path = tmp_path / "bad.mid"
    path.write_bytes(content)
    with pytest.raises(MidiReadError, match=reason) as info:
        Performance.from_midi(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_empty_drum_only_and_missing_files(tmp_path):
    empty = midi_from_notes([])
    with pytest.raises(MidiReadError, match="no notes"):
        read_midi(empty)
    with pytest.raises(MidiReadError, match="only drum notes"):
        read_midi(midi_from_notes([(36, 0, 0.1, 100)], channel=9))
    assert len(read_midi(midi_from_notes([(36, 0, 0.1, 100)], channel=9), include_drums=True)) == 1
    with pytest.raises(MidiReadError, match="cannot open"):
        read_midi(tmp_path / "missing.mid")


def test_absurd_tempo():
    with pytest.raises(MidiReadError, match="absurd"):
        read_midi(midi_from_notes([(60, 0, 3000, 64)], tempo=16_000_000))


def test_negative_times_are_rejected():
    with pytest.raises(MidiReadError, match="negative"):
        Performance.from_notes(NoteList.from_tuples([(60, -1.0, 0.5, 64)]))


def _note_sets(draw_notes):
    notes, free_at = [], {}
    for pitch, gap, length, velocity in draw_notes:
        start = round(max(free_at.get(pitch, 0.0), 0) + gap, 3)
        notes.append((pitch, start, round(start + length, 3), velocity))
        free_at[pitch] = start + length + 0.02
    return notes


note_strategy = st.lists(st.tuples(st.integers(0, 127), st.floats(0, 3), st.floats(0.01, 4.5),
                                   st.integers(1, 127)), min_size=1, max_size=25)


@settings(max_examples=60, deadline=None)
@given(note_strategy)
def test_round_trip_keeps_every_note(drawn):
    notes = _note_sets(drawn)
    perf = Performance.from_midi(midi_from_notes(notes), 32, apply_sustain=False)
    back = read_midi(perf.to_midi(max_note_duration=None)).to_tuples()
    expected = sorted(notes, key=lambda n: (n[0], n[1]))  # same-pitch notes are >= 20 ms apart
    back = sorted(back, key=lambda n: (n[0], n[1]))
    assert len(back) == len(expected)
    for (p, s, e, v), (p2, s2, e2, v2) in zip(expected, back):
        assert p == p2
        assert abs(s - s2) <= 0.0055 + 0.002 and abs(e - e2) <= 0.0105 + 0.002
        assert (v - 1) // 4 == (v2 - 1) // 4


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 387), max_size=200))
def test_events_survive_any_id_sequence(ids):
    perf = Performance(ids)
    assert Performance.from_events(perf.events).ids.tolist() == ids
    assert np.all(perf.to_notes().end > perf.to_notes().start)
