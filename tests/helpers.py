"""Reusable tiny models for tests: trained in about a second on a synthetic piece, cached per session.

tiny_model(config_name, layers, seed) -> PerformanceModel that has overfit `synthetic_piece(config)`;
tiny_bundle(tmp_path, config_name) -> path of a bundle of that model (its metadata marks it as a test model).
"""
from __future__ import annotations

import functools

import numpy as np
import torch

from engine.bundle import save_bundle
from engine.configs import get_config
from engine.controls import performance_controls
from engine.events import Event
from engine.model import PerformanceModel, shift_controls

SCALE = (60, 62, 64, 65, 67, 69, 71, 72)


def synthetic_piece(config) -> np.ndarray:
    """An ascending scale of short notes (class ids): velocity, then note_on / 120 ms / note_off per pitch."""
    events = [Event("velocity", 20)] if config.num_velocity_bins else []
    for pitch in SCALE:
        events += [Event("note_on", pitch), Event("time_shift", 12), Event("note_off", pitch)]
    events.append(Event("time_shift", 40))
    return config.vocab.encode_all(events).astype(np.int64)


def _train(model: PerformanceModel, ids: np.ndarray, steps: int, lr: float) -> float:
    config = model.config
    inputs = torch.from_numpy(ids[:-1])[None]
    labels = torch.from_numpy(ids[1:])[None]
    controls = None
    if config.control_size:
        controls = shift_controls(torch.from_numpy(performance_controls(config, ids))[None])
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        logits, _ = model(inputs, controls)
        loss = torch.nn.functional.cross_entropy(logits[0], labels[0])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if loss.item() < 0.02:
            break
    model.eval()
    return loss.item()


@functools.lru_cache(maxsize=None)
def _cached(config_name: str, layers: tuple, seed: int, hparams: str) -> PerformanceModel:
    config = get_config(config_name).with_hparams(f"rnn_layer_sizes={list(layers)}")
    if hparams:
        config = config.with_hparams(hparams)
    torch.manual_seed(seed)
    model = PerformanceModel(config)
    _train(model, synthetic_piece(config), steps=400, lr=0.02)
    return model


def tiny_model(config_name: str = "performance_with_dynamics", layers=(32,), seed: int = 0,
               hparams: str = "") -> PerformanceModel:
    """A small model overfit on synthetic_piece; shared across the session, so do not train it further."""
    return _cached(config_name, tuple(layers), seed, hparams)


def tiny_bundle(tmp_path, config_name: str = "performance_with_dynamics", layers=(32,), name: str = "",
                **metadata):
    """Save tiny_model(config_name, layers) as a bundle in tmp_path and return its path."""
    path = tmp_path / (name or f"{config_name}.safetensors")
    meta = {"description": "tiny test model", "training_steps": 400, **metadata}
    return save_bundle(path, tiny_model(config_name, layers), meta)
