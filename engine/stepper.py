"""Fast incremental inference: one event in, logits and a new state out, in numpy (float32 exact).

Why numpy and not torch: a 1-timestep torch LSTM call costs ~3 ms (mkldnn off) to ~7 ms (on) for 3x512, while
OpenBLAS GEMV runs the same math in ~0.8 ms on one thread (the step is bound by reading 25 MB of weights).
Layout tricks:
- each layer is ONE matrix product: [controls ‖ h_self] @ W0 for layer 0, [h_below ‖ h_self] @ Wk above;
- layer 0's event part is a row gather of a precomputed table (event_table @ W_ih_event^T + biases), which
  also covers the modulo encoding;
- weights are stored transposed ([in, 4H], C order) and x @ W^T runs in numpy (OpenBLAS) at every batch size:
  for 10-80 rows of 3x512 it took 15-20% less CPU than torch.mm (MKL) on the same memory;
- gate columns are reordered from PyTorch's (i, f, g, o) to (i, f, o, g): one sigmoid call covers three gates.
The Stepper holds only read-only arrays and never changes global torch or BLAS settings, so several threads may
share one; each thread keeps its own State. Thread counts are the process's: OpenBLAS via
set_blas_threads() or OPENBLAS_NUM_THREADS (float32), torch.set_num_threads (int8).
precision='int8' swaps the dense products for fbgemm dynamic-quantized int8 (optional, not exact).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from .encodings import event_table
from .model import PerformanceModel

PRECISIONS = ("float32", "int8")


def set_blas_threads(count: int) -> bool:
    """Set numpy's OpenBLAS thread count for the whole process; call once at startup, not per step.

    1 is the right choice when anything else competes for the 2 cores (a live instrument, a busy machine):
    idle OpenBLAS threads spin, and a step with 2 threads on a loaded machine measured p99 60 ms instead of
    5 ms. Returns False if numpy's OpenBLAS could not be found (then OPENBLAS_NUM_THREADS rules)."""
    import ctypes
    import glob
    import os

    folder = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
    for path in glob.glob(os.path.join(folder, "*openblas*")):
        lib = ctypes.CDLL(path)
        for name in ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_", "openblas_set_num_threads"):
            setter = getattr(lib, name, None)
            if setter is not None:
                setter.argtypes = [ctypes.c_int]
                setter(int(count))
                return True
    return False


@dataclass
class State:
    """LSTM state of a batch: h and c are [layers][B, H_k] float32 arrays. Copy before mutating elsewhere."""

    h: list
    c: list

    @property
    def batch(self) -> int:
        return self.h[0].shape[0]

    def copy(self) -> "State":
        return State([a.copy() for a in self.h], [a.copy() for a in self.c])

    def select(self, rows) -> "State":
        """The states of the given batch rows (beam search reorders and duplicates rows)."""
        rows = np.asarray(rows)
        return State([a[rows] for a in self.h], [a[rows] for a in self.c])

    @classmethod
    def concat(cls, states) -> "State":
        states = list(states)
        return cls([np.concatenate([s.h[k] for s in states]) for k in range(len(states[0].h))],
                   [np.concatenate([s.c[k] for s in states]) for k in range(len(states[0].c))])

    def to_torch(self):
        return [(torch.from_numpy(h)[None].clone(), torch.from_numpy(c)[None].clone()) for h, c in zip(self.h, self.c)]

    @classmethod
    def from_torch(cls, state) -> "State":
        return cls([h[0].detach().numpy().copy() for h, _ in state], [c[0].detach().numpy().copy() for _, c in state])


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # tanh form: no overflow warnings for large |x|, and one ufunc call
    return np.tanh(x * 0.5) * 0.5 + 0.5


def _lstm_cell(gates: np.ndarray, c: np.ndarray):
    # gate order i, f, o, g (see _ifgo_to_ifog); plain slices (np.split costs ~50 us a call at this size)
    size = c.shape[1]
    ifo = _sigmoid(gates[:, :3 * size])
    c_new = ifo[:, size:2 * size] * c + ifo[:, :size] * np.tanh(gates[:, 3 * size:])
    return ifo[:, 2 * size:] * np.tanh(c_new), c_new


def _ifgo_to_ifog(gates: np.ndarray) -> np.ndarray:
    """Reorder the last axis [i f g o] (PyTorch, 4H) to [i f o g]."""
    i_f, g, o = np.split(gates, [gates.shape[-1] // 2, 3 * gates.shape[-1] // 4], axis=-1)
    return np.ascontiguousarray(np.concatenate([i_f, o, g], axis=-1))


class _Int8Linear:
    """x @ W^T via fbgemm dynamic int8 quantization (per-output-channel weight scales)."""

    def __init__(self, weight_t: np.ndarray):
        w = torch.from_numpy(np.ascontiguousarray(weight_t.T))  # [out, in]
        scales = w.abs().amax(dim=1).clamp_min(1e-8) / 127.0
        with warnings.catch_warnings():  # torch marks quantized tensors deprecated; fbgemm still ships
            warnings.simplefilter("ignore")
            qw = torch.quantize_per_channel(w, scales.double(), torch.zeros(len(scales), dtype=torch.long), 0,
                                            torch.qint8)
        self.packed = torch.ops.quantized.linear_prepack(qw, None)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return torch.ops.quantized.linear_dynamic(torch.from_numpy(x), self.packed).numpy()


class Stepper:
    """Incremental inference for one PerformanceModel (weights copied at construction)."""

    def __init__(self, model: PerformanceModel, precision: str = "float32"):
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
        self.config = model.config
        self.precision = precision
        self.control_size = self.config.control_size
        self.sizes = model.layer_sizes
        w = model.numpy_weights()
        C = self.control_size
        ih0 = w["layers.0.weight_ih_l0"]
        bias0 = w["layers.0.bias_ih_l0"] + w["layers.0.bias_hh_l0"]
        # [num_classes, 4H]: what each event adds to layer 0's gates, biases folded in
        self.event_gates = _ifgo_to_ifog((event_table(self.config) @ ih0[:, C:].T + bias0).astype(np.float32))
        # fused and transposed, [in, 4H]: layer 0 takes [controls ‖ h0], layer k takes [h_(k-1) ‖ h_k]
        self.weights_t = [_ifgo_to_ifog(np.concatenate([ih0[:, :C], w["layers.0.weight_hh_l0"]], 1).T)]
        self.biases = [None]
        for k in range(1, len(self.sizes)):
            fused = np.concatenate([w[f"layers.{k}.weight_ih_l0"], w[f"layers.{k}.weight_hh_l0"]], 1)
            self.weights_t.append(_ifgo_to_ifog(fused.T))
            self.biases.append(_ifgo_to_ifog(w[f"layers.{k}.bias_ih_l0"] + w[f"layers.{k}.bias_hh_l0"]))
        self.head_t = np.ascontiguousarray(w["head.weight"].T)
        self.head_bias = w["head.bias"]
        self._matmuls = [self._dense(m) for m in self.weights_t] + [self._dense(self.head_t)]

    def _dense(self, weight_t: np.ndarray):
        """x [B, in] -> x @ weight_t [B, out]."""
        if self.precision == "int8":
            return _Int8Linear(weight_t)

        def product(x: np.ndarray) -> np.ndarray:
            return x @ weight_t

        return product

    def zero_state(self, batch: int = 1) -> State:
        return State([np.zeros((batch, h), np.float32) for h in self.sizes],
                     [np.zeros((batch, h), np.float32) for h in self.sizes])

    def _controls(self, controls, batch: int) -> np.ndarray:
        if not self.control_size:
            return np.zeros((batch, 0), np.float32)
        if controls is None:
            raise ValueError(f"config {self.config.name} needs controls of size {self.control_size}")
        controls = np.asarray(controls, np.float32)
        return np.broadcast_to(controls, (batch, self.control_size))

    def step(self, ids, controls, state: State):
        """ids [B] class ids, controls [B,C] (or [C], or None without conditioning) -> (logits [B,V], State).
        `controls` go with the event being predicted next (Magenta's alignment). `state` is not modified."""
        ids = np.asarray(ids, np.int64).reshape(-1)
        x = np.concatenate([self._controls(controls, len(ids)), state.h[0]], axis=1)
        gates = self._matmuls[0](x) + self.event_gates[ids]
        h, c = _lstm_cell(gates, state.c[0])
        hs, cs = [h], [c]
        for k in range(1, len(self.sizes)):
            gates = self._matmuls[k](np.concatenate([h, state.h[k]], axis=1)) + self.biases[k]
            h, c = _lstm_cell(gates, state.c[k])
            hs.append(h)
            cs.append(c)
        logits = self._matmuls[-1](h) + self.head_bias
        return logits, State(hs, cs)

    def prime(self, ids, controls, state: State | None = None):
        """Feed a whole primer (ids [T], controls [T,C] aligned with the inputs) in one call for batch 1;
        returns (logits after the last event [1,V], State). Uses one batched pass per layer."""
        ids = np.asarray(ids, np.int64).reshape(-1)
        state = state or self.zero_state(1)
        if len(ids) == 0:
            raise ValueError("prime needs at least one event")
        if self.precision != "float32":
            return self._prime_by_steps(ids, controls, state)
        ctrl = self._controls(controls, len(ids)) if controls is None or np.ndim(controls) < 2 else \
            np.asarray(controls, np.float32).reshape(len(ids), self.control_size)
        # The input projection of every position at once (one GEMM per layer), then the recurrence.
        C = self.control_size
        proj = ctrl @ self.weights_t[0][:C] + self.event_gates[ids]
        hs, cs = [], []
        for k, size in enumerate(self.sizes):
            w_hh = self.weights_t[k][-size:]
            if k:
                proj = seq @ self.weights_t[k][:-size] + self.biases[k]
            h, c = state.h[k], state.c[k]
            outs = np.empty((len(ids), size), np.float32)
            for t in range(len(ids)):
                h, c = _lstm_cell(proj[t:t + 1] + h @ w_hh, c)
                outs[t] = h[0]
            seq = outs
            hs.append(h)
            cs.append(c)
        return seq[-1:] @ self.head_t + self.head_bias, State(hs, cs)

    def _prime_by_steps(self, ids, controls, state):
        ctrl = None if controls is None else np.asarray(controls, np.float32).reshape(len(ids), -1)
        for t, event in enumerate(ids):
            logits, state = self.step(event[None], None if ctrl is None else ctrl[t:t + 1], state)
        return logits, state
