"""Sync through real JACK routing: a test client plays the DAW (clock and transport) and listens."""

import time

import mido
import numpy as np
import pytest

from live.sync.link import LinkSession
from tests.live.daw import PPQN, grid_distances, off_grid, play_clock, wait_for
from tests.live.fakes import sounding_after
from tests.live.instrument import Instrument, bundle, realtime_client  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.jack, pytest.mark.slow]
START_TICK, STOP_TICK = 2 * PPQN, 10 * PPQN


def model_note_ons(inst, after=0.0, before=float("inf")):
    return [t for t, m in inst.received if m.type == "note_on" and m.velocity > 0 and after <= t < before]


def test_follows_the_daw_clock_start_and_stop(jack_server, bundle, tmp_path):
    inst = Instrument(jack_server, "synced", "--bundle_file", bundle, "--mode", "solo", "--seed", "1",
                      "--refresh_seconds", "1", "--sync", "midi", "--quantize", "100", "--record",
                      tmp_path / "take.mid", tmp_path=tmp_path).start().connect()
    try:
        at = {PPQN // 2: [mido.Message("stop")], START_TICK: [mido.Message("start")],
              STOP_TICK: [mido.Message("stop")]}
        ticks = play_clock(inst.send, [(120, 12)], at, jitter=0.001)
        inst.terminate()
        assert inst.wait() == 0, inst.stderr()
    finally:
        inst.close()
    started, stopped = ticks[START_TICK - 1], ticks[STOP_TICK - 1]
    assert "ignoring Stop without Start" in inst.stderr()
    assert model_note_ons(inst, before=started) == []  # silent until the DAW starts
    playing = model_note_ons(inst, started, stopped)
    assert len(playing) >= 8, inst.stderr()
    # Pulled onto the 1/16 grid of the DAW's ticks (unquantized notes would lie ~31 ms from it on average).
    assert np.median(grid_distances(playing, ticks, 6, START_TICK)) < 0.010
    # Stop: a panic, nothing sounding, no new notes.
    after_stop = [(t, m) for t, m in inst.received if t <= stopped + 0.5]
    assert sounding_after(after_stop) == set()
    assert model_note_ons(inst, stopped + 0.1, stopped + 0.5) == []
    tempo = next(m.tempo for m in mido.MidiFile(tmp_path / "take.mid").tracks[0] if m.type == "set_tempo")
    assert abs(mido.tempo2bpm(tempo) - 120) < 1.0  # the take carries the DAW's tempo


def test_clock_out_sends_start_ticks_at_the_tempo_and_stop(jack_server, bundle, tmp_path):
    inst = Instrument(jack_server, "master", "--bundle_file", bundle, "--mode", "solo", "--clock-out",
                      "--bpm", "100", "--duration", "3", tmp_path=tmp_path).start().connect()
    try:
        assert inst.wait(60) == 0, inst.stderr()
    finally:
        inst.close()
    kinds = [m.type for _, m in inst.received if m.type in ("start", "clock", "stop")]
    # Start goes out with the clock's first tick, usually before this client has connected.
    assert kinds[-1] == "stop" and kinds.count("start") <= 1 and kinds.count("stop") == 1
    clocks = [t for t, m in inst.received if m.type == "clock"]
    assert 100 <= len(clocks) <= 122  # 40 per second for 3 s (the first ones may go before we listen)
    assert abs(np.median(np.diff(clocks)) - 0.025) < 0.0025


def test_follows_a_link_session_tempo_phase_start_and_stop(jack_server, bundle, tmp_path):
    """A Link peer in this process plays the DAW: it sets the tempo and presses play and stop."""
    inst = Instrument(jack_server, "linked", "--bundle_file", bundle, "--mode", "solo", "--seed", "1",
                      "--refresh_seconds", "1", "--sync", "link", "--bpm", "100", "--quantize", "100", "--record",
                      tmp_path / "take.mid", tmp_path=tmp_path).start().connect()
    daw = LinkSession(100.0, time.perf_counter)
    try:
        wait_for(lambda: daw.peers, "the instrument joining the Link session")
        daw.set_tempo(100.0)
        time.sleep(1.0)
        daw.set_playing(True)
        started = daw.start_time()
        time.sleep(max(0.0, started - time.perf_counter()) + 4.0)
        line = daw.timeline()
        daw.set_playing(False)
        stopped = time.perf_counter()
        time.sleep(0.6)
        inst.terminate()
        assert inst.wait() == 0, inst.stderr()
    finally:
        daw.close()
        inst.close()
    assert model_note_ons(inst, before=started) == []  # silent until the session plays
    playing = model_note_ons(inst, started, stopped)
    assert len(playing) >= 8, inst.stderr()
    # On the session's 1/16 grid (unquantized notes would lie ~37 ms from it on average at 100 BPM).
    offsets = [off_grid(line.tick_at(t), PPQN // 4) * line.period for t in playing]
    assert np.median(offsets) < 0.010
    assert sounding_after([(t, m) for t, m in inst.received if t <= stopped + 0.5]) == set()
    assert model_note_ons(inst, stopped + 0.1, stopped + 0.5) == []
    tempo = next(m.tempo for m in mido.MidiFile(tmp_path / "take.mid").tracks[0] if m.type == "set_tempo")
    assert abs(mido.tempo2bpm(tempo) - 100) < 0.1
