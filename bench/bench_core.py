"""Bench: the real-time core in its own process, with the panel on, on a busy machine; prints Markdown tables.

For each condition the shipped model plays solo at 8 notes/s for --seconds, into a JACK port (private dummy
server), with the Textual panel (headless driver: every frame is composed and rendered, only the terminal write
is skipped) in this process and the core in its child process, exactly as `performance_rnn_live` runs. "busy"
adds two CPU-bound processes (`while True: pass`) for the whole run: both cores are taken. The figures are the
core's own (live.session.Session.stats); the first row is the same core with no panel, idle, as the baseline: send lateness, late ticks, model step, and in duet the time from a
player's note arriving to its being in the model's context (a JACK client plays 4 notes/s). Each figure is the
median of --runs runs. Start-up: from launching `performance_rnn_live` (TUI, in a pseudo-terminal) to its first
note at a JACK client.

Usage: python bench/bench_core.py [--seconds 60] [--runs 3] [--long 600]  (--long: one long busy run with a
lateness histogram)
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import asyncio  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from contextlib import contextmanager  # noqa: E402

import mido  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from live.core_client import CoreClient  # noqa: E402
from live.ports import PortConfig  # noqa: E402
from live.session import SessionConfig  # noqa: E402
from live.settings import Settings  # noqa: E402
from tests.live.jack_server import JackServer  # noqa: E402

PLAYER_GAP = 0.25  # s between the bench player's notes in duet


@contextmanager
def busy(n: int):
    """n CPU-bound processes for the duration of the block."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def player(port_name: str, stop: threading.Event) -> None:
    """A keyboard player on the instrument's input: a short note every PLAYER_GAP seconds."""
    name = next(n for n in mido.get_output_names() if n.endswith(f":{port_name} in"))
    with mido.open_output(name) as out:
        pitch = 60
        while not stop.wait(PLAYER_GAP / 2):
            out.send(mido.Message("note_on", note=pitch, velocity=80))
            stop.wait(PLAYER_GAP / 2)
            out.send(mido.Message("note_off", note=pitch))
            pitch = 60 + (pitch - 59) % 12


def run_panel(mode: str, seconds: float, name: str) -> dict:
    """One session with the panel up; returns the core's stats."""
    from live.tui.app import make_app

    config = SessionConfig(Settings(mode=mode, notes_per_second=8.0), seed=0,
                           ports=PortConfig(no_input=mode == "solo", virtual_name=name))
    core = CoreClient(config)
    app = make_app(core, presets=[], cc_map_path=None)
    stop = threading.Event()
    playing = threading.Thread(target=player, args=(name, stop), daemon=True) if mode == "duet" else None

    async def play():
        async with app.run_test(size=(130, 40)) as pilot:
            await pilot.pause(1.0)
            if playing is not None:
                playing.start()
            await pilot.pause(seconds)
            stop.set()
            stats = core.stats()
            await pilot.press("q")
            return stats

    try:
        return asyncio.run(play())
    finally:
        stop.set()
        core.stop_clock()


def run_headless(seconds: float, name: str) -> dict:
    """The same core with no panel: the baseline the panel's cost is judged against."""
    config = SessionConfig(Settings(mode="solo", notes_per_second=8.0), seed=0,
                           ports=PortConfig(no_input=True, virtual_name=name))
    core = CoreClient(config)
    try:
        core.start_clock()
        core.start()
        time.sleep(1.0 + seconds)
        return core.stats()
    finally:
        core.stop_clock()


def median_row(label: str, runs: list[dict], load: str) -> list[str]:
    def med(path):
        values = [r[path[0]][path[1]] if len(path) == 2 else r[path[0]] for r in runs]
        return statistics.median(values)

    return [label, f"{med(('lateness', 'p50')):.3f} / {med(('lateness', 'p99')):.3f} / {med(('lateness', 'max')):.3f}",
            f"{med(('late_over_2ms',)):.0f} / {med(('ticks',)):.0f}", f"{med(('step', 'p99')):.2f}",
            f"{med(('input_latency', 'p99')):.2f}" if runs[0]["input_latency"]["n"] else "-",
            "yes" if all(r["realtime"] for r in runs) else "no", load]


def load_text() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def conditions(args):
    for mode, hogs in (("headless", 0), ("solo", 0), ("solo", 2), ("duet", 2)):
        runs, loads = [], []
        for i in range(args.runs):
            with busy(hogs):
                name = f"core-{mode}-{hogs}-{i}"
                runs.append(run_headless(args.seconds, name) if mode == "headless" else
                            run_panel(mode, args.seconds, name))
                loads.append(load_text())
        label = ("solo, no panel (the core alone)" if mode == "headless" else
                 f"{mode}, panel on, {'idle' if not hogs else f'{hogs} busy processes'}")
        yield median_row(label, runs, loads[-1])


def startup(runs: int) -> list[float]:
    """Seconds from launching the TUI to its first note at our port (given as its --output)."""
    out = []
    for i in range(runs):
        arrivals = []
        with mido.open_input(f"startup-{i}", virtual=True, callback=lambda m: arrivals.append(time.perf_counter())):
            started = time.perf_counter()
            cmd = (f"{sys.executable} -m live.cli --output startup-{i} --no_input --notes_per_second 8 "
                   f"--duration 6 --port_name startup-inst-{i}")
            proc = subprocess.Popen(["script", "-qec", cmd, "/dev/null"], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
            proc.wait(60)
            if arrivals:
                out.append(arrivals[0] - started)
    return out


def steal_seconds() -> float:
    """CPU time the hypervisor gave to other guests, all CPUs (Linux /proc/stat, USER_HZ = 100)."""
    with open("/proc/stat") as f:
        return int(f.readline().split()[8]) / 100


def long_run(seconds: float) -> None:
    steal_before = steal_seconds()
    with busy(2):
        stats = run_panel("solo", seconds, "core-long")
    print(f"\n{seconds:.0f} s, panel on, 2 busy processes, load {load_text()}: lateness p50/p99/max "
          f"{stats['lateness']['p50']:.3f}/{stats['lateness']['p99']:.3f}/{stats['lateness']['max']:.3f} ms, "
          f"{stats['late_over_2ms']} of {stats['ticks']} ticks woke over 2 ms late\n")
    print("worst sends (s since start, ms late):", stats["worst_sends"])
    print("ticks that woke over 2 ms late (tick, ms):", stats["late_ticks_over_2ms"])
    print("stalls, whole ticks skipped (tick reached, ticks skipped):", stats["stalls"])
    print("steal time (the hypervisor ran another guest) during the run: "
          f"{(steal_seconds() - steal_before) * 1000:.0f} ms\n")
    print("| lateness, ms | messages |\n|---|---|")
    for low, count in stats["histogram"]:
        print(f"| >= {low:g} | {count} |")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--long", type=float, metavar="SECONDS", help="only the long busy run with a histogram")
    args = p.parse_args(argv)
    with JackServer() as jack:
        os.environ.update(jack.env)
        mido.set_backend(jack.env["MIDO_BACKEND"])
        if args.long:
            long_run(args.long)
            return
        print(f"{os.cpu_count()} CPUs; {args.runs} runs of {args.seconds:.0f} s each, medians\n")
        print("| condition | lateness p50 / p99 / max, ms | ticks woken > 2 ms late / ticks | model step p99, ms "
              "| input heard p99, ms | SCHED_FIFO | load avg 1/5/15 |")
        print("|---|---|---|---|---|---|---|")
        for row in conditions(args):
            print("| " + " | ".join(row) + " |", flush=True)
        times = startup(args.runs)
        print(f"\nstart-up, `performance_rnn_live` to its first note: median {statistics.median(times):.2f} s "
              f"(runs: {', '.join(f'{t:.2f}' for t in times)}; load {load_text()})")


if __name__ == "__main__":
    main()
