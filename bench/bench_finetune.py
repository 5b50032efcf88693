"""Fine-tuning on a tiny synthetic style with the shipped model: does performance_rnn_finetune learn it?

Writes 3 minutes of whole-tone takes at 4 notes/s (tests/style_takes.py), fine-tunes --base for --minutes on
--threads threads (1 thread: wall minutes = CPU minutes), and prints held-out NLL of base and fine-tuned, and
the style (whole-tone share, notes/s) of the takes and of unconditioned samples of both models.
Usage: python bench/bench_finetune.py [--base chorales] [--minutes 2] [--threads 1] [--learning_rate 3e-4]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from engine.bundle import load_bundle  # noqa: E402
from tests.style_takes import sample_style, write_style_takes  # noqa: E402
from train.finetune import FinetuneSettings, finetune  # noqa: E402
from train.warm_start import FINETUNE_LEARNING_RATE  # noqa: E402


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", default="chorales")
    p.add_argument("--minutes", type=float, default=2.0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch_size", type=int, default=16)
    p.add_argument("--learning_rate", type=float, default=FINETUNE_LEARNING_RATE)
    p.add_argument("--sample_seconds", type=float, default=20.0)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        write_style_takes(Path(tmp) / "takes", 3.0)
        start, cpu = time.perf_counter(), time.process_time()
        r = finetune(FinetuneSettings(Path(tmp) / "takes", args.base, "bench", args.minutes,
                                      batch_size=args.batch_size, learning_rate=args.learning_rate,
                                      models_dir=Path(tmp) / "models"))
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        base = sample_style(load_bundle(args.base), args.sample_seconds)
        tuned = sample_style(load_bundle(r.path), args.sample_seconds)
    print(f"base {args.base}, {args.minutes} min budget, {args.threads} thread(s), batch {args.batch_size}, "
          f"lr {args.learning_rate}: {r.steps} steps, {wall:.0f} s wall, {cpu:.0f} CPU-s (with data and eval); "
          f"{r.train_takes} training / {r.heldout_takes} held-out takes; load {os.getloadavg()[0]:.1f}")
    print("| | held-out NLL/event | whole-tone share | notes/s |")
    print("|---|---|---|---|")
    print("| takes | | 1.00 | 4.00 |")
    print(f"| base ({args.base}) | {r.base_nll:.3f} | {base[0]:.2f} | {base[1]:.2f} |")
    print(f"| fine-tuned | {r.nll:.3f} ({-100 * r.improvement:+.0f}%) | {tuned[0]:.2f} | {tuned[1]:.2f} |")


if __name__ == "__main__":
    main()
