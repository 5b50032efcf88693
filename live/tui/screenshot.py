"""Regenerate the README screenshot (docs/screenshot.svg): the panel with a scripted duet, no clock, no ports.

Usage: python -m live.tui.screenshot [docs/screenshot.svg]"""
from __future__ import annotations

import asyncio
import heapq
import sys
from pathlib import Path

import mido
import numpy as np

from engine.configs import get_config
from engine.model import PerformanceModel
from engine.bundle import LoadedModel
from live.presets import discover_presets, shipped_presets_dir
from live.scheduler import StatsReport
from live.session import Session, SessionConfig
from live.settings import Settings
from live.tui.app import make_app

SIZE = (130, 40)


class _NullPort:
    def send(self, msg):
        pass

    def close(self):
        pass


def _session():
    """A session whose clock never runs (random tiny model, no ports): the panel only needs its queue and heap."""
    config = get_config("multiconditioned_performance_with_dynamics").with_hparams("rnn_layer_sizes=[8]")
    loaded = LoadedModel(config, PerformanceModel(config).eval())
    session = Session(SessionConfig(Settings(mode="duet"), seed=0), loaded=loaded, output_port=_NullPort(),
                      open_ports=False)
    session.input_name, session.output_name = "input 'USB Keystation 49'", "virtual output 'Performance RNN'"
    session.realtime = True  # as a running clock shows on a machine that grants SCHED_FIFO (most, as root/rtprio)
    return session


def _duet(log) -> None:
    """The player's A-minor chords and the model's pentatonic runs around them, over 10 s."""
    def note(t, part, pitch, length, velocity=80):
        log.add(t, part, mido.Message("note_on", note=pitch, velocity=velocity))
        if length is not None:
            log.add(t + length, part, mido.Message("note_off", note=pitch))

    for bar, chord in enumerate(((57, 60, 64), (53, 57, 60), (55, 59, 62), (52, 56, 59))):
        for pitch in chord:
            note(0.4 + bar * 2.4, "input", pitch, 1.6)
    rng = np.random.default_rng(3)
    scale = [69, 72, 74, 76, 79, 81, 84]
    t, i = 0.8, 2
    while t < 9.6:
        i = int(np.clip(i + rng.integers(-2, 3), 0, len(scale) - 1))
        note(t, "model", scale[i], 0.18 + 0.2 * rng.random())
        t += 0.12 + 0.25 * rng.random()
    note(9.7, "model", 76, None)
    note(9.5, "input", 45, None)


async def _shoot(path: Path) -> None:
    presets = discover_presets([shipped_presets_dir()])
    app = make_app(_session(), presets=presets, refresh_hz=0, autostart=False, cc_map_path=None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")  # Busy A blues, duet
        app.cc_map.bind(0, 74, "temperature")
        app.cc_map.bind(0, 71, "notes_per_second")
        app.bridge.running = True
        _duet(app.log_notes)
        for late in (0.0004, 0.0006, 0.0009, 0.0005):
            app.view.add_report(StatsReport(10.0, 1000, 2, late, 0.0011, 5, 37, 0))
        heap = app.bridge.session.scheduler.heap
        for i, (step, pitch, on) in enumerate(((1002, 76, False), (1004, 79, True), (1011, 79, False),
                                               (1013, 81, True), (1024, 81, False))):
            kind = "note_on" if on else "note_off"
            heapq.heappush(heap, (step, i, mido.Message(kind, note=pitch, velocity=96 if on else 0)))
        app.update_labels()
        app.refresh_view(now=10.0)
        await pilot.pause()
        path.parent.mkdir(parents=True, exist_ok=True)
        app.save_screenshot(filename=path.name, path=str(path.parent))
        app.bridge.running = False


def main(argv=None) -> None:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0] if args else "docs/screenshot.svg")
    asyncio.run(_shoot(path))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
