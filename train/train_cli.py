"""performance_rnn_train: train (or with --eval, evaluate) a Performance RNN; also under torchrun."""
from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

from engine.configs import CONFIGS, get_config
from engine.errors import PerformanceRnnError

from .cli_common import Parser, add_bool, run as run_cli
from .warm_start import FINETUNE_LEARNING_RATE, FINETUNE_STEPS, warm_start_config


def parse_args(argv=None):
    p = Parser(prog="performance_rnn_train", description=__doc__)
    p.add_argument("--config", default=None, help=f"one of: {', '.join(CONFIGS)} (default: performance, or the "
                   "--warm_start_bundle_file's)")
    p.add_argument("--run_dir", required=True, help="checkpoints and TensorBoard logs go to run_dir/train (eval: "
                   "run_dir/eval)")
    p.add_argument("--sequence_example_file", required=True,
                   help="training_performances.safetensors (or eval_performances.safetensors with --eval)")
    p.add_argument("--hparams", default="", help="e.g. 'batch_size=32,rnn_layer_sizes=[256,256]'")
    p.add_argument("--num_training_steps", type=int, default=None, help="stop after this many steps (0: until "
                   f"stopped; default 0, or {FINETUNE_STEPS} with --warm_start_bundle_file)")
    add_bool(p, "eval", "evaluate checkpoints of run_dir/train instead of training")
    add_bool(p, "eval_once", "with --eval: evaluate the latest checkpoint and exit")
    p.add_argument("--eval_interval_seconds", type=float, default=60.0)
    p.add_argument("--eval_timeout_seconds", type=float, default=300.0,
                   help="with --eval: exit after this long without a new checkpoint")
    p.add_argument("--warm_start_bundle_file", help="fine-tune: start from this bundle's weights (ours or a Magenta "
                   ".mag, a file or a model name) with its config and layer sizes, a fresh optimizer and step, "
                   f"learning_rate {FINETUNE_LEARNING_RATE} unless --hparams sets one; recorded in "
                   "run_dir/train/warm_start.json")
    p.add_argument("--device", default=None, help="cpu or cuda[:n] (default: cuda if available)")
    p.add_argument("--num_checkpoints", type=int, default=10, help="checkpoints to keep")
    p.add_argument("--summary_frequency", type=int, default=10, help="log metrics every this many steps")
    p.add_argument("--checkpoint_every_seconds", type=float, default=60.0)
    p.add_argument("--checkpoint_every_steps", type=int, default=0, help="checkpoint by steps instead of time")
    p.add_argument("--seed", type=int, default=0, help="data order and dropout seed")
    p.add_argument("--threads", type=int, default=0, help="CPU threads per process (default: cores / processes)")
    add_bool(p, "bf16", "bfloat16 autocast (fp32 weights and optimizer): ~3x faster on CPUs with AVX-512 "
             "bf16/AMX")
    p.add_argument("--log", default="INFO", help="accepted for compatibility with Magenta")
    return p.parse_args(argv)


def _check_args(args) -> None:
    if args.num_training_steps is None:
        args.num_training_steps = FINETUNE_STEPS if args.warm_start_bundle_file else 0
    for name in ("num_training_steps", "checkpoint_every_steps", "threads"):
        if getattr(args, name) < 0:
            raise PerformanceRnnError(f"--{name} must be >= 0, not {getattr(args, name)!r}")
    if args.summary_frequency < 1 or args.num_checkpoints < 1:
        raise PerformanceRnnError("--summary_frequency and --num_checkpoints must be >= 1")
    if args.eval_once and not args.eval:
        raise PerformanceRnnError("--eval_once needs --eval")


def _setup_torch(args):
    import torch

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise PerformanceRnnError(f"--device {device} but no CUDA GPU is available; use --device cpu")
    if device != "cpu" and not device.startswith("cuda"):
        raise PerformanceRnnError(f"--device must be cpu or cuda[:n], not {device!r}")
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    torch.set_num_threads(args.threads or max(1, (os.cpu_count() or 1) // local_world))
    torch.backends.mkldnn.enabled = True  # oneDNN's LSTM is the fast path for whole-sequence training
    return device


def run(args) -> None:
    _check_args(args)
    if args.warm_start_bundle_file:
        config = warm_start_config(args.warm_start_bundle_file, args.config, args.hparams)
    else:
        config = get_config(args.config or "performance").with_hparams(args.hparams)
    device = _setup_torch(args)
    from . import distributed

    info = distributed.setup(device)
    log = functools.partial(print, flush=True) if info.is_main else (lambda *a, **k: None)  # prompt in pipes
    try:
        if args.eval:
            from .evaluator import EvalSettings, Evaluator

            settings = EvalSettings(config, Path(args.run_dir), Path(args.sequence_example_file), device,
                                    args.eval_once, args.eval_interval_seconds, args.eval_timeout_seconds,
                                    args.num_training_steps, args.bf16, log)
            Evaluator(settings, info).run()
            return
        from .trainer import Trainer, TrainSettings

        settings = TrainSettings(config, Path(args.run_dir), Path(args.sequence_example_file),
                                 args.num_training_steps, device, args.seed, args.num_checkpoints,
                                 args.summary_frequency, args.checkpoint_every_seconds, args.checkpoint_every_steps,
                                 args.bf16, args.warm_start_bundle_file, log)
        trainer = Trainer(settings, info)
        trainer.run()
        if info.enabled:
            print(f"rank {info.rank}/{info.world}: step {trainer.step} weights sha256 {trainer.weights_digest()}",
                  flush=True)
    finally:
        distributed.teardown(info)


def main(argv=None) -> int:
    """Bad input: one `error: ...` line on stderr and exit status 2 (SystemExit)."""
    args = parse_args(argv)
    run_cli(run, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
