"""Event n-gram baseline: interpolated Kneser-Ney over class ids, counted with numpy (no Python loops per event).

Why Kneser-Ney: it is the standard strong count-based baseline, so "the LSTM beats the n-gram" means something;
add-k smoothing would make the baseline needlessly weak. Definition (Chen & Goodman's interpolated KN, one
absolute discount per order, D = n1 / (n1 + 2 n2) from that order's count-of-counts):

    P_k(w | h) = max(c_k(h w) - D_k, 0) / c_k(h .)  +  D_k * t_k(h) / c_k(h .) * P_{k-1}(w | h')
    P_0(w)     = 1 / V

where h' drops the oldest event of h, c_k is the raw count at the top order and the continuation count
(number of distinct left neighbours) below it, c_k(h .) sums c_k over w, t_k(h) is the number of distinct w
seen after h. An unseen context (c_k(h .) = 0) passes P_{k-1} through unchanged, so every P_k sums to 1.

Sequences are scored like the model: the first event is never a target. Contexts reaching before the start
use a BOS symbol (id V), so the second event has the context (BOS, e0) at order 3.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class _Level:
    """Counts of the k-grams of one order, as sorted int64 keys (base V+1 digits, oldest event first)."""

    keys: np.ndarray  # sorted unique k-gram keys
    counts: np.ndarray  # raw (top order) or continuation counts
    context_keys: np.ndarray  # sorted unique (k-1)-gram context keys
    context_totals: np.ndarray  # c_k(h .)
    context_types: np.ndarray  # t_k(h)
    discount: float


def _lookup(sorted_keys: np.ndarray, values: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """values[key] for each query, 0 where the key is absent."""
    if not len(sorted_keys):
        return np.zeros(len(queries), values.dtype)
    pos = np.minimum(np.searchsorted(sorted_keys, queries), len(sorted_keys) - 1)
    return np.where(sorted_keys[pos] == queries, values[pos], 0)


def _discount(counts: np.ndarray) -> float:
    """Ney's estimate n1 / (n1 + 2 n2), kept inside (0, 1) so tiny corpora still smooth."""
    n1, n2 = int((counts == 1).sum()), int((counts == 2).sum())
    if n1 == 0:
        return 0.5
    return float(min(max(n1 / (n1 + 2 * n2), 0.05), 0.95))


def _level(keys: np.ndarray, counts: np.ndarray, base: int) -> _Level:
    contexts = keys // base
    context_keys, first = np.unique(contexts, return_index=True)  # keys are sorted, so contexts are too
    totals = np.add.reduceat(counts, first) if len(first) else np.zeros(0, np.int64)
    types = np.diff(np.append(first, len(keys)))
    return _Level(keys, counts, context_keys, totals, types, _discount(counts))


def _merge(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Sum (sorted unique keys, counts) pairs into one."""
    if len(parts) == 1:
        return parts[0][0], parts[0][1].astype(np.int64)
    keys = np.concatenate([k for k, _ in parts])
    counts = np.concatenate([c for _, c in parts]).astype(np.int64)
    order = np.argsort(keys, kind="stable")
    keys, counts = keys[order], counts[order]
    first = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    return keys[first], np.add.reduceat(counts, first)


class NGramModel:
    """Interpolated Kneser-Ney n-gram over event class ids 0..num_classes-1."""

    def __init__(self, num_classes: int, order: int, levels: list[_Level]):
        self.num_classes, self.order, self.levels = num_classes, order, levels
        self.base = num_classes + 1  # one more symbol: BOS
        if self.base ** order >= 2 ** 62:
            raise ValueError(f"order {order} is too high for {num_classes} classes (keys overflow int64)")

    @property
    def bos(self) -> int:
        return self.num_classes

    def _grams(self, ids: np.ndarray) -> np.ndarray:
        """Keys of the order-n grams ending at each target (positions 1..n-1), with BOS padding."""
        padded = np.concatenate([np.full(self.order - 1, self.bos, np.int64), np.asarray(ids, np.int64)])
        n_targets = len(ids) - 1
        keys = np.zeros(max(n_targets, 0), np.int64)
        for j in range(self.order):  # the gram for target t is padded[t+1 .. t+order]
            keys = keys * self.base + padded[1 + j:1 + j + n_targets]
        return keys

    @classmethod
    def fit(cls, sequences, num_classes: int, order: int = 3, chunk_grams: int = 4_000_000) -> "NGramModel":
        """Count every order-n gram whose last event is a target (each sequence's events 1..n-1).
        `sequences` may be any iterable (a generator keeps memory flat); counting runs in chunks."""
        if order < 1:
            raise ValueError(f"n-gram order must be >= 1, not {order!r}")
        model = cls(num_classes, order, [])
        partial, pending, size = [], [], 0
        for seq in sequences:
            if len(seq) >= 2:
                pending.append(model._grams(seq))
                size += len(pending[-1])
            if size >= chunk_grams:
                partial.append(np.unique(np.concatenate(pending), return_counts=True))
                pending, size = [], 0
        if pending:
            partial.append(np.unique(np.concatenate(pending), return_counts=True))
        if not partial:
            raise ValueError("the n-gram baseline needs at least one training sequence of 2+ events")
        keys, counts = _merge(partial)
        levels = [_level(keys, counts, model.base)]
        for k in range(order - 1, 0, -1):  # continuation counts: distinct left neighbours of each k-gram
            keys, counts = np.unique(levels[0].keys % model.base ** k, return_counts=True)
            levels.insert(0, _level(keys, counts.astype(np.int64), model.base))
        model.levels = levels  # levels[k-1] holds order k
        return model

    def gram_probs(self, grams: np.ndarray) -> np.ndarray:
        """P(w | h) for order-n gram keys (h = the first n-1 symbols, w = the last), vectorized."""
        probs = np.full(len(grams), 1.0 / self.num_classes)
        for k in range(1, self.order + 1):
            level = self.levels[k - 1]
            gram = grams % self.base ** k
            context = gram // self.base
            total = _lookup(level.context_keys, level.context_totals, context).astype(np.float64)
            types = _lookup(level.context_keys, level.context_types, context).astype(np.float64)
            count = _lookup(level.keys, level.counts, gram).astype(np.float64)
            seen = total > 0
            safe = np.where(seen, total, 1.0)
            mixed = np.maximum(count - level.discount, 0.0) / safe + level.discount * types / safe * probs
            probs = np.where(seen, mixed, probs)
        return probs

    def log_probs(self, ids) -> np.ndarray:
        """log P(e[i] | e[i-n+1..i-1]) for i = 1..len-1 (natural log, nats)."""
        ids = np.asarray(ids, np.int64)
        if len(ids) < 2:
            return np.zeros(0)
        return np.log(self.gram_probs(self._grams(ids)))

    def distribution(self, context) -> np.ndarray:
        """P(. | context) over all classes; `context` is the previous events (shorter ones get BOS)."""
        context = [self.bos] * (self.order - 1) + [int(c) for c in context]
        prefix = 0
        for symbol in context[len(context) - (self.order - 1):] if self.order > 1 else []:
            prefix = prefix * self.base + symbol
        return self.gram_probs(prefix * self.base + np.arange(self.num_classes, dtype=np.int64))

    def predictions(self, ids, chunk: int = 1024) -> np.ndarray:
        """The most likely next class at each target position (for accuracy), [len-1]; one distribution
        per distinct context, computed in chunks."""
        ids = np.asarray(ids, np.int64)
        if len(ids) < 2:
            return np.zeros(0, np.int64)
        contexts = self._grams(ids) // self.base
        unique, inverse = np.unique(contexts, return_inverse=True)
        best = np.empty(len(unique), np.int64)
        classes = np.arange(self.num_classes, dtype=np.int64)
        for start in range(0, len(unique), chunk):
            grams = unique[start:start + chunk, None] * self.base + classes[None, :]
            best[start:start + chunk] = self.gram_probs(grams.ravel()).reshape(grams.shape).argmax(axis=1)
        return best[inverse]

    def counts_of(self, gram) -> int:
        """Raw top-order count of one gram given as a tuple of class ids (BOS = self.bos)."""
        key = 0
        for symbol in gram:
            key = key * self.base + int(symbol)
        return int(_lookup(self.levels[-1].keys, self.levels[-1].counts, np.array([key]))[0])
