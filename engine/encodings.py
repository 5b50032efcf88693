"""Event input encodings (one-hot, compact index, modulo) as lookup tables over class ids."""
from __future__ import annotations

import numpy as np

from .configs import MODULO_BLOCKS, PerformanceConfig
from .events import KIND_CODE, KINDS, MAX_SHIFT_STEPS, NOTE_OFF, NOTE_ON, TIME_SHIFT, VELOCITY

# Every encoding is a function of the class id alone, so each one is a [num_classes, depth] table:
# the network's first layer can then fold it into its weights (a column gather at step time).


def _modulo_block(kind: str, value: np.ndarray, num_velocity_bins: int) -> np.ndarray:
    if kind in (NOTE_ON, NOTE_OFF):
        pitch_angle, class_angle = value * np.pi / 72, (value % 12) * np.pi / 6
        return np.stack([np.ones_like(value, float), np.cos(pitch_angle), np.sin(pitch_angle),
                         np.cos(class_angle), np.sin(class_angle)], axis=-1)
    period = MAX_SHIFT_STEPS if kind == TIME_SHIFT else num_velocity_bins
    angle = 2 * np.pi * (value - 1) / period
    return np.stack([np.ones_like(value, float), np.cos(angle), np.sin(angle)], axis=-1)


def modulo_table(config: PerformanceConfig) -> np.ndarray:
    vocab = config.vocab
    kinds = [k for k in KINDS if k != VELOCITY or config.num_velocity_bins]
    table = np.zeros((vocab.num_classes, config.event_input_size), np.float32)
    column = 0
    for kind in kinds:
        rows = np.flatnonzero(vocab.kind_codes == KIND_CODE[kind])
        width = MODULO_BLOCKS[kind]
        table[rows, column:column + width] = _modulo_block(kind, vocab.values[rows].astype(float),
                                                           config.num_velocity_bins)
        column += width
    return table


def event_table(config: PerformanceConfig) -> np.ndarray:
    """What the network sees for each class id: [num_classes, config.event_depth] float32."""
    if config.encoding == "modulo":
        return modulo_table(config)
    return np.eye(config.num_classes, dtype=np.float32)


def encode_events(config: PerformanceConfig, ids) -> np.ndarray:
    """Magenta's stored input per event: [T, config.event_input_size] float32."""
    ids = np.asarray(ids, dtype=np.int64)
    if config.encoding == "compact":
        return ids[:, None].astype(np.float32)
    return event_table(config)[ids]


def decode_events(config: PerformanceConfig, inputs: np.ndarray) -> np.ndarray:
    """Inverse of encode_events: class ids from stored inputs."""
    inputs = np.asarray(inputs, dtype=np.float64)
    if config.encoding == "compact":
        return np.rint(inputs[:, 0]).astype(np.int64)
    # Every table row is distinct, so the nearest row is the encoded class.
    table = event_table(config).astype(np.float64)
    distances = (inputs ** 2).sum(1)[:, None] - 2 * inputs @ table.T + (table ** 2).sum(1)[None, :]
    return distances.argmin(axis=1)


def network_inputs(config: PerformanceConfig, ids, controls: np.ndarray | None = None) -> np.ndarray:
    """[controls(i+1) ‖ event_table(e[i])] per position, as the network sees it."""
    events = event_table(config)[np.asarray(ids, dtype=np.int64)]
    if not config.control_size:
        return events
    return np.concatenate([np.asarray(controls, np.float32), events], axis=-1)
