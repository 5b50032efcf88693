"""Bench: MIDI file -> performance class ids (and back), per fixture file; prints a Markdown table.

Usage: python bench/bench_convert.py [files...]   (default: ../shared/fixtures/*.mid)
"""
from __future__ import annotations

import glob
import os
import statistics
import sys
import time

import mido

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from engine.errors import MidiReadError  # noqa: E402
from engine.performance import Performance  # noqa: E402

DEFAULT_GLOB = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "fixtures", "*.mid")


def best_of(fn, repeats=5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main(paths: list[str]) -> None:
    print("| file | notes | events | minutes | file -> ids (best / median ms) | ids -> MIDI (ms) | mido parse+iterate only (ms) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for path in paths:
        name = os.path.basename(path)
        try:
            perf = Performance.from_midi(path)
        except MidiReadError as err:
            print(f"| {name} | skipped: {str(err).split(': ', 1)[1]} | | | | | |")
            continue
        best, median = best_of(lambda: Performance.from_midi(path))
        back, _ = best_of(lambda: perf.to_midi(), repeats=3)
        mido_time, _ = best_of(lambda: sum(1 for _ in mido.MidiFile(path)), repeats=2)
        notes = len(perf.to_notes(max_note_duration=None))
        print(f"| {name} | {notes} | {len(perf)} | {perf.num_steps / 6000:.1f} | {best * 1e3:.0f} / {median * 1e3:.0f} "
              f"| {back * 1e3:.0f} | {mido_time * 1e3:.0f} |")


if __name__ == "__main__":
    main(sys.argv[1:] or sorted(glob.glob(DEFAULT_GLOB)))
