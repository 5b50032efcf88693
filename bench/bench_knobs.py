"""Bench: do the knobs steer the live instrument? Measured at a JACK client on the instrument's output.

For each shipped model (a private JACK server, dummy driver, p=128, started and stopped here):
1. density: solo for --seconds at 1, 2, 4, 8, 16 notes/s requested -> note-ons/s at the listener (the first
   2 s left out: the controller's start), with the clock's lateness and late ticks;
2. pitch classes: solo at 8 notes/s with C major, A minor pentatonic, C whole-tone -> share of note-ons in scale;
3. responsiveness: the scale flips between two disjoint pentatonics every 1.5 s through the command queue ->
   time from the command to the first note-on in the new scale, and note-ons of the old scale after it;
4. duet: a real performance (--duet_midi, default ../shared/fixtures/Maestro_1.mid) played into the input at
   its own timing for --duet_seconds while the model plays C major at 8 notes/s -> input -> context latency,
   the model's share in scale, notes left sounding after stop.

Usage: python bench/bench_knobs.py [--models expressive,chorales] [--seconds 20] [--duet_seconds 60]
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the CLI does

import argparse  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import mido  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from engine.bundle import load_bundle  # noqa: E402
from engine.bundle_info import SHIPPED_MODELS, resolve_bundle  # noqa: E402
from engine.midi_file import read_midi  # noqa: E402
from live.clock import HELPER_PRIORITY, make_realtime  # noqa: E402
from live.commands import SetControl  # noqa: E402
from live.settings import Settings  # noqa: E402
from live.ports import PortConfig  # noqa: E402
from live.stats import Stats  # noqa: E402
from live.session import Session, SessionConfig  # noqa: E402
from tests.live.jack_server import JackServer  # noqa: E402


def classes(*pcs: int) -> tuple[float, ...]:
    return tuple(1.0 if pc in pcs else 0.0 for pc in range(12))


SCALES = {"C major": classes(0, 2, 4, 5, 7, 9, 11), "A minor pentatonic": classes(9, 0, 2, 4, 7),
          "C whole-tone": classes(0, 2, 4, 6, 8, 10)}
FLIP = (classes(0, 2, 4, 7, 9), classes(1, 3, 6, 8, 10))  # C and F# major pentatonic: no class in common
DENSITIES = (1.0, 2.0, 4.0, 8.0, 16.0)
WARMUP = 2.0
MS = 1e3


class Listener:
    """A JACK client on the instrument's output: (arrival time, type, note, velocity, channel)."""

    def __init__(self, backend, port_name: str):
        name = next(n for n in backend.get_input_names() if n.endswith(f":{port_name}"))
        self.got: list[tuple] = []
        self.port = backend.open_input(name, callback=self._on)

    def _on(self, msg):
        if msg.type in ("note_on", "note_off", "control_change"):
            self.got.append((time.perf_counter(), msg.type, getattr(msg, "note", -1), getattr(msg, "velocity", 0),
                             getattr(msg, "control", -1)))

    def onsets(self, since: float = 0.0) -> list[tuple[float, int]]:
        return [(t, n) for t, kind, n, v, _ in self.got if kind == "note_on" and v > 0 and t >= since]

    def sounding_at_end(self) -> int:
        on = set()
        for _, kind, note, vel, control in self.got:
            if kind == "note_on" and vel > 0:
                on.add(note)
            elif kind == "note_off" or (kind == "note_on" and vel == 0):
                on.discard(note)
            elif kind == "control_change" and control in (120, 123):
                on.clear()
        return len(on)


def in_scale(pitches, hist) -> float:
    return float(np.mean([hist[p % 12] > 0 for p in pitches])) if len(pitches) else float("nan")


def play(loaded, backend, name, seconds, driver=None, prepare=None, **knobs):
    """One session of `seconds`; `prepare(session)` runs before its clock starts (open a player's port: opening
    a JACK client holds the GIL for tens of ms), `driver(session, t_start)` beside it (commands, a player)."""
    config = SessionConfig(Settings(**{"mode": "solo", **knobs}), seed=0, duration=seconds,
                           ports=PortConfig(virtual_name=name, no_input=prepare is None))
    session = Session(config, loaded=loaded, report=lambda text: None)
    listener = Listener(backend, name)
    if prepare is not None:
        prepare(session)
    session.start()
    start = time.perf_counter()
    thread = threading.Thread(target=driver, args=(session, start), daemon=True) if driver else None
    if thread:
        thread.start()
    session.wait()
    session.stop()
    time.sleep(0.2)
    if thread:
        thread.join(2)
    listener.port.close()
    return session, listener, start


def density_rows(loaded, backend, label, seconds) -> list[list[str]]:
    rows = []
    for nps in DENSITIES:
        session, listener, start = play(loaded, backend, f"knobs-d{nps:g}", seconds, notes_per_second=nps)
        measured = len(listener.onsets(start + WARMUP)) / (seconds - WARMUP)
        s = session.scheduler.stats
        late = Stats.summary(s.lateness)
        rows.append([f"{label}: density {nps:g} notes/s -> measured", f"{measured:.2f} ({100 * (measured / nps - 1):+.0f}%)",
                     f"lateness p99 {late['p99'] * MS:.2f} ms, late ticks {s.late_ticks}/{s.ticks}", "±20%"])
    return rows


def scale_rows(loaded, backend, label, seconds) -> list[list[str]]:
    rows = []
    for name, hist in SCALES.items():
        _, listener, start = play(loaded, backend, f"knobs-{name[:6].strip()}", seconds, notes_per_second=8.0,
                                  pitch_class_histogram=hist)
        pitches = [n for _, n in listener.onsets(start + WARMUP)]
        rows.append([f"{label}: {name}, 8 notes/s -> in scale", f"{100 * in_scale(pitches, hist):.1f}%",
                     f"{len(pitches)} notes", ">= 95%"])
    return rows


def responsiveness_row(loaded, backend, label, flips: int = 16) -> list[str]:
    times: list[tuple[float, tuple]] = []

    def flipper(session, start):
        for i in range(flips):
            due = start + 1.5 * (i + 1)
            time.sleep(max(0.0, due - time.perf_counter()))
            hist = FLIP[(i + 1) % 2]
            times.append((time.perf_counter(), hist))
            session.send(SetControl("pitch_class_histogram", hist))

    _, listener, _ = play(loaded, backend, "knobs-flip", 1.5 * (flips + 1), driver=flipper, notes_per_second=16.0,
                          pitch_class_histogram=FLIP[0])
    onsets = listener.onsets()
    first, stale = [], 0
    for k, (t0, hist) in enumerate(times):
        t1 = times[k + 1][0] if k + 1 < len(times) else float("inf")
        window = [(t, n) for t, n in onsets if t0 <= t < t1]
        obeying = [t for t, n in window if hist[n % 12] > 0]
        if obeying:
            first.append(obeying[0] - t0)
        stale += sum(1 for t, n in window if hist[n % 12] == 0 and t > t0 + 0.005)
    p50, p95 = (np.percentile(first, q) * MS for q in (50, 95))
    return [f"{label}: scale change -> first note in the new scale (16 notes/s)", f"p50 {p50:.0f} / p95 {p95:.0f} ms",
            f"{stale} notes of the old scale later than 5 ms after the change ({len(times)} changes)",
            "≤ lookahead + 30 ms; 0 stale"]


def duet_rows(loaded, backend, label, midi_path: Path, seconds: float) -> list[list[str]]:
    notes = read_midi(midi_path, apply_sustain=False)
    events = sorted([(s, "note_on", p, v) for s, p, v in zip(notes.start, notes.pitch, notes.velocity) if s < seconds - 1]
                    + [(e, "note_off", p, 0) for e, s, p in zip(notes.end, notes.start, notes.pitch) if s < seconds - 1])
    name, hist, player = "knobs-duet", SCALES["C major"], {}

    def connect(session):
        player["port"] = backend.open_output(next(n for n in backend.get_output_names() if n.endswith(f":{name} in")))

    def pianist(session, start):
        for at, kind, pitch, vel in events:  # absolute deadlines: the recording's own timing
            time.sleep(max(0.0, start + at - time.perf_counter()))
            player["port"].send(mido.Message(kind, note=int(pitch), velocity=int(vel)))

    try:
        session, listener, start = play(loaded, backend, name, seconds, driver=pianist, prepare=connect, mode="duet",
                                        notes_per_second=8.0, pitch_class_histogram=hist)
    finally:
        if "port" in player:
            player["port"].close()
    s = session.scheduler.stats
    pitches = [n for _, n in listener.onsets(start + WARMUP)]
    latency = Stats.summary(s.input_latency)
    return [[f"{label}: duet with {midi_path.name} ({len(events)} messages in {seconds:g} s): input -> context",
             f"p50 {latency['p50'] * MS:.2f} / p99 {latency['p99'] * MS:.2f} ms", f"rollbacks {s.rollbacks}", "p99 ≤ 10 ms"],
            [f"{label}: duet, model notes in C major while the pianist plays anything",
             f"{100 * in_scale(pitches, hist):.1f}%", f"{len(pitches)} model notes", ">= 95%"],
            [f"{label}: duet, notes sounding at the listener after stop", str(listener.sounding_at_end()), "", "0"]]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=",".join(SHIPPED_MODELS))
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--duet_seconds", type=float, default=60.0)
    p.add_argument("--duet_midi", default=str(Path(__file__).resolve().parents[2] / "shared/fixtures/Maestro_1.mid"))
    args = p.parse_args(argv)
    make_realtime(HELPER_PRIORITY)
    rows = []
    with JackServer() as jack:
        os.environ.update(jack.env)
        mido.set_backend(jack.env["MIDO_BACKEND"])
        backend = mido.Backend("mido.backends.rtmidi", api="UNIX_JACK")
        for label in args.models.split(","):
            loaded = load_bundle(resolve_bundle(label))
            rows += density_rows(loaded, backend, label, args.seconds)
            rows += scale_rows(loaded, backend, label, args.seconds)
            rows.append(responsiveness_row(loaded, backend, label))
            if args.duet_seconds > 0 and Path(args.duet_midi).is_file():
                rows += duet_rows(loaded, backend, label, Path(args.duet_midi), args.duet_seconds)
    print(f"\nload average during the bench: {os.getloadavg()[0]:.2f} (2 cores)\n")
    print("| measure | value | detail | target |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
