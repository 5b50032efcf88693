"""Tempo from MIDI clock, transport, and the grid: the sync parts on their own (no ports, no threads)."""
import mido
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import ConfigError
from live.sync.grid import grid_ticks
from live.sync.tempo import PPQN, ClockTracker
from live.sync.timing import SetBpm, SetSyncMode, SyncConfig, Timing, Transport

CLOCK = mido.Message("clock")


def feed_clock(tracker, bpm, beats, start=0.0, jitter=0.0, rng=None, source="input"):
    """Ticks at `bpm` with uniform ±jitter s; returns the ideal time of the next tick."""
    period = 60.0 / (bpm * PPQN)
    n = int(beats * PPQN)
    for i in range(n):
        noise = rng.uniform(-jitter, jitter) if rng is not None else 0.0
        tracker.feed(CLOCK, start + i * period + noise, source)
    return start + n * period


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_tempo_within_half_a_bpm_after_two_beats_of_jittery_clock(seed):
    rng = np.random.default_rng(seed)
    tracker = ClockTracker()
    feed_clock(tracker, 120, 2, jitter=0.001, rng=rng)
    assert abs(tracker.bpm - 120) <= 0.5


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_tempo_change_followed_within_two_beats(seed):
    rng = np.random.default_rng(seed)
    tracker = ClockTracker()
    t = feed_clock(tracker, 120, 8, jitter=0.001, rng=rng)
    feed_clock(tracker, 90, 2, start=t, jitter=0.001, rng=rng)
    assert abs(tracker.bpm - 90) <= 0.5


def test_absurd_rates_are_ignored_with_a_notice():
    notices = []
    tracker = ClockTracker(notify=notices.append)
    feed_clock(tracker, 2000, 1)
    assert tracker.bpm is None and any("outside 20..1000 BPM" in n for n in notices)
    notices.clear()
    feed_clock(tracker, 120, 2, start=10.0)
    assert abs(tracker.bpm - 120) < 1e-6 and not notices


def test_a_lost_tick_keeps_the_song_position():
    tracker, period = ClockTracker(), 60.0 / (120 * PPQN)
    t = feed_clock(tracker, 120, 2)
    t = feed_clock(tracker, 120, 1, start=t + period)  # one tick lost (JACK drops a period's MIDI on an xrun)
    assert tracker.song_tick == 3 * PPQN + 1
    assert tracker.timeline().tick_at(t) == pytest.approx(3 * PPQN + 1, abs=1e-6)


def test_a_late_burst_after_a_short_stall_is_not_counted_twice():
    tracker, period = ClockTracker(), 60.0 / (120 * PPQN)
    t = feed_clock(tracker, 120, 2)
    for k in range(3):  # the sender stalls two periods, then sends the three ticks it owes at once
        tracker.feed(CLOCK, t + 2 * period + k * 1e-5)
    feed_clock(tracker, 120, 1, start=t + 3 * period)
    assert tracker.song_tick == 3 * PPQN + 3
    assert tracker.timeline().tick_at(t + 3 * period) == pytest.approx(2 * PPQN + 3, abs=0.01)


def test_a_second_clock_source_is_ignored_until_the_first_falls_silent():
    notices = []
    tracker = ClockTracker(notify=notices.append)
    t = feed_clock(tracker, 120, 2)
    feed_clock(tracker, 60, 1, start=t, source="other")
    assert abs(tracker.bpm - 120) < 1e-6 and "already following 'input'" in notices[-1]
    feed_clock(tracker, 60, 2, start=t + 5, source="other")  # the first one is gone: follow the new one
    assert abs(tracker.bpm - 60) < 1e-6


def test_transport_start_stop_and_the_bad_orders():
    notices = []
    tracker = ClockTracker(notify=notices.append)
    assert tracker.feed(mido.Message("stop"), 0.0) is None and "Stop without Start" in notices[-1]
    t = feed_clock(tracker, 120, 1)
    tracker.feed(mido.Message("songpos", pos=8), t)  # two beats in
    assert tracker.song_tick == 2 * PPQN
    assert tracker.feed(mido.Message("start"), t) == "start" and tracker.song_tick == 0  # Start: bar 1
    assert tracker.feed(mido.Message("start"), t) is None and "while playing" in notices[-1]
    tracker.feed(mido.Message("songpos", pos=4), t)
    assert tracker.song_tick == 0 and "song position while playing" in notices[-1]
    assert tracker.feed(mido.Message("stop"), t) == "stop"
    tracker.feed(mido.Message("songpos", pos=4), t)
    assert tracker.feed(mido.Message("continue"), t) == "continue" and tracker.song_tick == PPQN


def test_clock_lost_for_a_second_falls_back_to_free_time():
    notices = []
    timing = Timing(SyncConfig(mode="midi"), 0.1, notices.append)
    timing.begin(0.0)
    t = feed_clock(timing.tracker, 120, 2)
    timing.tracker.feed(mido.Message("start"), t)
    timing.apply(Transport("start", t), t)
    timing.poll(t + 0.5)
    assert not notices
    timing.poll(t + 1.5)
    assert timing.playing and "free time" in notices[-1]


def test_grid_values_and_bad_ones():
    assert [grid_ticks(g) for g in ("1/4", "1/16", "1/8t", "1/8.")] == [24, 6, 8, 18]
    for bad in ("1/7", "16", "1/16x"):
        with pytest.raises(ConfigError, match="--grid"):
            grid_ticks(bad)
    with pytest.raises(ConfigError, match="--quantize"):
        SyncConfig(quantize=101)


def placed(timing, due, note, now, kind="note_on"):
    return timing.place(due, mido.Message(kind, note=note, velocity=64 if kind == "note_on" else 0), now)


@settings(max_examples=200, deadline=None)
@given(due=st.floats(0.2, 60.0), length=st.floats(0.01, 2.0), amount=st.sampled_from([0, 50, 100]))
def test_quantize_moves_note_ons_toward_the_grid_and_keeps_durations(due, length, amount):
    timing = Timing(SyncConfig(quantize=amount, bpm=120), lookahead_seconds=0.1)
    timing.begin(0.0)
    now = due - 0.1  # scheduled one lookahead ahead, as the scheduler does
    on = placed(timing, due, 60, now)
    off = placed(timing, due + length, 60, now, "note_off")
    assert off - on == pytest.approx(length)
    assert on >= now and on - due <= 0.1 + 1e-9  # never into the past, never held past the lookahead
    sixteenth = 0.125
    before, after = (due / sixteenth) % 1, (on / sixteenth) % 1
    dist = lambda x: min(x, 1 - x) * sixteenth
    if amount == 0:
        assert on == due
    elif amount == 100:
        assert dist(after) < 1e-6 or on == due
    else:
        assert dist(after) <= dist(before) + 1e-9


def test_a_note_pulled_earlier_never_ends_in_the_past():
    timing = Timing(SyncConfig(quantize=100, bpm=120), lookahead_seconds=0.1)
    timing.begin(0.0)
    assert placed(timing, 1.02, 60, 0.95) == pytest.approx(1.0)  # 20 ms earlier, onto the line
    assert placed(timing, 1.05, 60, 1.04, "note_off") == pytest.approx(1.041)  # not 1.03, already gone


def test_sync_offset_sends_quantized_notes_early_and_leaves_free_ones_alone():
    early = Timing(SyncConfig(quantize=100, bpm=120, offset_ms=2), lookahead_seconds=0.1)
    early.begin(0.0)
    assert placed(early, 1.02, 60, 0.95) == pytest.approx(0.998)
    free = Timing(SyncConfig(quantize=0, bpm=120, offset_ms=2), lookahead_seconds=0.1)
    free.begin(0.0)
    assert placed(free, 1.02, 60, 0.95) == 1.02
    with pytest.raises(ConfigError, match="sync-offset-ms"):
        SyncConfig(offset_ms=80)


def test_follow_the_tempo_knob_without_jumping_the_grid():
    timing = Timing(SyncConfig(quantize=100, bpm=120), lookahead_seconds=0.2)
    timing.begin(0.0)
    timing.apply(SetBpm(60), 1.0)  # 1 s in = beat 2 at 120; from here a 1/16 is 0.25 s
    assert placed(timing, 1.24, 60, 1.1) == pytest.approx(1.25)


def test_midi_sync_is_silent_until_start_then_snaps_the_first_note_to_the_bar():
    timing = Timing(SyncConfig(mode="midi"), lookahead_seconds=0.1)
    timing.begin(0.0)
    t = feed_clock(timing.tracker, 120, 2)
    assert placed(timing, t + 0.05, 60, t) is None
    timing.tracker.feed(mido.Message("start"), t)
    assert timing.apply(Transport("start", t), t) == "refresh"
    first = placed(timing, t + 0.07, 62, t)
    assert first == pytest.approx(t + 0.125)  # unquantized play, but the first note lands on a 1/16 line
    assert placed(timing, t + 0.1, 64, t) == t + 0.1
    assert timing.apply(Transport("stop", t + 1), t + 1) == "panic" and placed(timing, t + 1.1, 60, t + 1) is None


def test_switching_whom_to_follow_gates_the_model_and_keeps_the_grid():
    timing = Timing(SyncConfig(quantize=100, bpm=120), lookahead_seconds=0.2)
    timing.begin(0.0)
    assert timing.apply(SetSyncMode("midi"), 1.0) == "panic"  # the model was playing: it waits for Start
    assert not timing.playing and placed(timing, 1.1, 60, 1.0) is None
    t = feed_clock(timing.tracker, 90, 2, start=1.0)
    timing.tracker.feed(mido.Message("start"), t)
    assert timing.apply(Transport("start", t), t) == "refresh" and timing.playing
    assert timing.apply(SetSyncMode("off"), t + 0.5) == "refresh"
    assert timing.playing and timing.tracker is None and timing.bpm == pytest.approx(90, abs=0.01)
    sixteenth = 60 / 90 / 4  # free time goes on in the DAW's tempo and phase
    lines = (placed(timing, t + 0.61, 64, t + 0.5) - t) / sixteenth
    assert lines == pytest.approx(round(lines), abs=1e-3)
    assert timing.apply(SetSyncMode("off"), t + 0.6) is None  # already there: nothing to do


def test_an_unknown_sync_mode_is_refused():
    with pytest.raises(ConfigError, match="sync mode must be one of off, midi, link"):
        SetSyncMode("ableton")
