"""Bench: playing in time with a DAW over real JACK MIDI routing; prints a Markdown table.

Private JACK servers (dummy driver), one per --columns entry, and a client that plays the DAW: MIDI clock at
120 BPM with ±1 ms jitter. Phases: the tempo estimate (a ClockTracker behind a JACK port), the instrument (a
tiny model trained here, a subprocess) with --sync=midi at --quantize 100 and 0, Start and Stop, --clock-out
at 100 BPM, and Ableton Link (two peers here; the instrument following a peer).

Note-ons are timed where the listener receives them, against two grids: the one the DAW *sent* (its ticks'
send times: two JACK hops sit inside the error) and the one the listener *hears* (a line through the DAW's
ticks as they arrive at the listener, one hop like the notes'). JACK MIDI sent through rtmidi lands at frame
0 of the next period, so every hop adds 0..1 period: the period sets the floor of both figures.

Usage: python bench/bench_sync.py [--seconds 15] [--columns 128:0,128:1.33,32:0]
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import mido
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from live.sync.link import LinkSession
from live.sync.tempo import ClockTracker
from tests.helpers import tiny_bundle
from tests.live.daw import PPQN, grid_distances, off_grid, play_clock, wait_for
from tests.live.fakes import sounding_after
from tests.live.instrument import Instrument
from tests.live.jack_server import JackServer

MS = 1e3
SIXTEENTH = PPQN // 4
BACKEND = "mido.backends.rtmidi"


def loopback(name: str, on_message):
    """A virtual input in this process, and an output connected to it."""
    backend = mido.Backend(BACKEND, api="UNIX_JACK")
    inp = backend.open_input(name, virtual=True, callback=on_message)
    out = backend.open_output(next(n for n in backend.get_output_names() if n.endswith(f":{name}")))
    time.sleep(0.3)  # a new connection takes effect a few JACK cycles later
    return inp, out


def percent_within(d_ms: np.ndarray, label: str) -> str:
    return (f"{np.mean(d_ms <= 3) * 100:.1f} % (p50 {np.median(d_ms):.2f}, p99 {np.percentile(d_ms, 99):.2f} ms, "
            f"n={len(d_ms)})" if len(d_ms) else f"no {label}")


def lateness(inst) -> str:
    found = re.search(r"lateness p50 ([\d.]+) ms, p99 ([\d.]+) ms", inst.stderr())
    return f"{found.group(1)} / {found.group(2)}" if found else "?"


def tempo_phase() -> dict:
    """Estimate after 2 beats at 120, and beats until within 0.5 BPM of 90 after the change. The ticks are
    fed to the tracker as they arrived, after the run: this client's JACK callback only notes the time."""
    arrived = []
    inp, out = loopback("tracker", lambda msg: arrived.append((time.perf_counter(), msg)))
    play_clock(out.send, [(120, 8), (90, 8)], jitter=0.001, seed=1)
    time.sleep(0.1)
    inp.close()
    out.close()
    if len(arrived) < 16 * PPQN:
        return {"tempo": f"only {len(arrived)} of {16 * PPQN} ticks arrived"}
    tracker, estimates = ClockTracker(), []
    for t, msg in arrived:
        tracker.feed(msg, t)
        estimates.append(tracker.bpm)
    change = 8 * PPQN
    follow = next((i for i in range(change, len(estimates)) if estimates[i] and abs(estimates[i] - 90) <= 0.5),
                  None)
    beats = (follow - change + 1) / PPQN if follow is not None else float("nan")
    return {"tempo after 2 beats of 120 BPM ±1 ms": f"{estimates[2 * PPQN - 1]:.2f} BPM",
            "120 -> 90 BPM: within ±0.5 BPM after": f"{beats:.2f} beats"}


def heard_grid(heard: list[float], sent: list[float]):
    """Tick index -> time, a least-squares line through the DAW's ticks as the listener heard them. Each one
    heard is the last one sent before it (delivery takes well under a tick), so a lost tick shifts nothing."""
    k = np.searchsorted(sent, heard) - 1
    period, origin = np.polyfit(k, heard, 1)
    return lambda t: (np.asarray(t) - origin) / period, period


def synced_phase(jack, bundle, tmp, quantize, seconds, offset_ms) -> dict:
    inst = Instrument(jack, f"q{quantize}", "--bundle_file", bundle, "--mode", "solo", "--seed", "1",
                      "--refresh_seconds", "1", "--sync", "midi", "--quantize", quantize,
                      "--sync-offset-ms", offset_ms, tmp_path=tmp)
    inst.start().connect()
    heard = []
    listener, daw_copy = loopback(f"hear{quantize}", lambda m: m.type == "clock" and heard.append(time.perf_counter()))
    beats = int(seconds * 2)
    start, stop = 2 * PPQN, (beats - 2) * PPQN
    at = {start: [mido.Message("start")], stop: [mido.Message("stop")]}

    def send(msg):
        inst.send(msg)
        daw_copy.send(msg)  # the same JACK cycle delivers it to the listener
    try:
        ticks = play_clock(send, [(120, beats)], at, jitter=0.001)
        inst.terminate()
        inst.wait()
    finally:
        inst.close()
        listener.close()
        daw_copy.close()
    started, stopped = ticks[start - 1], ticks[stop - 1]
    ons = [t for t, m in inst.received if m.type == "note_on" and m.velocity > 0 and started <= t < stopped]
    sent = grid_distances(ons, ticks, SIXTEENTH, start) * MS
    tick_of, period = heard_grid(heard, ticks)
    at_listener = np.array([off_grid(k, SIXTEENTH) for k in tick_of(ons)]) * period * MS
    q = f"--quantize={quantize}"
    rows = {f"{q}: note-ons within 3 ms of the grid heard at the listener": percent_within(at_listener, "notes"),
            f"{q}: same, against the grid the DAW sent": percent_within(sent, "notes"),
            f"{q}: instrument lateness p50 / p99 (ms)": lateness(inst),
            f"{q}: the DAW's longest gap between ticks (a stalled DAW blurs the grid)":
            f"{np.diff(ticks).max() * MS:.1f} ms"}
    if quantize == 100:
        tail = [(t, m) for t, m in inst.received if t >= stopped]
        silent = min((t for t, m in tail if m.type == "control_change" and m.control == 120), default=np.nan)
        left = sounding_after([(t, m) for t, m in inst.received if t <= stopped + 0.5])
        rows["Start: first note-on from the heard grid"] = f"{at_listener[0]:.2f} ms" if len(ons) else "no notes"
        rows["Stop: panic done after (one tick = 20.8 ms)"] = f"{(silent - stopped) * MS:.2f} ms, {len(left)} sounding"
    return rows


def clock_out_phase(jack, bundle, tmp, seconds) -> dict:
    inst = Instrument(jack, "master", "--bundle_file", bundle, "--mode", "solo", "--clock-out", "--bpm", "100",
                      "--duration", str(seconds), tmp_path=tmp).start().connect()
    try:
        inst.wait(seconds + 60)
    finally:
        inst.close()
    clocks = np.array([t for t, m in inst.received if m.type == "clock"])
    jitter = np.abs(np.diff(clocks) - 0.025) * MS
    return {"--clock-out 100 BPM: tick interval jitter at the listener":
            f"p50 {np.median(jitter):.2f}, p99 {np.percentile(jitter, 99):.2f}, max {jitter.max():.2f} ms "
            f"(n={len(jitter)})",
            "--clock-out: instrument lateness p50 / p99 (ms)": lateness(inst)}


def link_peers_phase(seconds: float) -> dict:
    """Two Link peers in this process: tempo and phase gap sampled every 20 ms after a tempo change."""
    a, b = LinkSession(120.0, time.perf_counter), LinkSession(90.0, time.perf_counter)
    try:
        wait_for(lambda: a.peers and b.peers, "the peers seeing each other")
        a.set_tempo(97.0)
        wait_for(lambda: abs(b.bpm - 97.0) < 0.01, "the tempo change arriving")
        gaps, tempo_gaps = [], []
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            now = time.perf_counter()
            la, lb = a.timeline(), b.timeline()
            gaps.append(off_grid(la.tick_at(now) - lb.tick_at(now), 4 * PPQN) * la.period * MS)
            tempo_gaps.append(abs(la.bpm - lb.bpm))
            time.sleep(0.02)
    finally:
        a.close()
        b.close()
    return {"Link, two peers: phase gap": f"p50 {np.median(gaps):.3f}, max {max(gaps):.3f} ms; "
                                         f"tempo gap max {max(tempo_gaps):.5f} BPM"}


def link_follow_phase(jack, bundle, tmp, seconds, offset_ms) -> dict:
    inst = Instrument(jack, "linked", "--bundle_file", bundle, "--mode", "solo", "--seed", "1",
                      "--refresh_seconds", "1", "--sync", "link", "--quantize", "100",
                      "--sync-offset-ms", offset_ms, tmp_path=tmp)
    inst.start().connect()
    daw = LinkSession(120.0, time.perf_counter)
    try:
        wait_for(lambda: daw.peers, "the instrument joining")
        daw.set_tempo(120.0)
        daw.set_playing(True)
        started = daw.start_time()
        time.sleep(max(0.0, started - time.perf_counter()) + seconds)
        line = daw.timeline()
        inst.terminate()
        inst.wait()
    finally:
        daw.close()
        inst.close()
    ons = [t for t, m in inst.received if m.type == "note_on" and m.velocity > 0 and t >= started]
    d = np.array([off_grid(line.tick_at(t), SIXTEENTH) for t in ons]) * line.period * MS
    return {"--sync=link --quantize=100: note-ons within 3 ms of the session's grid": percent_within(d, "notes"),
            "--sync=link: instrument lateness p50 / p99 (ms)": lateness(inst)}


def run_phases(jack, bundle, tmp, seconds, offset_ms) -> dict:
    rows = tempo_phase()
    for quantize in (100, 0):
        rows |= synced_phase(jack, bundle, tmp, quantize, seconds, offset_ms)
    rows |= clock_out_phase(jack, bundle, tmp, seconds)
    rows |= link_peers_phase(seconds / 3)
    return rows | link_follow_phase(jack, bundle, tmp, seconds, offset_ms)


def run_column(period, offset_ms, bundle, tmp, seconds, tries: int = 2) -> dict:
    """One column on a fresh JACK server. On a loaded machine jackd sometimes throws out a client whose
    real-time callback waited for the interpreter lock, and then refuses new ones: that column runs again."""
    for attempt in range(1, tries + 1):
        with JackServer(period=period) as jack:
            os.environ.update(jack.env)
            try:
                rows = run_phases(jack, bundle, tmp, seconds, offset_ms)
            except Exception as err:
                print(f"column p={period} attempt {attempt}: {err!r}; jackd log:\n{jack.read_log()[-1500:]}",
                      file=sys.stderr)
                if attempt == tries:
                    raise
                continue
            # A late JACK cycle delays every message in it: the load, not the instrument.
            rows["JACK xruns in the column (server log)"] = str(jack.read_log().count("Process XRun"))
            return rows


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=15.0)
    p.add_argument("--columns", default="128:0,128:1.33,32:0",
                   help="JACK period (frames at 48 kHz) : --sync-offset-ms, one column each")
    args = p.parse_args()
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))  # the DAW client keeps time like a DAW
    runs = [(int(a), float(b)) for a, b in (c.split(":") for c in args.columns.split(","))]
    columns, loads = [], []
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        bundle = tiny_bundle(tmp)
        for period, offset_ms in runs:
            columns.append(run_column(period, offset_ms, bundle, tmp, args.seconds))
            loads.append(os.getloadavg()[0])
    heads = [f"p={p} ({p / 48:.2f} ms), offset {o:g} ms, load {load:.1f}" for (p, o), load in zip(runs, loads)]
    print(f"| measure | {' | '.join(heads)} |\n|---|{'---|' * len(heads)}")
    for key in columns[0]:
        print(f"| {key} | {' | '.join(c.get(key, '') for c in columns)} |")


if __name__ == "__main__":
    main()
