"""Training speed: tokens/s of one full step (forward, token-mean CE, backward, per-tensor clip, Adam).

Compares the training paths for a 3x512 and smaller models at batch 64 x 512 (Magenta's shape):
  lstm-fp32   PerformanceModel.forward (nn.LSTM via oneDNN), fp32 — the plain baseline
  lstm-bf16   the same under torch.autocast(bfloat16): oneDNN's bf16 LSTM (performance_rnn_train --bf16)
The peer to beat: Performance-RNN-PyTorch at 2,309 tokens/s (GRU 3x512, batch 64 x 200, 2 threads).
Wall time is what counts; CPU time (process_time, all threads) is printed too because it is less disturbed
when other jobs share the machine (with --threads 1 it is a fair proxy for a quiet core).
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
from train.trainer import clip_per_tensor  # noqa: E402

PEER_TOKENS_PER_SECOND = 2309
MODES = ("lstm-fp32", "lstm-bf16")


def make_step(mode: str, model: PerformanceModel):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(ids, labels):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=mode == "lstm-bf16"):
            logits = model(ids)[0]
        loss = torch.nn.functional.cross_entropy(logits.float().flatten(0, 1), labels.flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        clip_per_tensor(model.parameters(), 3.0)
        optimizer.step()
        return loss.item()

    return step


def bench(sizes: list[int], mode: str, batch: int, seq: int, steps: int) -> tuple[list[float], list[float]]:
    config = get_config("performance_with_dynamics").with_hparams(f"rnn_layer_sizes={sizes}")
    torch.manual_seed(0)
    model = PerformanceModel(config)
    ids = torch.randint(0, config.num_classes, (batch, seq))
    labels = torch.randint(0, config.num_classes, (batch, seq))
    step = make_step(mode, model)
    step(ids, labels)  # warm-up: oneDNN primitives, allocator
    times, cpu = [], []
    for _ in range(steps):
        start, start_cpu = time.perf_counter(), time.process_time()
        step(ids, labels)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return times, cpu


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
    print("| model | mode | s/step (best) | all steps (s) | tokens/s | x peer (2,309) | CPU s/step | tokens/CPU-s |")
    print("|---|---|---|---|---|---|---|---|", flush=True)
    for text in args.models:
        sizes = [int(s) for s in text.split(",")]
        for mode in args.modes:
            times, cpu = bench(sizes, mode, args.batch, args.seq, args.steps)
            best, best_cpu = min(times), min(cpu)
            name = f"lstm {len(sizes)}x{sizes[0]}"
            print(f"| {name} | {mode} | {best:.2f} | {', '.join(f'{t:.2f}' for t in times)} | "
                  f"{tokens / best:,.0f} | {tokens / best / PEER_TOKENS_PER_SECOND:.2f} | {best_cpu:.2f} | "
                  f"{tokens / best_cpu:,.0f} |", flush=True)

if __name__ == "__main__":
    main()
