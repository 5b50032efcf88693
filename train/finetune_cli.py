"""performance_rnn_finetune: a personal model from your recorded takes, in one command.

Reads the player's track of every take in --takes, fine-tunes --base on it for --minutes, compares base and
fine-tuned on held-out takes, and saves the model as --name in your models folder, where the instrument's
model picker (b) and --bundle_file=NAME find it.
"""
from __future__ import annotations

import sys
from pathlib import Path

from engine.errors import PerformanceRnnError
from engine.user_dirs import takes_dir, user_models_dir

from .cli_common import Parser, add_bool, run as run_cli
from .warm_start import FINETUNE_LEARNING_RATE


def parse_args(argv=None):
    p = Parser(prog="performance_rnn_finetune", description=__doc__)
    p.add_argument("--takes", type=Path, default=takes_dir(), help=f"folder of takes, searched recursively "
                   f"(default: where the instrument saves them, {takes_dir()})")
    p.add_argument("--base", default="default", help="the model to start from: a shipped model's name, a "
                   "user model's name or a bundle file (ours or a Magenta .mag)")
    p.add_argument("--name", required=True, help=f"name of the new model (saved to {user_models_dir()}/NAME"
                   ".safetensors)")
    p.add_argument("--minutes", type=float, default=10.0, help="training time budget")
    add_bool(p, "overwrite", "replace an existing model of that name")
    p.add_argument("--config", default=None, help="check that the base has this config")
    p.add_argument("--batch_size", type=int, default=16)
    p.add_argument("--learning_rate", type=float, default=FINETUNE_LEARNING_RATE)
    p.add_argument("--max_steps", type=int, default=0, help="stop after this many steps (0: the time budget)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="CPU threads (default: torch's choice)")
    p.add_argument("--progress", choices=("bar", "lines"), default="bar",
                   help="a progress bar on stderr, or 'progress FRACTION STEP' lines on stdout (for the TUI)")
    return p.parse_args(argv)


def _progress(kind: str, total_seconds: float):
    """An on_step callback and a close function."""
    if kind == "lines":
        last = [-1]

        def line(step, seconds):
            percent = min(100, int(100 * seconds / total_seconds))
            if percent != last[0]:
                last[0] = percent
                print(f"progress {percent / 100:.2f} {step}", flush=True)
        return line, lambda: None
    from tqdm import tqdm

    bars = []  # made at the first step, so an error before training is the only line on stderr

    def update(step, seconds):
        if not bars:
            bars.append(tqdm(total=round(total_seconds), unit="s", desc="fine-tuning", dynamic_ncols=True,
                             file=sys.stderr))
        bar = bars[0]
        bar.update(max(0, min(round(seconds), bar.total) - bar.n))
        bar.set_postfix(step=step, refresh=False)
    return update, lambda: [bar.close() for bar in bars]


def run(args) -> None:
    import torch

    from .finetune import FinetuneSettings, finetune

    if args.threads < 0 or args.batch_size < 1 or args.max_steps < 0:
        raise PerformanceRnnError("--threads and --max_steps must be >= 0, --batch_size >= 1")
    if args.threads:
        torch.set_num_threads(args.threads)
    on_step, close = _progress(args.progress, args.minutes * 60)
    settings = FinetuneSettings(args.takes, args.base, args.name, args.minutes, args.overwrite, args.config,
                                args.batch_size, args.learning_rate, args.max_steps, args.seed, on_step=on_step)
    try:
        result = finetune(settings)
    finally:
        close()
    print(f"held-out NLL per event: base {result.base_nll:.3f} -> fine-tuned {result.nll:.3f} "
          f"({-100 * result.improvement:+.0f}%) on {result.heldout_takes} held-out takes; {result.steps} steps on "
          f"{result.train_takes} takes ({result.playing_seconds / 60:.1f} min of playing)", flush=True)
    print(f"saved {args.name} to {result.path}", flush=True)


def main(argv=None) -> int:
    """Bad input: one `error: ...` line on stderr and exit status 2 (SystemExit)."""
    run_cli(run, parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
