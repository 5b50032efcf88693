"""Batched generation: every output (and every beam entry) is one row of a single Stepper batch.

Magenta's rules (spec §3, §6): controls are lists spread over the requested length, looked up at the
performance's current step (the running sum of its TIME_SHIFTs, primer included); generation runs in passes
of ceil(4 * max(1, mean density) * remaining / 100) events until the length is filled; beam search is
stochastic (each entry branches, each branch samples `steps_per_iteration` events, the best `beam_size`
by total log-likelihood survive); the result is set_length(num_steps).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .controls import (DEFAULT_NOTES_PER_SECOND, assemble_controls, check_histogram, check_notes_per_second,
                       density_encoding)
from .configs import PerformanceConfig
from .errors import ConfigError
from .performance import Performance
from .sampling import check_sampling, log_softmax, sample_ids
from .stepper import State, Stepper

EVENTS_PER_STEP_CAP = 2  # at most 200 events/s: a model that never moves time still stops


def _as_list(value, is_single) -> list | None:
    if value is None:
        return None
    values = [value] if is_single(value) else list(value)
    if not values:
        raise ConfigError(f"control list must not be empty, got {value!r}")
    return values


@dataclass
class ControlSchedule:
    """Control vectors over a generation of `total_steps`; each control is a value or a list of values."""

    config: PerformanceConfig
    total_steps: int
    notes_per_second: object = None
    pitch_class_histogram: object = None
    disable_conditioning: object = None

    def __post_init__(self):
        nps = _as_list(self.notes_per_second, lambda v: not isinstance(v, (list, tuple)))
        hist = _as_list(self.pitch_class_histogram, lambda v: len(v) and not isinstance(v[0], (list, tuple)))
        off = _as_list(self.disable_conditioning, lambda v: not isinstance(v, (list, tuple)))
        self.densities = [check_notes_per_second(v) for v in nps] if nps else [DEFAULT_NOTES_PER_SECOND]
        self._density_rows = density_encoding(self.densities)
        self._hist_rows = np.stack([check_histogram(h) for h in hist]) if hist else np.full((1, 12), 1 / 12)
        if off and not all(isinstance(v, (bool, int)) and v in (0, 1) for v in off):
            raise ConfigError(f"disable_conditioning must be True/False or a list of them, not {off!r}")
        self._disabled = np.asarray(off if off else [False], bool)

    @property
    def mean_density(self) -> float:
        return float(np.mean(self.densities))

    def _index(self, steps: np.ndarray, count: int) -> np.ndarray:
        return np.minimum(steps * count // max(self.total_steps, 1), count - 1)

    def at(self, steps) -> np.ndarray:
        """Control vectors [len(steps), control_size] for performances currently at `steps`."""
        steps = np.atleast_1d(np.asarray(steps, np.int64))
        if not self.config.control_size:
            return np.zeros((len(steps), 0), np.float32)
        return assemble_controls(self.config, self._density_rows[self._index(steps, len(self._density_rows))],
                                 self._hist_rows[self._index(steps, len(self._hist_rows))],
                                 self._disabled[self._index(steps, len(self._disabled))])

    def for_inputs(self, ids) -> np.ndarray:
        """The controls that go with each input position of a sequence (the step after each event)."""
        return self.at(np.cumsum(self.config.vocab.shift_steps(ids)))


@dataclass
class GenerationOptions:
    """Magenta's generate flags plus top-k/top-p and a seed."""

    num_steps: int = 3000
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    beam_size: int = 1
    branch_factor: int = 1
    steps_per_iteration: int = 1
    seed: int | None = None
    max_events: int | None = None  # stop after this many generated events even if the length is not filled

    def __post_init__(self):
        check_sampling(self.temperature, self.top_k, self.top_p)
        for name in ("num_steps", "beam_size", "branch_factor", "steps_per_iteration"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be an integer >= 1, not {value!r}")


@dataclass
class _Trail:
    """Each row's generated tokens as a chain of chunks. Reordering rows (beam search, every
    `steps_per_iteration` events) re-indexes only the newest chunk, so it costs O(rows), not O(rows x length)."""

    tokens: np.ndarray  # [R, k] int64: the newest chunk
    parents: np.ndarray  # [R]: the row of the previous chunk that each row continues
    previous: "_Trail | None"
    length: int  # tokens per row, all chunks

    @classmethod
    def empty(cls, rows: int) -> "_Trail":
        return cls(np.zeros((rows, 0), np.int64), np.zeros(rows, np.int64), None, 0)

    def select(self, rows) -> "_Trail":
        return _Trail(self.tokens[rows], self.parents[rows], self.previous, self.length)

    def extend(self, new: np.ndarray) -> "_Trail":
        return _Trail(new, np.arange(len(new)), self, self.length + new.shape[1])

    def resolve(self) -> np.ndarray:
        """[R, length]: every row's tokens, following the parents back to the first chunk."""
        parts, rows, link = [], np.arange(len(self.parents)), self
        while link is not None:
            parts.append(link.tokens[rows])
            rows, link = link.parents[rows], link.previous
        return np.concatenate(parts[::-1], axis=1)


@dataclass
class _Rows:
    """The batch being generated: tokens so far, state, next-event logits, clock and score per row."""

    trail: _Trail
    state: State
    logits: np.ndarray  # [R, V]
    steps: np.ndarray  # [R]
    scores: np.ndarray  # [R]

    def select(self, rows) -> "_Rows":
        return _Rows(self.trail.select(rows), self.state.select(rows), self.logits[rows], self.steps[rows],
                     self.scores[rows])


@dataclass
class Generated:
    performance: Performance
    log_likelihood: float
    num_events: int  # events generated after the primer, before set_length


@dataclass
class Generator:
    """Generates `num_outputs` performances from a primer as one batch."""

    stepper: Stepper
    options: GenerationOptions
    schedule: ControlSchedule
    progress: object = None  # a tqdm-like object with update(n); total = steps to generate
    rng: np.random.Generator = field(init=False)

    def __post_init__(self):
        self.rng = np.random.default_rng(self.options.seed)
        self.vocab = self.stepper.config.vocab

    def _prime(self, primer_ids: np.ndarray, rows: int) -> _Rows:
        """Feed the primer once (batch 1), then copy its state to every row. Scores count generated events
        only: Magenta also adds the primer's likelihood, a constant that never changes the ranking."""
        logits, state = self.stepper.prime(primer_ids, self.schedule.for_inputs(primer_ids))
        start = self.vocab.shift_steps(primer_ids).sum()
        return _Rows(_Trail.empty(1), state, logits, np.array([start]), np.zeros(1)).select(
            np.zeros(rows, np.int64))

    def _advance(self, rows: _Rows, count: int) -> _Rows:
        opts = self.options
        new = np.empty((len(rows.steps), count), np.int64)
        logits, state, steps, scores = rows.logits, rows.state, rows.steps.copy(), rows.scores.copy()
        for k in range(count):
            ids, logp = sample_ids(logits, opts.temperature, opts.top_k, opts.top_p, self.rng, return_log_probs=True)
            before = steps.min()
            new[:, k] = ids
            scores += logp
            steps += self.vocab.shift_steps(ids)
            logits, state = self.stepper.step(ids, self.schedule.at(steps), state)
            self._report(before, steps.min())
        return _Rows(rows.trail.extend(new), state, logits, steps, scores)

    def _report(self, before: int, after: int) -> None:
        """Progress counts the steps of the least advanced row."""
        if self.progress is not None and after > before:
            end = self.options.num_steps
            self.progress.update(int(min(after, end) - min(before, end)))

    def _best(self, rows: _Rows, groups: int) -> np.ndarray:
        """Index of the highest-scoring row of each group (rows are group-major)."""
        per = len(rows.scores) // groups
        return np.arange(groups) * per + rows.scores.reshape(groups, per).argmax(1)

    def _beam_pass(self, rows: _Rows, groups: int, count: int) -> _Rows:
        opts = self.options
        spi = opts.steps_per_iteration
        first = (count - 1) % spi + 1
        for size in [first] + [spi] * ((count - first) // spi):
            rows = rows.select(np.repeat(np.arange(len(rows.scores)), opts.branch_factor))
            rows = self._advance(rows, size)
            per = opts.beam_size * opts.branch_factor
            top = np.argsort(-rows.scores.reshape(groups, per), axis=1, kind="stable")[:, :opts.beam_size]
            rows = rows.select((top + np.arange(groups)[:, None] * per).reshape(-1))
        return rows.select(np.repeat(self._best(rows, groups), opts.beam_size))

    def generate(self, primer: Performance, num_outputs: int) -> list[Generated]:
        opts = self.options
        primer_ids = np.asarray(primer.ids, np.int64)
        beam = opts.beam_size > 1 or opts.branch_factor > 1
        rows = self._prime(primer_ids, num_outputs * (opts.beam_size if beam else 1))
        cap = EVENTS_PER_STEP_CAP * (opts.num_steps - int(rows.steps.min())) + 100
        cap = cap if opts.max_events is None else min(cap, opts.max_events)
        while rows.steps.min() < opts.num_steps and rows.trail.length < cap:
            if beam:
                remaining = opts.num_steps - int(rows.steps.min())
                count = math.ceil(4 * max(1.0, self.schedule.mean_density) * remaining / 100)
                rows = self._beam_pass(rows, num_outputs, min(count, cap - rows.trail.length))
            else:
                rows = self._advance(rows, min(64, cap - rows.trail.length))
        best = rows.select(self._best(rows, num_outputs))
        tokens = best.trail.resolve()
        return [self._finish(primer_ids, tokens[g], best.scores[g]) for g in range(num_outputs)]

    def _finish(self, primer_ids, tokens, score) -> Generated:
        # A row may have overshot the length; set_length trims it (and pads a row that hit the event cap).
        ids = np.concatenate([primer_ids, tokens])
        performance = Performance(ids, self.vocab.num_velocity_bins).set_length(self.options.num_steps)
        return Generated(performance, float(score), len(tokens))


def generate(stepper: Stepper, primer: Performance, options: GenerationOptions, schedule: ControlSchedule,
             num_outputs: int = 1, progress=None) -> list[Generated]:
    return Generator(stepper, options, schedule, progress).generate(primer, num_outputs)


def sequence_log_likelihood(stepper: Stepper, ids, schedule: ControlSchedule) -> float:
    """log p(e[1:] | e[0]) under the schedule's controls (Magenta's performance_log_likelihood)."""
    return float(batch_log_likelihood(stepper, np.asarray(ids, np.int64)[None], schedule)[0])


def batch_log_likelihood(stepper: Stepper, ids, schedule: ControlSchedule) -> np.ndarray:
    """[B]: log p(e[1:] | e[0]) of each row of ids [B, T], all rows stepped as one batch, so it runs at the
    stepper's precision (this is how reduced precisions are checked against float32)."""
    ids = np.asarray(ids, np.int64)
    controls = np.stack([schedule.for_inputs(row) for row in ids])
    rows, state, total = np.arange(len(ids)), stepper.zero_state(len(ids)), np.zeros(len(ids))
    for t in range(ids.shape[1] - 1):
        logits, state = stepper.step(ids[:, t], controls[:, t], state)
        total += log_softmax(logits)[rows, ids[:, t + 1]]
    return total
