"""The model's voice: incremental sampling, decoding to MIDI, hearing the player, and rollback to the present.

The voice's context is one event stream on the absolute step grid. A checkpoint (model state, logits, decoder,
steering state, random state) is kept before every TIME_SHIFT, so the stream can be cut back to any step
already heard: everything after the cut lies in the future and was never sent (duet rollback, knob changes).
Sampling is steered (engine/steering.py) so the density and pitch-class knobs bite, and notes end before the
5 s cap instead of being cut."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from engine.controls import user_controls
from engine.decoder import MidiDecoder
from engine.events import (MAX_SHIFT_STEPS, NOTE_OFF, NOTE_ON, STEPS_PER_SECOND, TIME_SHIFT, VELOCITY, Event,
                           velocity_to_bin)
from engine.sampling import sample_ids
from engine.steering import SteeringConfig, SteeringState, steering_for

from .settings import Settings



FOLLOW_FLOOR = 1.0  # notes/s: the least a density that follows the music may ask for


def _uniform(histogram) -> bool:
    return histogram is None or len(set(histogram)) == 1


MAX_EVENTS_PER_STEP = 32  # then time must move on: a wandering model cannot flood one 10 ms tick


@dataclass
class _Checkpoint:
    time: int
    state: object
    logits: np.ndarray
    decoder: MidiDecoder
    velocity_bin: int
    rng_state: dict
    steer_state: SteeringState


class Voice:
    """One model stream. Only the scheduler thread touches a voice once it is playing."""

    def __init__(self, config, stepper, settings: Settings | None = None, rng=None, step_timer=None,
                 max_events_per_step: int = MAX_EVENTS_PER_STEP):
        self.config = config
        self.vocab = config.vocab
        self.stepper = stepper
        self.settings = settings or Settings()  # shared with the performer and scheduler
        self.rng = rng if rng is not None else np.random.default_rng()
        self.step_timer = step_timer  # called with each model step's seconds (bench/UI); never blocks
        self.state = stepper.zero_state(1)
        self.logits = None
        self.controls = None
        # Sampling-time steering makes the knobs bite and releases notes before the 5 s cap (engine/steering.py).
        self.steering = steering_for(self.vocab, config=SteeringConfig(
            max_step_events=max_events_per_step))
        self.steer_state = self.steering.new_state(1)
        self._drawn: tuple[int, dict] | None = None  # the last sampled id and the random state before its draw
        self.update_controls()
        self.origin = 0  # absolute step of decoder step 0
        self.decoder = self._new_decoder()
        self.velocity_bin = 0
        self.checkpoints: list[_Checkpoint] = []
        self._step(self.vocab.no_event_id)  # Magenta's primer: a 1 s silence (model only, not played)

    # ---- setup ---------------------------------------------------------------------------------------

    def _new_decoder(self) -> MidiDecoder:
        steps = round(self.settings.max_note_seconds * STEPS_PER_SECOND)
        return MidiDecoder(self.config.num_velocity_bins, max_note_duration_steps=steps,
                           channel=self.settings.channel - 1)

    def prime(self, ids) -> None:
        """Feed a primer (model only, not played); off the clock thread, before start()."""
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids):
            controls = None if self.controls is None else np.repeat(self.controls[None], len(ids), 0)
            logits, self.state = self.stepper.prime(ids, controls, self.state)
            self.logits = np.asarray(logits).reshape(-1)

    def reset_context(self) -> None:
        """Forget everything heard (against babble); call start() next."""
        self.state = self.stepper.zero_state(1)
        self.steer_state = self.steering.new_state(1)
        self.velocity_bin = 0
        self._step(self.vocab.no_event_id)

    def start(self, step: int) -> None:
        """Place the voice's present at absolute `step`, with a fresh decoder and one checkpoint."""
        self.origin = step
        self.decoder = self._new_decoder()
        self.checkpoints = []
        self._checkpoint()

    def update_controls(self) -> None:
        """The model's control inputs and the steering target from the knobs. Density "off" means: no density
        steering, and the model's own pace: an optionally-conditioned model with no scale either plays
        unconditioned; otherwise the density input follows the music's recent notes/s (FOLLOW_FLOOR at least,
        so silence cannot feed on itself), refreshed at every time step."""
        s = self.settings
        hist = s.pitch_class_histogram if s.conditioning and not _uniform(s.pitch_class_histogram) else None
        nps = s.notes_per_second or None if s.conditioning else None  # 0: off
        self.steering = self.steering.retarget(nps, hist)
        disable = self.config.optional_conditioning and (not s.conditioning or (nps is None and hist is None))
        self._control_args = (nps, hist, disable)
        self._follow = bool(self.config.control_size) and not disable and nps is None \
            and self.config.density_conditioning
        self._set_controls()

    def _set_controls(self) -> None:
        if not self.config.control_size:
            self.controls = None
            return
        nps, hist, disable = self._control_args
        if self._follow:
            nps = max(FOLLOW_FLOOR, float(self.steering.rate(self.steer_state)[0]))
        self.controls = user_controls(self.config, nps, hist, disable=disable, smooth_density=True).astype(np.float32)

    # ---- time and checkpoints -------------------------------------------------------------------------

    @property
    def time(self) -> int:
        """Absolute step the model's context has reached."""
        return self.origin + self.decoder.step

    def _checkpoint(self, class_id: int | None = None) -> None:
        # The checkpoint comes before the TIME_SHIFT `class_id` is stepped, so after a rollback that shift is
        # sampled again: keep the random state from before its draw, so it draws the same, however often the
        # stream is rolled back to here.
        drawn = self._drawn
        rng_state = drawn[1] if drawn is not None and drawn[0] == class_id else self.rng.bit_generator.state
        self.checkpoints.append(_Checkpoint(self.time, self.state.copy(), self.logits.copy(),
                                            self.decoder.clone(), self.velocity_bin, rng_state,
                                            self.steer_state))

    def prune(self, present: int) -> None:
        """Keep only the newest checkpoint at or before `present` and the ones after it."""
        keep = 0
        for i, cp in enumerate(self.checkpoints):
            if cp.time <= present:
                keep = i
        del self.checkpoints[:keep]

    def rollback(self, present: int) -> bool:
        """Cut the stream back to the newest checkpoint at or before `present`. True if anything was cut."""
        if self.time <= present:
            return False
        # A voice that started after `present` (just swapped in) goes back to its start: nothing of it was sent.
        index = max((i for i, cp in enumerate(self.checkpoints) if cp.time <= present), default=0)
        cp = self.checkpoints[index]
        del self.checkpoints[index + 1:]
        self.state, self.logits = cp.state.copy(), cp.logits.copy()
        self.decoder, self.velocity_bin = cp.decoder.clone(), cp.velocity_bin
        # The random stream rewinds too: what a run plays depends on its seed and what it heard, never on
        # how far ahead the model happened to be when the rollback came.
        self.rng.bit_generator.state = cp.rng_state
        self.steer_state, self._drawn = cp.steer_state, None  # steering states are never changed in place
        if self._follow:
            self._set_controls()
        return True

    # ---- model steps ------------------------------------------------------------------------------------

    def _step(self, class_id: int) -> None:
        started = time.perf_counter()
        controls = None if self.controls is None else self.controls[None]
        logits, self.state = self.stepper.step(np.array([class_id], np.int64), controls, self.state)
        self.logits = np.asarray(logits).reshape(-1)
        if self.step_timer is not None:
            self.step_timer(time.perf_counter() - started)

    def feed(self, class_id: int, decode: bool = True) -> list:
        """One event into the model (and the decoder unless it is a player note): [(abs step, Message)]."""
        event = self.vocab.decode(class_id)
        out = []
        if event.kind == TIME_SHIFT:
            # Send the onsets held back at this step first, so that everything after the checkpoint
            # lies strictly later than it: a rollback to here never re-sends a note.
            out = self._absolute(self.decoder.advance(0))
            if self._follow:
                self._set_controls()
            self._checkpoint(class_id)
        elif event.kind == VELOCITY:
            self.velocity_bin = event.value
        self._step(class_id)
        if decode or event.kind == TIME_SHIFT:
            self.steer_state = self.steering.observe([class_id], self.steer_state)
        elif self.settings.count_player:  # a player's note: counted for density, never ours to release
            self.steer_state = self.steering.observe_density([class_id], self.steer_state)
        if not decode:
            return out
        return out + self._absolute(self.decoder.feed(class_id))

    def _absolute(self, msgs) -> list:
        return [(self.origin + step, msg) for step, msg in msgs]

    def steered_logits(self) -> np.ndarray:
        """The logits the next sample is drawn from: the model's, steered toward the knobs ([1, V])."""
        return self.steering.apply(self.logits[None], self.steer_state)

    def sample(self) -> int:
        before = self.rng.bit_generator.state
        ids = sample_ids(self.steered_logits(), temperature=self.settings.temperature, rng=self.rng)
        class_id = int(np.asarray(ids).reshape(-1)[0])
        self._drawn = (class_id, before)
        return class_id

    def shift_id(self, steps: int) -> int:
        return self.vocab.encode(Event(TIME_SHIFT, min(steps, MAX_SHIFT_STEPS)))

    def shift_steps(self, class_id: int) -> int:
        event = self.vocab.decode(class_id)
        return event.value if event.kind == TIME_SHIFT else 0

    def player_ids(self, msg) -> list[tuple[int, bool]]:
        """(class id, also decode?) for a player's note: VELOCITY when its bin changes, then NOTE_ON/OFF.
        The note itself goes to the model only: the player's notes are not ours to play or release."""
        is_on = msg.type == "note_on" and msg.velocity > 0
        if is_on:
            out = []
            bins = self.config.num_velocity_bins
            if bins:
                vbin = int(velocity_to_bin(msg.velocity, bins))
                if vbin != self.velocity_bin:
                    out.append((self.vocab.encode(Event(VELOCITY, vbin)), True))
            return out + [(self.vocab.encode(Event(NOTE_ON, msg.note)), False)]
        return [(self.vocab.encode(Event(NOTE_OFF, msg.note)), False)]

    def note_off_id(self, pitch: int) -> int:
        return self.vocab.encode(Event(NOTE_OFF, pitch))

    def release_all(self) -> tuple[list, list[int]]:
        """Note-offs for every sounding model note now, and the NOTE_OFF ids the model should hear for them."""
        msgs = self._absolute(self.decoder.release_all())
        heard = [self.vocab.encode(Event(NOTE_OFF, msg.note)) for _, msg in msgs if msg.type == "note_off"]
        return msgs, heard
