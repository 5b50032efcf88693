"""Bench: do the live knobs steer? Through a private JACK server, headless: requested against measured.

Phases per model (the shipped ones by default): solo at each density for --seconds; solo in each scale;
a scale change sent through the command queue -> first model note that only the new scale allows (lookahead
100 ms, target <= lookahead + 30 ms); a duet where a player plays notes outside the scale.
Prints Markdown tables. Usage: python bench/bench_steering.py [--seconds 20] [bundle ...]
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the CLI does

import argparse  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import mido  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from engine.bundle import default_bundle_path, load_bundle  # noqa: E402
from live.commands import SetPitchClassHistogram  # noqa: E402
from live.ports import PortConfig  # noqa: E402
from live.scheduler import Stats  # noqa: E402
from live.session import Session, SessionConfig  # noqa: E402
from tests.live.jack_server import JackServer  # noqa: E402

SCALES = {"C major": (1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1), "A minor pentatonic": (1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 0),
          "C whole-tone": (1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0)}
DENSITIES = (1.0, 2.0, 4.0, 8.0, 16.0)


class Notes:
    """A JACK client on the instrument's output: (arrival, pitch) of every note-on."""

    def __init__(self, backend, port_name: str):
        name = next(n for n in backend.get_input_names() if n.endswith(f":{port_name}"))
        self.ons: list[tuple[float, int]] = []
        self.port = backend.open_input(name, callback=self._on)

    def _on(self, msg):
        if msg.type == "note_on" and msg.velocity > 0:
            self.ons.append((time.perf_counter(), msg.note))


def session_run(loaded, backend, seconds: float, during=None, player_seconds: float = 0.0, **knobs):
    name = f"steer-{time.monotonic_ns()}"
    mode = "duet" if player_seconds else "solo"
    config = SessionConfig(mode=mode, seed=0, duration=seconds, ports=PortConfig(
        virtual_name=name, no_input=not player_seconds), **knobs)
    session = Session(config, loaded=loaded, report=lambda text: None)
    notes = Notes(backend, name)
    player = None
    if player_seconds:
        inp = next(n for n in backend.get_output_names() if n.endswith(f":{name} in"))
        player = backend.open_output(inp)
    session.start()
    if during is not None:
        threading.Thread(target=during, args=(session,), daemon=True).start()
    if player is not None:
        play_outside(player, player_seconds)
    session.wait()
    session.stop()
    time.sleep(0.1)
    notes.port.close()
    if player is not None:
        player.close()
    return session, notes.ons


def play_outside(port, seconds: float) -> None:
    """A player on black keys (outside C major and A minor pentatonic), 4 notes/s."""
    end = time.perf_counter() + seconds - 0.5
    k = 0
    while time.perf_counter() < end:
        note = (61, 63, 66, 68, 70)[k % 5]
        port.send(mido.Message("note_on", note=note, velocity=80))
        time.sleep(0.15)
        port.send(mido.Message("note_off", note=note))
        time.sleep(0.1)
        k += 1


def in_scale(ons, scale) -> float:
    return 100.0 * sum(1 for _, p in ons if scale[p % 12]) / max(len(ons), 1)


def response_ms(loaded, backend, seconds: float, repeats: int) -> list[float]:
    """Whole-tone <-> C major every 2 s; time to the first note-on only the new scale allows."""
    changes = []

    def flip(session):
        for k in range(repeats):
            time.sleep(2.0)
            scale = SCALES["C whole-tone"] if k % 2 == 0 else SCALES["C major"]
            changes.append((time.perf_counter(), scale))
            session.send(SetPitchClassHistogram(scale))

    _, ons = session_run(loaded, backend, seconds, during=flip, notes_per_second=16.0,
                         pitch_class_histogram=SCALES["C major"])
    out, old = [], SCALES["C major"]
    for at, scale in changes:
        first = next((t for t, p in ons if t > at and scale[p % 12] and not old[p % 12]), None)
        if first is not None:
            out.append((first - at) * 1e3)
        old = scale
    return out


def bench_model(loaded, label, backend, seconds: float, repeats: int = 10) -> list[list[str]]:
    rows = []
    for nps in DENSITIES:
        session, ons = session_run(loaded, backend, seconds, notes_per_second=nps)
        s = session.scheduler.stats
        rows.append([label, f"density {nps:g} notes/s, solo {seconds:g} s", f"{len(ons) / seconds:.2f} notes/s",
                     f"late p99 {Stats.summary(s.lateness)['p99'] * 1e3:.3f} ms, late ticks {s.late_ticks}"])
    for name, scale in SCALES.items():
        for duet in (False, True):
            session, ons = session_run(loaded, backend, seconds, pitch_class_histogram=scale, notes_per_second=4.0,
                                       player_seconds=seconds if duet else 0.0)
            s = session.scheduler.stats
            extra = (f", input->context p99 {Stats.summary(s.input_latency)['p99'] * 1e3:.2f} ms" if duet else "")
            rows.append([label, f"{name}, {'duet (player off-scale)' if duet else 'solo'} {seconds:g} s",
                         f"{in_scale(ons, scale):.1f}% in scale (n={len(ons)})",
                         f"late p99 {Stats.summary(s.lateness)['p99'] * 1e3:.3f} ms, late ticks {s.late_ticks}{extra}"])
    delays = response_ms(loaded, backend, 2.0 * repeats + 1.0, repeats)
    if delays:
        rows.append([label, f"scale change -> first obeying note (n={len(delays)})",
                     f"p50 {np.percentile(delays, 50):.0f} ms, p95 {np.percentile(delays, 95):.0f} ms", "<= 130 ms"])
    return rows


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("bundles", nargs="*")
    args = p.parse_args(argv)
    rows = []
    with JackServer() as jack:
        os.environ.update(jack.env)
        mido.set_backend(jack.env["MIDO_BACKEND"])
        backend = mido.Backend("mido.backends.rtmidi", api="UNIX_JACK")
        for path in args.bundles or [str(default_bundle_path())]:
            rows += bench_model(load_bundle(path), os.path.basename(path), backend, args.seconds)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} (2 cores)\n")
    print("| model | run | measured | clock |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
