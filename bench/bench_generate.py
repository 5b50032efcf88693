"""Offline generation speed: the seed's example command, and raw batched event throughput.

(a) events: 10 outputs x 3000 generated events in one batch (the peer's "10 x 3000 steps"), through
    engine.generation with sampling and controls, random 3x512 LSTM;
(b) seed command: performance_rnn_generate --num_outputs=10 --num_steps=3000 --primer_melody=[...] end to end
    (model load, generation, MIDI writing). The model is --bundle, else the shipped default, else random
    3x512 weights.
(c) the peer, Performance-RNN-PyTorch's GRU 3x512 (bench/peer_rnn.py), 10 x 3000 steps in a child process of
    the same run, so the ratio is measured under the same load.
(d) beam search (--beam_size 4 --branch_factor 2: 80 rows a step) at int8, 1 thread, 10 x N events.
Each run is a child process because BLAS thread counts are fixed per process. Wall and CPU seconds are both
printed: on a shared machine the CPU ratio is the steadier one. The default precision of the generate CLI is int8
(bench/bench_precision.py shows it keeps the model's NLL and sample statistics).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MELODY_NOTES = [60, 62, 64, 65, 67, 69, 71, 72]
MELODY = str(MELODY_NOTES).replace(" ", "")


def _random_bundle(folder: Path) -> Path:
    import torch

    from engine.bundle import save_bundle
    from engine.configs import get_config
    from engine.model import PerformanceModel

    torch.manual_seed(0)
    return save_bundle(folder / "random.safetensors", PerformanceModel(get_config("performance_with_dynamics")),
                       {"description": "random 3x512 weights for benchmarking"})


def _seed_bundle(args, folder: Path) -> Path:
    from engine.bundle import default_bundle_path

    if args.bundle:
        return Path(args.bundle)
    return default_bundle_path() if default_bundle_path().is_file() else _random_bundle(folder)


def _timed(run) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def _seed_command(args, tmp: Path) -> tuple[float, int, str]:
    from engine.bundle import load_bundle
    from train.generate_cli import main as generate_main

    bundle = _seed_bundle(args, tmp)
    seconds, _ = _timed(lambda: generate_main([
        f"--bundle_file={bundle}", f"--output_dir={tmp}/out", "--num_outputs=10", "--num_steps=3000",
        f"--primer_melody={MELODY}", f"--precision={args.precision}", "--seed=0", "--log=WARNING"]))
    return seconds, len(list(Path(tmp, "out").glob("*.mid"))), load_bundle(bundle).metadata.get("description", "")


def child(args) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    row = {"precision": args.precision, "threads": args.threads, "beam": args.beam, "seed_s": float("nan"),
           "files": 0, "model": ""}
    if args.precision == "peer":
        from bench.peer_rnn import peer_seconds

        row["events_s"], row["events_cpu"] = peer_seconds(Path(args.peer_mirror), 10, args.events) or (
            float("nan"), float("nan"))
        return row
    from engine.bundle import load_bundle
    from engine.generation import ControlSchedule, GenerationOptions, generate
    from engine.primers import build_primer

    with tempfile.TemporaryDirectory() as tmp:
        loaded = load_bundle(_random_bundle(Path(tmp)))  # 3x512 like the peer; a trained model is no slower
        stepper = loaded.stepper(args.precision)
        primer = build_primer(loaded.config.num_velocity_bins, 300_000, melody=MELODY_NOTES)
        beam = {"beam_size": 4, "branch_factor": 2} if args.beam else {}
        options = GenerationOptions(num_steps=300_000, seed=0, max_events=args.events, **beam)
        out = []
        row["events_s"], row["events_cpu"] = _timed(lambda: out.extend(generate(
            stepper, primer, options, ControlSchedule(loaded.config, 300_000), num_outputs=10)))
        assert all(r.num_events == args.events for r in out)
        if not args.beam:
            row["seed_s"], row["files"], row["model"] = _seed_command(args, Path(tmp))
    return row


RUNS = [(threads, precision, False) for threads in (1, 2) for precision in ("peer", "float32", "int8")] + [
    (1, "int8", True)]


def parent(args) -> None:
    rows = []
    for threads, precision, beam in RUNS:
        env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
               "MKL_NUM_THREADS": str(threads), "PYTHONPATH": str(ROOT)}
        cmd = [sys.executable, __file__, "--child", "--threads", str(threads), "--precision", precision,
               "--events", str(args.events), "--peer_mirror", args.peer_mirror] + (["--beam"] if beam else []) + (
               ["--bundle", args.bundle] if args.bundle else [])
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"generation, random 3x512 LSTM; seed command model: {rows[1]['model']!r}; "
          f"load average {os.getloadavg()[0]:.2f} (1, 5 min: {os.getloadavg()[1]:.2f})")
    print(f"{'precision':17} {'thr':>3} {'10x' + str(args.events) + ' wall s':>15} {'CPU s':>6} {'events/s':>9} "
          f"{'x peer':>6} {'x peer CPU':>10} {'seed cmd s':>10} {'files':>5}")
    peer = {r["threads"]: r for r in rows if r["precision"] == "peer"}
    for r in rows:
        base = peer[r["threads"]]
        name = r["precision"] + (" beam 4x2" if r["beam"] else "")
        print(f"{name:17} {r['threads']:3d} {r['events_s']:15.2f} {r['events_cpu']:6.2f} "
              f"{10 * args.events / r['events_s']:9.0f} {base['events_s'] / r['events_s']:6.1f} "
              f"{base['events_cpu'] / r['events_cpu']:10.1f} {r['seed_s']:10.2f} {r['files']:5d}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bundle", default=None, help="model to use (default: shipped model, else random weights)")
    p.add_argument("--events", type=int, default=3000, help="events per output for the throughput run")
    p.add_argument("--precision", default="float32")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--beam", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--peer_mirror", default="/work/.mirror/djosix+Performance-RNN-PyTorch/repo",
                   help="git dir of Performance-RNN-PyTorch (the peer is skipped, nan, when it is missing)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args)))
    else:
        parent(args)


if __name__ == "__main__":
    main()
