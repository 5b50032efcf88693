"""Is int8 (the generate CLI's default) the same model as float32? And long teacher-forced scoring speed.

(a) NLL per event of 10 float32-generated samples (2000 events each) scored by the float32 and the int8 stepper
    in one batch (target: |difference| <= 0.01 nats/event);
(b) sample statistics, 10 outputs x 30 s: notes/s and the velocity histogram of int8 against float32, next to
    float32 against float32 with another seed (the noise);
(c) LoadedModel.event_log_probs over ~75k events (a 20-minute performance; sequence forward, not a step loop).
Model: --bundle, else the shipped default.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from engine.bundle import default_bundle_path, load_bundle
from engine.generation import ControlSchedule, GenerationOptions, batch_log_likelihood, generate
from engine.primers import build_primer
from train.performance_stats import rates_and_velocities

STEPS = 3000


def _samples(loaded, precision: str, seed: int, max_events=None):
    primer = build_primer(loaded.config.num_velocity_bins, STEPS, melody=[60, 62, 64, 65, 67])
    options = GenerationOptions(num_steps=STEPS if max_events is None else 300_000, seed=seed, max_events=max_events)
    schedule = ControlSchedule(loaded.config, options.num_steps)
    return generate(loaded.stepper(precision), primer, options, schedule, num_outputs=10), schedule


def _stats(samples):
    return rates_and_velocities([g.performance for g in samples], STEPS / 100)



def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bundle", default=str(default_bundle_path()))
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    loaded = load_bundle(args.bundle)
    print(f"model: {loaded.metadata.get('description', args.bundle)!r}; load average {os.getloadavg()[0]:.2f}")

    samples, schedule = _samples(loaded, "float32", seed=0, max_events=2000)
    ids = np.stack([g.performance.ids[:2000] for g in samples])
    events = ids.shape[0] * (ids.shape[1] - 1)
    nll = {precision: -batch_log_likelihood(loaded.stepper(precision), ids, schedule).sum() / events
           for precision in ("float32", "int8")}
    print(f"(a) NLL nats/event on {ids.shape[0]}x{ids.shape[1]} events: float32 {nll['float32']:.5f}  "
          f"int8 {nll['int8']:.5f}  difference {nll['int8'] - nll['float32']:+.5f}")

    base_rates, base_hist = _stats(_samples(loaded, "float32", seed=1)[0])
    noise_rates, noise_hist = _stats(_samples(loaded, "float32", seed=2)[0])
    int8_rates, int8_hist = _stats(_samples(loaded, "int8", seed=1)[0])
    print(f"(b) notes/s mean: float32 {base_rates.mean():.2f}  float32 other seed {noise_rates.mean():.2f}  "
          f"int8 {int8_rates.mean():.2f}; velocity histogram L1 distance from float32: other seed "
          f"{np.abs(noise_hist - base_hist).sum():.3f}, int8 {np.abs(int8_hist - base_hist).sum():.3f}")

    long = np.tile(ids.reshape(-1), 4)[:75_000]
    start = time.perf_counter()
    table = loaded.event_log_probs(long)
    print(f"(c) event_log_probs over {len(long)} events: {time.perf_counter() - start:.2f} s "
          f"(table {table.shape[0]}x{table.shape[1]})")


if __name__ == "__main__":
    main()
