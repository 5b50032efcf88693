"""Padded training/eval batches from a dataset split, with transposition and controls applied at batch time.

Magenta writes each 30 s chunk once per transposition (-3..+3) and, for optional conditioning, once with
conditioning disabled and once enabled. We list the same "virtual examples" as (stored example, transposition,
disabled) rows and build each at batch time: transposing shifts the NOTE_ON/NOTE_OFF ids (event order is
unchanged because notes keep their pitch order), and the controls are computed from the transposed ids,
so the pitch histogram rolls with it. A transposition that would push a note outside 0..127 is left out,
as Magenta drops that sequence.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from engine.configs import PerformanceConfig
from engine.controls import performance_controls
from engine.events import KIND_CODE, NOTE_OFF, NOTE_ON

from .dataset_format import SplitData

PAD_LABEL = -1


@dataclass(frozen=True)
class ExampleTable:
    """The virtual examples: stored example index, transposition in semitones, conditioning disabled."""

    example: np.ndarray
    transpose: np.ndarray
    disabled: np.ndarray

    def __len__(self) -> int:
        return len(self.example)


def example_table(config: PerformanceConfig, data: SplitData) -> ExampleTable:
    shifts = data.info.get("transpositions", [0])
    low, high = data.arrays["min_pitch"][:].astype(int), data.arrays["max_pitch"][:].astype(int)
    rows, moves = [], []
    for shift in shifts:
        ok = np.flatnonzero((low + shift >= 0) & (high + shift <= 127))
        rows.append(ok)
        moves.append(np.full(len(ok), shift, np.int8))
    example, transpose = np.concatenate(rows), np.concatenate(moves)
    order = np.lexsort((transpose, example))  # example-major: eval reads pieces in order
    example, transpose = example[order], transpose[order]
    flags = [False, True] if config.optional_conditioning else [False]
    disabled = np.repeat(np.array(flags), len(example))
    return ExampleTable(np.tile(example, len(flags)), np.tile(transpose, len(flags)), disabled)


def transpose_ids(config: PerformanceConfig, ids: np.ndarray, shift: int) -> np.ndarray:
    if not shift:
        return ids
    codes = config.vocab.kind_codes[ids]
    is_note = (codes == KIND_CODE[NOTE_ON]) | (codes == KIND_CODE[NOTE_OFF])
    return np.where(is_note, ids + shift, ids)


@dataclass
class Batch:
    """inputs [B,T] ids, controls [B,T,C] (None without conditioning), labels [B,T] (-1 = padding)."""

    inputs: torch.Tensor
    controls: torch.Tensor | None
    labels: torch.Tensor

    @property
    def num_tokens(self) -> int:
        return int((self.labels != PAD_LABEL).sum())

    def to(self, device) -> "Batch":
        controls = None if self.controls is None else self.controls.to(device)
        return Batch(self.inputs.to(device), controls, self.labels.to(device))


def make_batch(config: PerformanceConfig, data: SplitData, table: ExampleTable, rows) -> Batch:
    """Network input at i = [controls(i+1) ‖ event(i)], label = id(i+1), padded to the longest example."""
    sequences = []
    for row in rows:
        ids = transpose_ids(config, data.example(int(table.example[row])), int(table.transpose[row]))
        sequences.append((ids, bool(table.disabled[row])))
    width = max(len(ids) - 1 for ids, _ in sequences)
    inputs = np.zeros((len(rows), width), np.int64)
    labels = np.full((len(rows), width), PAD_LABEL, np.int64)
    controls = np.zeros((len(rows), width, config.control_size), np.float32) if config.control_size else None
    for b, (ids, disabled) in enumerate(sequences):
        n = len(ids) - 1
        inputs[b, :n], labels[b, :n] = ids[:-1], ids[1:]
        if controls is not None:
            controls[b, :n] = performance_controls(config, ids, disabled=disabled)[1:]
    return Batch(torch.from_numpy(inputs), None if controls is None else torch.from_numpy(controls),
                 torch.from_numpy(labels))


@dataclass
class DataPosition:
    """Where training is in the endless shuffled stream: epoch and index into that epoch's permutation."""

    epoch: int = 0
    index: int = 0


class BatchStream:
    """Endless shuffled global batches (Magenta loops over its records forever); each rank takes its slice."""

    def __init__(self, size: int, batch_size: int, seed: int, position: DataPosition | None = None,
                 rank: int = 0, world: int = 1):
        if size == 0:
            raise ValueError("the training dataset has no examples; build it from more music")
        self.size, self.batch_size, self.seed = size, batch_size, seed
        self.rank, self.world = rank, world
        self.position = position or DataPosition()
        self._cached = (-1, None)

    def _permutation(self, epoch: int) -> np.ndarray:
        if self._cached[0] != epoch:
            self._cached = (epoch, np.random.default_rng([self.seed, epoch]).permutation(self.size))
        return self._cached[1]

    def next_rows(self) -> np.ndarray:
        """This rank's rows of the next global batch (ranks take interleaved rows), advancing the position."""
        rows, need = [], self.batch_size
        while need:
            perm = self._permutation(self.position.epoch)
            take = perm[self.position.index:self.position.index + need]
            rows.append(take)
            need -= len(take)
            self.position.index += len(take)
            if self.position.index >= self.size:
                self.position = DataPosition(self.position.epoch + 1, 0)
        return np.concatenate(rows)[self.rank::self.world]


def eval_row_batches(size: int, batch_size: int, rank: int = 0, world: int = 1):
    """Every virtual example once, in order, in batches; ranks take interleaved batches."""
    starts = range(0, size, batch_size)
    for number, start in enumerate(starts):
        if number % world == rank:
            yield np.arange(start, min(start + batch_size, size))
