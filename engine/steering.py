"""Sampling-time steering: logit adjustments, per step and per batch row, that make the control knobs bite.

Magenta's conditioning alone is weak (density "only responds to doublings", MM #1578), so on top of the control
inputs these adjustments act on the logits before sampling:

1. Pitch-class bias: NOTE_ON(p) gets `pitch_strength * log((w[p % 12] + eps) / (max w + eps))`, zero for the
   requested classes with the highest weight and strongly negative for classes the histogram leaves out.
2. Density controller: a running, exponentially weighted estimate of the notes/s generated so far (time
   constant `density_tau_seconds`) is compared with the request on a log scale; a PI controller (its
   integral term is the running note deficit, so the long-run rate matches the request) turns it into a
   bias b that is subtracted from the TIME_SHIFT logits, weighted by the shift length, so time advances
   less often and in shorter steps when the output is too sparse (b > 0) and the reverse when it is too dense. Adjusting the time axis (not NOTE_ON alone) keeps note-ons and note-offs balanced.
3. Release guard: a note sounding longer than `release_after_seconds` gets a growing bias on its NOTE_OFF,
   TIME_SHIFTs that would carry a sounding note past `max_note_seconds` are forbidden, and a note that has
   reached it leaves only its NOTE_OFF to sample, so the 5 s cap of Magenta's decoder never has to cut one.
   Sanity limits keep a wandering model from stalling the clock (which no time-based rule can catch): a
   NOTE_OFF of a silent pitch (Magenta's decoder ignores it) is all but forbidden, at most `max_chord_notes`
   NOTE_ONs may share one step, and optionally a NOTE_ON of a pitch already sounding is penalized.

4. Event cap: after `max_step_events` events at one step (no TIME_SHIFT between them) only a 1-step TIME_SHIFT
   and NOTE_OFFs of sounding notes stay possible, so a wandering model (say, pushed hard towards density) can never
   pile an unbounded burst of events onto one instant; a live clock would spend its slack on them.

The state is explicit, like the model state: per step `logits = steering.apply(logits, state)`, sample, then
`state = steering.observe(ids, state)` (a new state; the old one stays valid, so checkpoints need no copy).
`SteeredStepper` wraps a Stepper so code that only calls `step`/`prime` gets steering without changes.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .controls import check_histogram, check_notes_per_second
from .events import KIND_CODE, NOTE_OFF, NOTE_ON, STEPS_PER_SECOND, TIME_SHIFT, Vocabulary

_ON, _OFF, _SHIFT = KIND_CODE[NOTE_ON], KIND_CODE[NOTE_OFF], KIND_CODE[TIME_SHIFT]


@dataclass(frozen=True)
class SteeringConfig:
    """Strengths of the adjustments; 0 turns one off (OFF below turns all off)."""

    pitch_strength: float = 1.5  # times log(weight): a class left out of a 7-class scale gets ~1700x less likely
    pitch_eps: float = 1e-3  # weight floor inside the log (how hard "left out" is)
    density_gain: float = 2.0  # proportional gain on log(requested / generated notes/s)
    density_integral: float = 1.0  # integral gain on the note deficit (seconds of notes missing)
    density_max_bias: float = 6.0  # clip on the controller output (and the integral: anti-windup)
    density_tau_seconds: float = 2.0  # memory of the running density estimate
    shift_tilt: float = 0.3  # TIME_SHIFT(s) weight is 1 + tilt * ln(s / 10 steps): long shifts move most
    release_after_seconds: float = 3.5  # from here on a sounding note's NOTE_OFF is pushed up
    release_strength: float = 4.0  # NOTE_OFF bias per second past release_after_seconds
    max_note_seconds: float = 5.0  # no TIME_SHIFT may carry a sounding note past this (0 = no guard)
    restrike_penalty: float = 0.0  # subtracted from NOTE_ON of a sounding pitch (off: it starved a tiny model)
    max_chord_notes: float = 12  # no more NOTE_ONs at one step after this many (0 = no limit)
    silent_off_penalty: float = 20.0  # subtracted from NOTE_OFF of a pitch that is not sounding (a no-op event)
    max_step_events: float = 32  # events at one step before only TIME_SHIFT / NOTE_OFF may follow (0 = no cap)

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"steering {f.name} must be a finite number >= 0, not {value!r}")
        if self.density_tau_seconds <= 0:
            raise ValueError(f"steering density_tau_seconds must be > 0, not {self.density_tau_seconds!r}")
        if 1 + self.shift_tilt * np.log(0.1) <= 0:
            raise ValueError(f"steering shift_tilt must be < 0.43 (1-step shifts would flip sign), "
                             f"not {self.shift_tilt!r}")


OFF = SteeringConfig(pitch_strength=0.0, density_gain=0.0, density_integral=0.0, release_strength=0.0,
                     max_note_seconds=0.0, restrike_penalty=0.0, max_chord_notes=0, silent_off_penalty=0.0,
                     max_step_events=0)


@dataclass
class SteeringState:
    """Per-row running state ([B] arrays, pitches [B,128]); `copy()` for checkpoints, `select()` for beams."""

    step: np.ndarray  # current step of each row
    notes: np.ndarray  # exponentially weighted NOTE_ON count
    time: np.ndarray  # exponentially weighted elapsed seconds (same weights)
    integral: np.ndarray  # the controller's integral term
    open_count: np.ndarray  # [B,128] sounding notes per pitch
    onset: np.ndarray  # [B,128] step of the oldest sounding note per pitch (meaningless where count is 0)
    chord: np.ndarray  # NOTE_ONs since the last TIME_SHIFT
    events: np.ndarray  # events since the last TIME_SHIFT

    def copy(self) -> "SteeringState":
        return SteeringState(*(np.array(getattr(self, f.name)) for f in dataclasses.fields(self)))

    def select(self, rows) -> "SteeringState":
        rows = np.asarray(rows)
        return SteeringState(*(getattr(self, f.name)[rows] for f in dataclasses.fields(self)))

    def __len__(self) -> int:
        return len(self.step)


@dataclass(frozen=True)
class Steering:
    """The adjustments for one request (notes/s and/or pitch-class histogram; None = not requested)."""

    config: SteeringConfig
    vocab: Vocabulary
    notes_per_second: float | None = None
    pitch_class_histogram: tuple | None = None

    def __post_init__(self):
        if self.notes_per_second is not None:
            object.__setattr__(self, "notes_per_second", check_notes_per_second(self.notes_per_second))
        if self.pitch_class_histogram is not None:
            hist = tuple(float(v) for v in check_histogram(self.pitch_class_histogram))
            object.__setattr__(self, "pitch_class_histogram", hist)
        # each kind is one contiguous range of class ids: slices keep the per-step work cheap
        for name, kind in (("_on", NOTE_ON), ("_off", NOTE_OFF), ("_shift", TIME_SHIFT)):
            ids = np.flatnonzero(self.vocab.kind_codes == KIND_CODE[kind])
            self._set(name, slice(int(ids[0]), int(ids[-1]) + 1))
        self._set("_shift_steps", self.vocab.values[self._shift].astype(np.int64))
        self._set("_shift_weight", 1.0 + self.config.shift_tilt * np.log(self._shift_steps / 10.0))
        self._set("_static", self._static_bias())

    def _set(self, name, value):
        object.__setattr__(self, name, value)

    def retarget(self, notes_per_second=None, pitch_class_histogram=None) -> "Steering":
        """The same strengths for a new request (a knob moved); running states stay valid."""
        return Steering(self.config, self.vocab, notes_per_second, pitch_class_histogram)

    @property
    def steers_density(self) -> bool:
        c = self.config
        return self.notes_per_second is not None and (c.density_gain > 0 or c.density_integral > 0)

    @property
    def guards_release(self) -> bool:
        c = self.config
        return c.max_note_seconds > 0 or c.release_strength > 0 or c.restrike_penalty > 0

    def _static_bias(self) -> np.ndarray:
        bias = np.zeros(self.vocab.num_classes)
        if self.pitch_class_histogram is not None and self.config.pitch_strength > 0:
            w = np.asarray(self.pitch_class_histogram)
            eps = self.config.pitch_eps
            per_class = self.config.pitch_strength * np.log((w + eps) / (w.max() + eps))
            bias[self._on] = per_class[self.vocab.values[self._on] % 12]
        return bias

    # ---- state -----------------------------------------------------------------------------------------

    def new_state(self, batch: int = 1) -> SteeringState:
        """A fresh state; the density estimate starts at the request (half a time constant of pseudo data)."""
        prior = 0.5 * self.config.density_tau_seconds
        rate = self.notes_per_second or 0.0
        return SteeringState(np.zeros(batch, np.int64), np.full(batch, rate * prior), np.full(batch, prior),
                             np.zeros(batch), np.zeros((batch, 128), np.int32), np.zeros((batch, 128), np.int64),
                             np.zeros(batch, np.int64), np.zeros(batch, np.int64))

    def observe(self, class_ids, state: SteeringState) -> SteeringState:
        """The state after the events just chosen, one per row ([B] ids); `state` itself is left as it was."""
        ids = np.asarray(class_ids, np.int64).reshape(-1)
        state = state.copy()
        if len(ids) != len(state):
            raise ValueError(f"observe got {len(ids)} ids for a steering state of {len(state)} rows")
        # A loop over rows of Python ints: batches are small (1 live, ~10 offline) and element updates
        # this way cost far less than numpy's fancy indexing machinery.
        steps, moved = np.zeros(len(ids), np.int64), False
        codes, values = self.vocab.kind_codes[ids].tolist(), self.vocab.values[ids].tolist()
        for row, (code, value) in enumerate(zip(codes, values)):
            state.events[row] += 1
            if code == _ON:
                if not state.open_count[row, value]:  # the oldest sounding note keeps its onset
                    state.onset[row, value] = state.step[row]
                state.open_count[row, value] += 1
                state.notes[row] += 1
                state.chord[row] += 1
            elif code == _OFF:
                if state.open_count[row, value]:
                    state.open_count[row, value] -= 1
            elif code == _SHIFT:
                steps[row], moved = value, True
                state.chord[row] = state.events[row] = 0
        if moved:
            self._advance_time(state, steps)
        if self.steers_density:
            # The integral is the running note deficit in seconds: + elapsed time, - 1/request per note. Kept
            # bounded, it makes the long-run notes/s equal the request exactly; an integral of the (noisy,
            # sawtooth) running estimate settled 5-30% high, most at low densities.
            new_notes = self.vocab.kind_codes[ids] == _ON
            if new_notes.any():
                state.integral = self._clip_integral(
                    state.integral - self.config.density_integral * new_notes / self.notes_per_second)
        return state

    def observe_density(self, class_ids, state: SteeringState) -> SteeringState:
        """The state after another part's notes (the player's in a duet): NOTE_ONs count toward the density
        estimate only, leaving the release guard, chord limit and event cap to the notes this stream plays."""
        ids = np.asarray(class_ids, np.int64).reshape(-1)
        new_notes = self.vocab.kind_codes[ids] == _ON
        if not new_notes.any():
            return state
        state = state.copy()
        state.notes += new_notes
        if self.steers_density:
            state.integral = self._clip_integral(
                state.integral - self.config.density_integral * new_notes / self.notes_per_second)
        return state

    def _advance_time(self, state: SteeringState, steps: np.ndarray) -> None:
        dt = steps / STEPS_PER_SECOND
        decay = np.exp(-dt / self.config.density_tau_seconds)
        state.notes *= decay
        state.time = state.time * decay + self.config.density_tau_seconds * (1.0 - decay)
        state.step += steps
        if self.steers_density:
            state.integral = self._clip_integral(state.integral + self.config.density_integral * dt)

    def _clip_integral(self, integral: np.ndarray) -> np.ndarray:
        limit = self.config.density_max_bias
        return np.minimum(np.maximum(integral, -limit), limit)

    def observe_sequence(self, ids, state: SteeringState) -> SteeringState:
        """The state after a primer (the same events to every row)."""
        for class_id in np.asarray(ids, np.int64).reshape(-1):
            state = self.observe(np.full(len(state), class_id), state)
        return state

    # ---- logits ----------------------------------------------------------------------------------------

    def rate(self, state: SteeringState) -> np.ndarray:
        """The running notes/s estimate per row."""
        return np.maximum(state.notes, 1e-3) / np.maximum(state.time, 1e-6)

    def _error(self, state: SteeringState) -> np.ndarray:
        """log(requested / generated) notes/s: > 0 when the output is too sparse."""
        return np.log(self.notes_per_second) - np.log(self.rate(state))

    def density_bias(self, state: SteeringState) -> np.ndarray:
        """The controller output b per row ([B]); 0 without a notes/s request."""
        if not self.steers_density:
            return np.zeros(len(state))
        limit = self.config.density_max_bias
        return np.minimum(np.maximum(self.config.density_gain * self._error(state) + state.integral, -limit), limit)

    def apply(self, logits, state: SteeringState) -> np.ndarray:
        """Steered logits [B,V] (a new array; float64). Rows match the state's rows."""
        logits = np.array(logits, np.float64, ndmin=2)
        if len(logits) != len(state):
            raise ValueError(f"apply got {len(logits)} rows of logits for a steering state of {len(state)} rows")
        logits += self._static
        if self.steers_density:
            logits[:, self._shift] -= self.density_bias(state)[:, None] * self._shift_weight[None, :]
        if self.config.max_chord_notes > 0:
            full = state.chord >= self.config.max_chord_notes
            if full.any():
                logits[full, self._on] = -np.inf
        if self.config.silent_off_penalty > 0:
            logits[:, self._off] -= self.config.silent_off_penalty * (state.open_count == 0)
        if self.config.max_step_events > 0:
            self._cap_events(logits, state)
        if self.guards_release and state.open_count.any():
            self._guard(logits, state)
        return logits

    def _cap_events(self, logits: np.ndarray, state: SteeringState) -> None:
        for row in np.flatnonzero(state.events >= self.config.max_step_events):
            kept = logits[row].copy()
            logits[row] = -np.inf
            logits[row, self._shift.start] = kept[self._shift.start]  # the shortest shift: time moves on
            logits[row, self._off] = np.where(state.open_count[row] > 0, kept[self._off], -np.inf)

    def _guard(self, logits: np.ndarray, state: SteeringState) -> None:
        c = self.config
        sounding = state.open_count > 0
        age = np.where(sounding, state.step[:, None] - state.onset, 0)  # steps, [B,128]
        oldest = int(age.max())
        if c.restrike_penalty > 0:
            logits[:, self._on] -= c.restrike_penalty * sounding
        # The rest only matters once some note is old: skip it in the common case (live steps are timed).
        if c.release_strength > 0 and oldest > c.release_after_seconds * STEPS_PER_SECOND:
            late = np.maximum(age / STEPS_PER_SECOND - c.release_after_seconds, 0.0)
            logits[:, self._off] += c.release_strength * late
        limit = round(c.max_note_seconds * STEPS_PER_SECOND)
        if c.max_note_seconds > 0 and limit - oldest < self._shift_steps[-1]:
            room = limit - age.max(axis=1)  # steps left for the oldest sounding note of each row
            too_long = self._shift_steps[None, :] > room[:, None]
            logits[:, self._shift] = np.where(too_long, -np.inf, logits[:, self._shift])
            # A note at the limit must end now: only NOTE_OFFs of such notes stay possible (the model hears
            # the release, instead of the decoder cutting the note behind its back).
            overdue = sounding & (age >= limit)
            forced = overdue.any(axis=1)
            if forced.any():
                keep = np.full((int(forced.sum()), logits.shape[1]), -np.inf)
                keep[:, self._off] = np.where(overdue[forced], 0.0, -np.inf)
                logits[forced] += keep


def _single(value, is_one):
    """A control given as one value (or a one-element list); None for a list of several (a schedule)."""
    if value is None:
        return None
    if is_one(value):
        return value
    values = list(value)
    return values[0] if len(values) == 1 else None


def steering_for(vocab: Vocabulary, notes_per_second=None, pitch_class_histogram=None,
                 disable_conditioning=None, config: SteeringConfig | None = None) -> Steering:
    """A Steering from generate-style control arguments (Magenta's: a value or a list of values spread over
    the output). A list of several values is a schedule this steering does not follow: that control is
    left to the model; disable_conditioning=True leaves both to it. The release guard always applies."""
    if _single(disable_conditioning, lambda v: not isinstance(v, (list, tuple))):
        notes_per_second = pitch_class_histogram = None
    nps = _single(notes_per_second, lambda v: not isinstance(v, (list, tuple)))
    hist = _single(pitch_class_histogram, lambda v: len(v) and not isinstance(v[0], (list, tuple, np.ndarray)))
    return Steering(config or SteeringConfig(), vocab, nps, hist)


class SteeredStepper:
    """A Stepper whose logits come out steered: observes the ids fed to `step`/`prime` (the events just
    sampled), then applies the steering. Rows broadcast from a batch-1 primer to the first batch stepped.
    Beam search reorders rows, which this wrapper cannot follow: use it for plain sampling only."""

    def __init__(self, stepper, steering: Steering):
        self.stepper, self.steering = stepper, steering
        self.config = stepper.config
        self.state: SteeringState | None = None

    def zero_state(self, batch: int = 1):
        self.state = self.steering.new_state(batch)
        return self.stepper.zero_state(batch)

    def _rows(self, batch: int) -> SteeringState:
        if self.state is None:
            self.state = self.steering.new_state(batch)
        elif len(self.state) != batch:
            if len(self.state) != 1:
                raise ValueError(f"steered stepper has {len(self.state)} rows but was stepped with {batch}; "
                                 "steering does not follow beam search (use beam_size=1)")
            self.state = self.state.select(np.zeros(batch, np.int64))
        return self.state

    def prime(self, ids, controls, state=None):
        """Without a model state this starts a new stream, so the steering state starts afresh too."""
        logits, model_state = self.stepper.prime(ids, controls, state)
        if state is None:
            self.state = None
        self.state = self.steering.observe_sequence(ids, self._rows(1))
        return self.steering.apply(logits, self.state), model_state

    def step(self, ids, controls, state):
        ids = np.asarray(ids, np.int64).reshape(-1)
        logits, model_state = self.stepper.step(ids, controls, state)
        self.state = self.steering.observe(ids, self._rows(len(ids)))
        return self.steering.apply(logits, self.state), model_state
