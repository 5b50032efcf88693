"""Sampling the next event from logits: temperature, top-k, top-p (nucleus), vectorized over a batch."""
from __future__ import annotations

import numpy as np


def check_sampling(temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0) -> None:
    """Raise ValueError naming the bad knob; called once, not per step."""
    if not np.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature must be > 0, not {temperature!r}")
    if int(top_k) != top_k or top_k < 0:
        raise ValueError(f"top_k must be an integer >= 0 (0 = off), not {top_k!r}")
    if not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in range (0, 1] (1 = off), not {top_p!r}")


def log_softmax(logits, temperature: float = 1.0) -> np.ndarray:
    """log softmax(logits / temperature) per row, in float64 so tiny temperatures do not overflow."""
    z = np.asarray(logits, np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _filter(logp: np.ndarray, top_k: int, top_p: float) -> np.ndarray:
    """Set the log-probs outside the top-k / nucleus to -inf (the most likely class always survives)."""
    if top_k and top_k < logp.shape[-1]:
        kth = np.partition(logp, -top_k, axis=-1)[:, -top_k][:, None]
        logp = np.where(logp >= kth, logp, -np.inf)
    if top_p < 1.0:
        order = np.argsort(-logp, axis=-1)
        sorted_p = np.exp(np.take_along_axis(logp, order, axis=-1))
        before = np.cumsum(sorted_p, axis=-1) - sorted_p  # mass strictly above each class
        drop_sorted = before >= top_p
        drop = np.zeros_like(drop_sorted)
        np.put_along_axis(drop, order, drop_sorted, axis=-1)
        logp = np.where(drop, -np.inf, logp)
    return logp


def sample_ids(logits, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
               rng: np.random.Generator | None = None, return_log_probs: bool = False):
    """Draw one class id per row of logits [B, V] (or [V]).

    With return_log_probs, also returns log p(id) under softmax(logits / temperature) before top-k/top-p
    (the score Magenta's beam search adds up)."""
    rng = rng if rng is not None else np.random.default_rng()
    logits = np.asarray(logits)
    squeeze = logits.ndim == 1
    logp = log_softmax(np.atleast_2d(logits), temperature)
    filtered = _filter(logp, top_k, top_p)
    # Inverse-CDF sampling: one uniform per row, vectorized over the batch.
    probs = np.exp(filtered - filtered.max(axis=-1, keepdims=True))
    cdf = np.cumsum(probs, axis=-1)
    u = rng.random((len(cdf), 1)) * cdf[:, -1:]
    ids = np.minimum((cdf <= u).sum(axis=-1), cdf.shape[-1] - 1)
    # a zero-probability class can never be drawn, even when u lands exactly on a flat stretch of the cdf
    ids = np.where(np.isfinite(filtered[np.arange(len(ids)), ids]), ids, filtered.argmax(axis=-1))
    chosen = logp[np.arange(len(ids)), ids]
    if squeeze:
        ids, chosen = ids[0], chosen[0]
    return (ids, chosen) if return_log_probs else ids
