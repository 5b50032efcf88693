"""Bench: scheduler send lateness with the Textual panel running vs headless; prints a Markdown table.

The model is a 3x512 Performance RNN (the shipped bundle if present, else random weights of that size: a
step costs the same) in solo mode at a dense setting. "with TUI" runs the real app through Textual's
headless driver at 130x40 (every frame is composed and rendered; only the terminal write is skipped).

Usage: python bench/bench_tui.py [--seconds 20] [--refresh-hz 15]
"""
from __future__ import annotations

import os

# As the live CLI does: one BLAS thread (a second one only waits for a core; the other core is JACK's and
# the UI's). Must be set before numpy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import asyncio  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from engine.bundle import default_bundle_path, load_bundle  # noqa: E402
from engine.configs import get_config  # noqa: E402
from engine.model import PerformanceModel  # noqa: E402
from engine.stepper import Stepper  # noqa: E402
from live.commands import SetControl, Stop  # noqa: E402
from live.scheduler import Scheduler  # noqa: E402
from live.session import Session, SessionConfig  # noqa: E402
from live.settings import Settings  # noqa: E402

DENSE = 12.0  # notes per second asked of the model


class NullPort:
    def send(self, msg):
        pass

    def close(self):
        pass


def build_model():
    path = default_bundle_path()
    if path.is_file():
        loaded = load_bundle(path)
        return loaded.config, loaded.stepper(), "shipped bundle"
    config = get_config("multiconditioned_performance_with_dynamics").with_hparams("rnn_layer_sizes=[512,512,512]")
    torch.manual_seed(0)
    model = PerformanceModel(config).eval()
    with torch.no_grad():  # a random net mostly emits long time shifts: bias it towards dense playing
        model.head.weight.mul_(0.1)
        offsets = config.vocab.offsets
        model.head.bias.zero_()
        model.head.bias[offsets["note_on"] + 48:offsets["note_on"] + 84] = 3.0
        model.head.bias[offsets["note_off"] + 48:offsets["note_off"] + 84] = 3.0
        model.head.bias[offsets["time_shift"]:offsets["time_shift"] + 10] = 4.0
    return config, Stepper(model), "random 3x512 (biased to play densely)"


def warm_up(config, stepper, steps: int = 50) -> None:
    """Cold first steps take tens of ms (page faults, caches); the scheduler budgets by its step estimate."""
    state = stepper.zero_state(1)
    controls = None if not config.control_size else np.zeros((1, config.control_size), np.float32)
    for _ in range(steps):
        _, state = stepper.step(np.array([config.vocab.no_event_id]), controls, state)


def build_session(config, stepper):
    warm_up(config, stepper)
    settings = Settings(mode="solo", notes_per_second=DENSE, lookahead_ms=100)
    session = Session(SessionConfig(settings, seed=0, realtime=False),
                      loaded=SimpleNamespace(config=config, stepper=lambda: stepper), output_port=NullPort(),
                      open_ports=False)
    session.output.flush_seconds = 0
    scheduler, performer = session.scheduler, session.scheduler.performer
    performer.start(0)
    for step in range(20):  # the first work() pays one-time costs (first deepcopy, first decode): 20-60 ms
        performer.work(step, step + 10)

    def warmed_run():
        # A new thread's first BLAS call pays a one-time setup (tens of ms); a first step that slow makes
        # the scheduler's step estimate exceed the tick, and it then never steps again (reported). Warm
        # up on the clock thread itself.
        warm_up(config, stepper)
        Scheduler.run(scheduler)

    scheduler.run = warmed_run
    session.input_name, session.output_name = "bench", "null"
    return session


def summary(session, skip_seconds: float = 1.0) -> dict:
    s = session.scheduler.stats
    late = np.asarray(s.lateness) * 1000
    steps = np.asarray(s.step_seconds) * 1000
    late = late[int(len(late) * skip_seconds / max(1e-9, session.seconds)):]  # skip the start-up second
    return {"sent": len(late), "p50": np.percentile(late, 50), "p99": np.percentile(late, 99), "max": late.max(),
            "step_p50": np.percentile(steps, 50), "step_p99": np.percentile(steps, 99),
            "late_ticks": s.late_ticks, "ticks": s.ticks}


def run_headless(config, stepper, seconds: float):
    session = build_session(config, stepper)
    thread = threading.Thread(target=session.scheduler.run)
    thread.start()
    time.sleep(seconds)
    session.commands.put(Stop())
    thread.join()
    session.seconds = seconds
    return summary(session)


def run_with_tui(config, stepper, seconds: float, refresh_hz: float):
    from live.presets import InstrumentState
    from live.tui.app import make_app

    session = build_session(config, stepper)
    state = InstrumentState(notes_per_second=DENSE, scale="major", mode="solo", lookahead_ms=100)

    async def play():
        app = make_app(session, presets=[], state=state, cc_map_path=None, refresh_hz=refresh_hz)
        async with app.run_test(size=(130, 40)) as pilot:
            await pilot.pause(seconds)
            session.commands.put(SetControl("notes_per_second", DENSE))

    asyncio.run(play())
    session.seconds = seconds
    return summary(session)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--refresh-hz", type=float, default=15.0)
    parser.add_argument("--repeats", type=int, default=3, help="alternate the two runs this often (a shared "
                                                                "machine's stalls hit single runs)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.backends.mkldnn.enabled = False
    config, stepper, name = build_model()
    tui = f"with TUI ({args.refresh_hz:g} Hz)"
    rows = []
    for _ in range(args.repeats):
        rows.append(("headless", run_headless(config, stepper, args.seconds)))
        rows.append((tui, run_with_tui(config, stepper, args.seconds, args.refresh_hz)))
    print(f"model: {name}, solo at {DENSE:g} notes/s, {args.seconds:g} s per run, load average "
          f"{os.getloadavg()[0]:.1f}\n")
    print("| run | messages | lateness p50 (ms) | p99 (ms) | max (ms) | model step p50 / p99 (ms) | late ticks |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, r in rows:
        print(f"| {label} | {r['sent']} | {r['p50']:.3f} | {r['p99']:.3f} | {r['max']:.2f} | "
              f"{r['step_p50']:.2f} / {r['step_p99']:.2f} | {r['late_ticks']} / {r['ticks']} |")
    for label in ("headless", tui):
        mine = [r for lab, r in rows if lab == label]
        med = {k: float(np.median([r[k] for r in mine])) for k in ("p50", "p99", "max")}
        print(f"| **{label}, median of {len(mine)}** | | **{med['p50']:.3f}** | **{med['p99']:.3f}** | "
              f"**{med['max']:.2f}** | | |")


if __name__ == "__main__":
    main()
