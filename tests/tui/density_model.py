"""A tiny density-conditioned model that has learned one thing: sparse notes at a low density control,
dense notes at a high one (trained in a few seconds on two synthetic pieces)."""
from __future__ import annotations

import functools

import numpy as np
import torch

from engine.bundle import save_bundle
from engine.configs import get_config
from engine.controls import performance_controls
from engine.events import Event
from engine.model import PerformanceModel, shift_controls

CONFIG_NAME = "density_conditioned_performance_with_dynamics"


def notes(gap_steps: int, seconds: float) -> list[Event]:
    """Short notes every `gap_steps` 10 ms steps, walking up a C major scale."""
    pitches = (60, 62, 64, 65, 67, 69, 71, 72)
    events = []
    for i in range(round(seconds * 100 / gap_steps)):
        pitch = pitches[i % len(pitches)]
        events += [Event("note_on", pitch), Event("time_shift", gap_steps // 2), Event("note_off", pitch),
                   Event("time_shift", gap_steps - gap_steps // 2)]
    return events


def piece(config, gaps: tuple) -> np.ndarray:
    """6 s at each of `gaps`, so the density changes mid-piece and the model learns to follow its control
    rather than its own past."""
    events = [Event("velocity", 20)]
    for gap in gaps:
        events += notes(gap, 6)
    return config.vocab.encode_all(events).astype(np.int64)


@functools.lru_cache(maxsize=1)
def density_model(steps: int = 250) -> PerformanceModel:
    config = get_config(CONFIG_NAME).with_hparams("rnn_layer_sizes=[48]")
    torch.manual_seed(0)
    model = PerformanceModel(config)
    pieces = [piece(config, (100, 6, 100)), piece(config, (6, 100, 6))]  # 1 and about 16 notes/s
    n = min(len(p) for p in pieces)
    batch = [(ids[:n], performance_controls(config, ids)[:n]) for ids in pieces]
    inputs = torch.from_numpy(np.stack([ids[:-1] for ids, _ in batch]))
    labels = torch.from_numpy(np.stack([ids[1:] for ids, _ in batch]))
    controls = shift_controls(torch.from_numpy(np.stack([c for _, c in batch])))
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    model.train()
    for _ in range(steps):
        logits, _ = model(inputs, controls)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    return model


def density_bundle(path) -> str:
    return str(save_bundle(path, density_model(), {"description": "tiny density test model"}))
