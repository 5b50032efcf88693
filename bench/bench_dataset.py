"""Dataset build speed and size: performance_rnn_create_dataset on MIDI folders and music21 corpus subsets.

Each input is built into a temp folder with the real pipeline (all stretches, chunking, extraction, writing).
`music21:every=K` takes every K-th file of the whole corpus (sorted paths, .rntxt excluded): a systematic
sample across all composers, used to extrapolate the full-corpus build (`x K` row).
Usage: python bench/bench_dataset.py [--inputs ../shared/fixtures music21:bach music21:every=25] [--workers 2]
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from train.dataset_build import BuildSettings  # noqa: E402
from train.dataset_cli import run_sources, write_dataset  # noqa: E402
from train.sources import resolve_inputs  # noqa: E402

DEFAULT_INPUTS = ["../shared/fixtures", "music21:bach", "music21:every=25"]


def sources_for(spec: str):
    if spec.startswith("music21:every="):
        every = int(spec.split("=", 1)[1])
        return resolve_inputs("music21:")[::every], every
    return resolve_inputs(spec), 1


def bench_one(spec: str, config: str, workers: int) -> dict:
    sources, scale = sources_for(spec)
    settings = BuildSettings(config, eval_ratio=0.1, seed=0)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        cpu = _cpu_seconds()
        results = run_sources(settings, sources, workers)
        manifest = write_dataset(Path(out), settings, results, time.perf_counter() - start)
        seconds = time.perf_counter() - start
    splits = manifest["splits"]
    return {"input": spec, "files": len(sources), "skipped": len(manifest["skipped"]),
            "pieces": sum(s["pieces"] for s in splits.values()), "hours": sum(s["hours"] for s in splits.values()),
            "train": splits["training"]["examples"], "eval": splits["eval"]["examples"],
            "events": sum(s["events"] for s in splits.values()),
            "mb": sum(f["bytes"] for f in manifest["files"].values()) / 1e6, "seconds": seconds,
            "cpu": _cpu_seconds() - cpu, "scale": scale}


def _cpu_seconds() -> float:
    """This process plus its finished worker processes (the pool is joined before we read it)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def row(r: dict, scale: float = 1.0, label: str | None = None) -> str:
    return (f"| {label or r['input']} | {r['files'] * scale:,.0f} | {r['skipped'] * scale:,.0f} | "
            f"{r['pieces'] * scale:,.0f} | {r['hours'] * scale:,.1f} | {r['train'] * scale:,.0f} | "
            f"{r['eval'] * scale:,.0f} | {r['events'] * scale / 1e6:,.2f} | {r['mb'] * scale:,.1f} | "
            f"{r['seconds'] * scale:,.1f} | {r['cpu'] * scale:,.1f} |")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--inputs", nargs="+", default=DEFAULT_INPUTS)
    p.add_argument("--config", default="performance_with_dynamics")
    p.add_argument("--workers", type=int, default=os.cpu_count())
    args = p.parse_args(argv)
    print(f"config {args.config}, {args.workers} worker processes, {os.cpu_count()} cores")
    print("| input | files | skipped | pieces | hours | train examples | eval examples | M events | MB | wall s "
          "| CPU s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
    for spec in args.inputs:
        if not spec.startswith("music21:") and not Path(spec).exists():
            print(f"| {spec} | (not found, skipped) ||||||||||", flush=True)
            continue
        r = bench_one(spec, args.config, args.workers)
        print(row(r), flush=True)
        if r["scale"] > 1:
            print(row(r, r["scale"], f"whole corpus, extrapolated (x{r['scale']})"), flush=True)


if __name__ == "__main__":
    main()
