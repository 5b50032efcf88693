"""Is int8 (the generate and evaluate default) the same model as float32? And long teacher-forced scoring speed.

For each model (--bundle, repeatable; default: both shipped models):
(a) NLL per event on held-out MIDI (--midi: chunked like an eval split, the first 256 events of each chunk),
    scored by the float32 and the int8 stepper in one batch, unconditioned and with the default controls
    (target: |difference| <= 0.01 nats/event);
(b) sample statistics, 10 outputs x 30 s: notes/s and the velocity histogram of int8 against float32, next to
    float32 against float32 with another seed (the noise);
(c) LoadedModel.event_log_probs over 75k events of those performances (a 20-minute performance), wall and CPU s
    (target: <= 3 s).
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from engine.bundle import SHIPPED_MODELS, load_bundle
from engine.generation import ControlSchedule, GenerationOptions, batch_log_likelihood, generate
from engine.primers import build_primer
from train.heldout import midi_eval_split
from train.performance_stats import rates_and_velocities

STEPS = 3000
CHUNK = 256
LONG = 75_000
FIXTURES = "/work/shared/fixtures"  # real performances (MAESTRO, POP909, piano pieces) not in the repo


def heldout_ids(spec: str, config_name: str) -> np.ndarray:
    """[N, CHUNK] class ids: the first CHUNK events of every eval chunk of the MIDI that is long enough."""
    split = midi_eval_split(spec, config_name)
    examples = [split.example(i) for i in range(len(split))]
    return np.stack([e[:CHUNK] for e in examples if len(e) >= CHUNK]).astype(np.int64)


def nll_row(loaded, ids: np.ndarray, disabled: bool) -> dict:
    schedule = ControlSchedule(loaded.config, STEPS, disable_conditioning=disabled if
                               loaded.config.optional_conditioning else None)
    events = ids.shape[0] * (ids.shape[1] - 1)
    return {p: -batch_log_likelihood(loaded.stepper(p), ids, schedule).sum() / events for p in ("float32", "int8")}


def _samples(loaded, precision: str, seed: int):
    primer = build_primer(loaded.config.num_velocity_bins, STEPS, melody=[60, 62, 64, 65, 67])
    options = GenerationOptions(num_steps=STEPS, seed=seed)
    return generate(loaded.stepper(precision), primer, options, ControlSchedule(loaded.config, STEPS), 10)


def _stats(loaded, precision: str, seed: int):
    return rates_and_velocities([g.performance for g in _samples(loaded, precision, seed)], STEPS / 100)


def measure(name: str, spec: str) -> None:
    loaded = load_bundle(name)
    print(f"\nmodel {name!r}: {loaded.metadata.get('description', '')}; load average {os.getloadavg()[0]:.2f}")
    ids = heldout_ids(spec, loaded.config.name)
    for disabled in ((False, True) if loaded.config.optional_conditioning else (False,)):
        nll = nll_row(loaded, ids, disabled)
        print(f"(a) NLL nats/event, {ids.shape[0]} held-out chunks x {CHUNK} events, "
              f"{'unconditioned' if disabled else 'default controls'}: float32 {nll['float32']:.5f}  "
              f"int8 {nll['int8']:.5f}  difference {nll['int8'] - nll['float32']:+.5f}")
    base_rates, base_hist = _stats(loaded, "float32", seed=1)
    noise_rates, noise_hist = _stats(loaded, "float32", seed=2)
    int8_rates, int8_hist = _stats(loaded, "int8", seed=1)
    print(f"(b) notes/s mean: float32 {base_rates.mean():.2f}  float32 other seed {noise_rates.mean():.2f}  "
          f"int8 {int8_rates.mean():.2f}; velocity histogram L1 distance from float32: other seed "
          f"{np.abs(noise_hist - base_hist).sum():.3f}, int8 {np.abs(int8_hist - base_hist).sum():.3f}")
    long = np.resize(ids.reshape(-1), LONG)
    wall, cpu = time.perf_counter(), time.process_time()
    table = loaded.event_log_probs(long)
    print(f"(c) event_log_probs over {len(long)} events: {time.perf_counter() - wall:.2f} s wall, "
          f"{time.process_time() - cpu:.2f} s CPU (table {table.shape[0]}x{table.shape[1]}); "
          f"load average {os.getloadavg()[0]:.2f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bundle", action="append", help="model(s) to check (default: every shipped model)")
    p.add_argument("--midi", default=FIXTURES, help="held-out MIDI: a folder, file or glob")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    for name in args.bundle or SHIPPED_MODELS:
        measure(name, args.midi)


if __name__ == "__main__":
    main()
