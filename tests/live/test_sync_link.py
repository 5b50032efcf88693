"""Ableton Link: real Link peers on this machine's network (Link finds peers by multicast, here on localhost)."""
import time

import mido
import pytest

from live.sync.link import LinkSession
from live.sync.tempo import BEATS_PER_BAR, PPQN
from live.sync.timing import SetBpm, SyncConfig, Timing, Transport
from tests.live.daw import off_grid, wait_for

BAR = BEATS_PER_BAR * PPQN


@pytest.fixture
def peers():
    made = []

    def make(bpm=120.0):
        made.append(LinkSession(bpm, time.perf_counter))
        return made[-1]

    yield make
    for peer in made:
        peer.close()


def phase_gap_seconds(a, b) -> float:
    """How far apart two peers put the same instant within the bar (Link aligns phase, not beat numbers)."""
    now = time.perf_counter()
    line_a, line_b = a.timeline(), b.timeline()
    return off_grid(line_a.tick_at(now) - line_b.tick_at(now), BAR) * line_a.period


def test_two_peers_agree_on_tempo_and_phase_within_2_ms(peers):
    a, b = peers(120.0), peers(90.0)
    wait_for(lambda: a.peers and b.peers, "the two peers seeing each other")
    a.set_tempo(97.0)
    wait_for(lambda: abs(b.bpm - 97.0) < 0.01, "the tempo reaching the other peer")
    assert abs(a.timeline().bpm - b.timeline().bpm) < 0.01
    assert phase_gap_seconds(a, b) < 0.002


def test_start_and_stop_reach_the_other_peer_as_transport(peers):
    a, b = peers(), peers()
    heard = []
    b.on_transport = lambda kind, t: heard.append(kind)
    wait_for(lambda: a.peers and b.peers, "the two peers seeing each other")
    a.set_playing(True)
    wait_for(lambda: "start" in heard, "Start reaching the other peer")
    assert b.playing
    a.set_playing(False)
    wait_for(lambda: "stop" in heard, "Stop reaching the other peer")
    assert not b.playing


def test_timing_follows_a_link_peer(peers):
    """The scheduler's Timing with --sync=link: silent until a peer plays, then notes from the first bar line
    of the session's start, quantized onto the session's grid; the tempo knob moves the whole session."""
    other = peers(100.0)
    timing = Timing(SyncConfig("link", bpm=100.0, quantize=100), 0.2, now=time.perf_counter)
    try:
        wait_for(lambda: other.peers and timing.link.peers, "the instrument joining the session")
        timing.begin(time.perf_counter())
        note = mido.Message("note_on", note=60, velocity=80)
        now = time.perf_counter()
        assert timing.place(now + 0.05, note, now) is None  # the session is not playing
        other.set_playing(True)
        wait_for(lambda: timing.link.playing, "Start reaching the instrument")
        assert timing.apply(Transport("start", time.perf_counter()), time.perf_counter()) == "refresh"
        line = timing.timeline()
        assert off_grid(line.tick_at(timing.open_at), BAR) < 1e-3  # a bar line (to a µs)
        now = time.perf_counter()
        placed = timing.place(max(timing.open_at, now + 0.1) + 0.02, note, now)
        assert off_grid(line.tick_at(placed), 6) < 1e-3  # on the session's 1/16 grid
        timing.apply(SetBpm(130.0), time.perf_counter())
        wait_for(lambda: abs(other.bpm - 130.0) < 0.01, "our tempo knob reaching the peer")
        assert timing.status().bpm == pytest.approx(130.0) and timing.status().link_peers >= 1  # other Link sessions on the network count too
        assert timing.apply(Transport("stop", time.perf_counter()), time.perf_counter()) == "panic"
        assert not timing.status().playing
    finally:
        timing.link.close()
