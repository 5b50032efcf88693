"""Bench: playing in time with a DAW over real JACK MIDI routing; prints a Markdown table.

A private JACK server (dummy driver, p=128) and a client that plays the DAW: MIDI clock at 120 BPM with
±1 ms jitter. Phases: the tempo estimate (a ClockTracker behind a JACK port), the instrument (a tiny model
trained here, a subprocess) with --sync=midi at --quantize 100 and 0 (note-ons measured at the listener
against the DAW's own ticks), Start and Stop, and --clock-out at 100 BPM (tick interval jitter at the
listener).

Usage: python bench/bench_sync.py [--seconds 20]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import mido
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from live.sync.tempo import ClockTracker
from tests.helpers import tiny_bundle
from tests.live.daw import PPQN, grid_distances, play_clock
from tests.live.fakes import sounding_after
from tests.live.instrument import Instrument
from tests.live.jack_server import JackServer

MS = 1e3


def tempo_phase() -> list[str]:
    """Estimate after 2 beats at 120, and beats until within 0.5 BPM of 90 after the change."""
    import time
    tracker, estimates = ClockTracker(), []

    def heard(msg):
        tracker.feed(msg, time.perf_counter())
        estimates.append(tracker.bpm)

    backend = mido.Backend("mido.backends.rtmidi", api="UNIX_JACK")
    inp = backend.open_input("tracker", virtual=True, callback=heard)
    out = backend.open_output(next(n for n in backend.get_output_names() if n.endswith(":tracker")))
    time.sleep(0.3)  # a new connection takes effect a few JACK cycles later
    play_clock(out.send, [(120, 8), (90, 8)], jitter=0.001, seed=1)
    time.sleep(0.1)
    inp.close()
    out.close()
    if len(estimates) < 16 * PPQN:
        return [f"| tempo | only {len(estimates)} of {16 * PPQN} ticks arrived (check the JACK connection) |"]
    after_two = estimates[2 * PPQN - 1]
    change = 8 * PPQN
    follow = next((i for i in range(change, len(estimates)) if estimates[i] and abs(estimates[i] - 90) <= 0.5),
                  None)
    beats = (follow - change + 1) / PPQN if follow is not None else float("nan")
    return [f"| tempo estimate after 2 beats of 120 BPM ±1 ms | {after_two:.2f} BPM |",
            f"| 120 -> 90 BPM: within ±0.5 BPM after | {beats:.2f} beats |"]


def synced_phase(jack, bundle, tmp, quantize, seconds) -> list[str]:
    inst = Instrument(jack, f"q{quantize}", "--bundle_file", bundle, "--mode", "solo", "--seed", "1",
                      "--refresh_seconds", "1", "--sync", "midi", "--quantize", quantize, tmp_path=tmp)
    inst.start().connect()
    beats = int(seconds * 2)
    start, stop = 2 * PPQN, (beats - 2) * PPQN
    at = {start: [mido.Message("start")], stop: [mido.Message("stop")]}
    try:
        ticks = play_clock(inst.send, [(120, beats)], at, jitter=0.001)
        inst.terminate()
        inst.wait()
    finally:
        inst.close()
    started, stopped = ticks[start - 1], ticks[stop - 1]
    ons = [t for t, m in inst.received if m.type == "note_on" and m.velocity > 0 and started <= t < stopped]
    d = grid_distances(ons, ticks, 6, start) * MS
    rows = [f"| --quantize={quantize}: note-ons within 3 ms of the 1/16 grid (n={len(d)}) | "
            f"{np.mean(d <= 3) * 100:.1f} % (p50 {np.median(d):.2f} ms, p99 {np.percentile(d, 99):.2f} ms) |"]
    if quantize == 100:
        tail = [(t, m) for t, m in inst.received if t >= stopped]
        silent = min((t for t, m in tail if m.type == "control_change" and m.control == 120), default=np.nan)
        left = sounding_after([(t, m) for t, m in inst.received if t <= stopped + 0.5])
        rows += [f"| Start: first note-on from the grid | {d[0]:.2f} ms |" if len(d) else "| Start | no notes |",
                 f"| Stop: panic done after (one tick = 20.8 ms) | {(silent - stopped) * MS:.2f} ms, "
                 f"{len(left)} notes sounding |"]
    return rows


def clock_out_phase(jack, bundle, tmp) -> list[str]:
    inst = Instrument(jack, "master", "--bundle_file", bundle, "--mode", "solo", "--clock-out", "--bpm", "100",
                      "--duration", "20", tmp_path=tmp).start().connect()
    try:
        inst.wait(90)
    finally:
        inst.close()
    clocks = np.array([t for t, m in inst.received if m.type == "clock"])
    jitter = np.abs(np.diff(clocks) - 0.025) * MS
    return [f"| --clock-out at 100 BPM: tick interval jitter (n={len(jitter)}) | p50 {np.median(jitter):.2f} ms, "
            f"p99 {np.percentile(jitter, 99):.2f} ms, max {jitter.max():.2f} ms |"]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=20.0)
    args = p.parse_args()
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))  # the DAW client keeps time like a DAW
    with JackServer() as jack, tempfile.TemporaryDirectory() as folder:
        os.environ.update(jack.env)
        tmp = Path(folder)
        bundle = tiny_bundle(tmp)
        rows = tempo_phase()
        for quantize in (100, 0):
            rows += synced_phase(jack, bundle, tmp, quantize, args.seconds)
        rows += clock_out_phase(jack, bundle, tmp)
    print(f"load average {os.getloadavg()[0]:.1f}\n\n| measure | value |\n|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
