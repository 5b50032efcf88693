"""Single-stream step latency of the 3x512 model (random weights: speed does not depend on them).

One row per (engine, threads): the numpy Stepper (float32 exact, int8 optional) against eager torch with
mkldnn off. BLAS thread counts are fixed per process, so each thread count runs in a child process.
Usage: python bench/bench_step.py [--steps 5000] [--layers 512,512,512] [--config performance_with_dynamics]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEER = "Performance-RNN-PyTorch GRU 3x512, batch-1 step: 2.3 ms median, 3.75 ms p99"


def _percentiles(times) -> dict:
    import numpy as np

    ms = np.asarray(times) * 1e3
    return {"p50": float(np.percentile(ms, 50)), "p99": float(np.percentile(ms, 99)),
            "p99.9": float(np.percentile(ms, 99.9)), "mean": float(ms.mean())}


def _time_loop(step, steps: int, warmup: int = 200) -> dict:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return _percentiles(times)


def child(args) -> list[dict]:
    import numpy as np
    import torch

    from engine.configs import get_config
    from engine.model import PerformanceModel
    from engine.stepper import Stepper

    torch.set_num_threads(args.threads)
    config = get_config(args.config).with_hparams(f"rnn_layer_sizes=[{args.layers}]")
    torch.manual_seed(0)
    model = PerformanceModel(config).eval()
    rng = np.random.default_rng(0)
    controls = np.zeros((1, config.control_size), np.float32)
    rows = []
    for batch in (1, 10):
        for precision in ("float32", "int8"):
            stepper = Stepper(model, precision)
            box = {"state": stepper.zero_state(batch)}
            ids = rng.integers(0, config.num_classes, batch)

            def step():
                box["logits"], box["state"] = stepper.step(ids, controls, box["state"])

            rows.append({"engine": f"numpy stepper {precision}", "batch": batch, **_time_loop(step, args.steps)})
    rows.append({"engine": "torch eager, mkldnn off", "batch": 1, **_torch_eager(model, args.steps // 2)})
    for row in rows:
        row["threads"] = args.threads
    return rows


def _torch_eager(model, steps: int) -> dict:
    import torch

    ids = torch.zeros(1, 1, dtype=torch.long)
    controls = torch.zeros(1, 1, model.config.control_size) if model.config.control_size else None
    box = {"state": model.zero_state(1)}

    def step():
        box["logits"], box["state"] = model(ids, controls, box["state"])

    with torch.inference_mode(), torch.backends.mkldnn.flags(enabled=False):
        return _time_loop(step, steps)


def parent(args) -> None:
    rows = []
    for threads in (1, 2):
        env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
               "MKL_NUM_THREADS": str(threads), "PYTHONPATH": str(ROOT)}
        cmd = [sys.executable, __file__, "--child", "--threads", str(threads), "--steps", str(args.steps),
               "--layers", args.layers, "--config", args.config]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        rows += json.loads(done.stdout.strip().splitlines()[-1])
    print(f"step latency, {args.config}, LSTM {args.layers}, {args.steps} timed steps (ms)")
    print(f"{'engine':28} {'batch':>5} {'thr':>3} {'p50':>7} {'p99':>7} {'p99.9':>7} {'events/s':>9}")
    for r in sorted(rows, key=lambda r: (r["batch"], r["engine"], r["threads"])):
        print(f"{r['engine']:28} {r['batch']:5d} {r['threads']:3d} {r['p50']:7.3f} {r['p99']:7.3f} "
              f"{r['p99.9']:7.3f} {r['batch'] * 1e3 / r['mean']:9.0f}")
    print(f"peer: {PEER}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=5000)
    p.add_argument("--layers", default="512,512,512")
    p.add_argument("--config", default="performance_with_dynamics")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args)))
    else:
        parent(args)


if __name__ == "__main__":
    main()
