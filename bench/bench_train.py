"""Training speed: tokens/s of one full step (forward, token-mean CE, backward, per-tensor clip, Adam).

Compares the training paths for a 3x512 and smaller models at batch 64 x 512 (Magenta's shape):
  lstm-fp32   PerformanceModel.forward (nn.LSTM via oneDNN), fp32 — the plain baseline
  lstm-bf16   the same under torch.autocast(bfloat16)
  fast-bf16   train/fast_lstm.py: big bf16 GEMMs + fp32 gates (what performance_rnn_train --bf16 uses)
The peer to beat: Performance-RNN-PyTorch at 2,309 tokens/s (GRU 3x512, batch 64 x 200, 2 threads).
Usage: python bench/bench_train.py [--steps 3] [--seq 512] [--models 512,512,512 256,256,256] [--modes ...]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from engine.configs import get_config  # noqa: E402
from engine.model import PerformanceModel  # noqa: E402
from train.fast_lstm import FastTrainNet  # noqa: E402
from train.trainer import clip_per_tensor  # noqa: E402

PEER_TOKENS_PER_SECOND = 2309
MODES = ("lstm-fp32", "lstm-bf16", "fast-bf16")


def make_step(mode: str, model: PerformanceModel):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    fast = FastTrainNet(model, torch.bfloat16) if mode == "fast-bf16" else None

    def step(ids, labels):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=mode == "lstm-bf16"):
            logits = fast(ids) if fast else model(ids)[0]
        loss = torch.nn.functional.cross_entropy(logits.float().flatten(0, 1), labels.flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        clip_per_tensor(model.parameters(), 3.0)
        optimizer.step()
        return loss.item()

    return step


def bench(sizes: list[int], mode: str, batch: int, seq: int, steps: int) -> tuple[float, list[float]]:
    config = get_config("performance_with_dynamics").with_hparams(f"rnn_layer_sizes={sizes}")
    torch.manual_seed(0)
    model = PerformanceModel(config)
    ids = torch.randint(0, config.num_classes, (batch, seq))
    labels = torch.randint(0, config.num_classes, (batch, seq))
    step = make_step(mode, model)
    step(ids, labels)  # warm-up: oneDNN primitives, allocator
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step(ids, labels)
        times.append(time.perf_counter() - start)
    return min(times), times


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=["512,512,512", "256,256,256"])
    p.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seq", type=int, default=512)
    p.add_argument("--steps", type=int, default=3, help="timed steps after one warm-up step (best is reported)")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.backends.mkldnn.enabled = True
    tokens = args.batch * args.seq
    print(f"batch {args.batch} x {args.seq} = {tokens} tokens/step, {args.threads} threads, "
          f"torch {torch.__version__}, best of {args.steps} steps after 1 warm-up", flush=True)
    print(f"| model | mode | s/step (best) | all steps (s) | tokens/s | x peer (2,309) |")
    print(f"|---|---|---|---|---|---|", flush=True)
    for text in args.models:
        sizes = [int(s) for s in text.split(",")]
        for mode in args.modes:
            best, times = bench(sizes, mode, args.batch, args.seq, args.steps)
            name = f"lstm {len(sizes)}x{sizes[0]}"
            print(f"| {name} | {mode} | {best:.2f} | {', '.join(f'{t:.2f}' for t in times)} | "
                  f"{tokens / best:,.0f} | {tokens / best / PEER_TOKENS_PER_SECOND:.2f} |", flush=True)


if __name__ == "__main__":
    main()
