"""Test doubles for the live engine: a scripted 'model', a recording port, a scheduler harness on a fake clock."""
from __future__ import annotations

from dataclasses import dataclass

import mido
import numpy as np

from engine.configs import get_config
from engine.events import NOTE_OFF, NOTE_ON, TIME_SHIFT, Event
from live.clock import FakeClock
from live.commands import CommandQueue, PlayerMessage
from live.midi_output import MidiOutput
from live.performer import Performer
from live.scheduler import Scheduler, SchedulerConfig
from live.settings import Settings
from live.voice import Voice

CONFIG = get_config("performance_with_dynamics")


@dataclass
class ScriptState:
    last: int = -1
    sounding: int | None = None  # the last NOTE_ON pitch not yet released (any source)
    notes_heard: int = 0  # NOTE_ONs in the context, the player's included

    def copy(self):
        return ScriptState(self.last, self.sounding, self.notes_heard)


class ScriptStepper:
    """A deterministic 'model': pitch 60 + (notes heard % 12), held `hold` steps, then `gap` steps of rest.
    Its logits are one-hot-like, so sampling always picks the scripted event. `fail_after` raises."""

    def __init__(self, hold: int = 10, gap: int = 10, fail_after: int | None = None):
        self.vocab = CONFIG.vocab
        self.hold, self.gap, self.fail_after = hold, gap, fail_after
        self.steps = 0
        self.fed: list[tuple[int, object]] = []  # (class id, controls) of every step, in order

    def zero_state(self, batch=1):
        return ScriptState()

    def step(self, ids, controls, state):
        self.steps += 1
        if self.fail_after is not None and self.steps > self.fail_after:
            raise RuntimeError("scripted model failure")
        class_id = int(np.asarray(ids).reshape(-1)[0])
        self.fed.append((class_id, None if controls is None else np.asarray(controls).copy()))
        event = self.vocab.decode(class_id)
        new = state.copy()
        new.last = class_id
        if event.kind == NOTE_ON:
            new.sounding, new.notes_heard = event.value, state.notes_heard + 1
        elif event.kind == NOTE_OFF and state.sounding == event.value:
            new.sounding = None
        logits = np.full((1, self.vocab.num_classes), -1e9, np.float32)
        logits[0, self._next(new, event)] = 0.0
        return logits, new

    def _next(self, state, event) -> int:
        if event.kind == TIME_SHIFT and state.sounding is not None:
            return self.vocab.encode(Event(NOTE_OFF, state.sounding))
        if event.kind in (NOTE_ON,):
            return self.vocab.encode(Event(TIME_SHIFT, self.hold))
        if event.kind == NOTE_OFF:
            return self.vocab.encode(Event(TIME_SHIFT, self.gap))
        return self.vocab.encode(Event(NOTE_ON, 60 + state.notes_heard % 12))


class ListPort:
    """A fake output port: (clock time, message) for everything sent."""

    def __init__(self, clock):
        self.clock = clock
        self.sent: list[tuple[float, mido.Message]] = []
        self.closed = False

    def send(self, msg):
        self.sent.append((round(self.clock.now(), 6), msg))

    def close(self):
        self.closed = True


class Rig:
    """A scheduler on a fake clock with a list port; play() scripts player messages at given times."""

    def __init__(self, stepper=None, mode="solo", duration=1.0, lookahead_ms=100.0, thru=False, seed=0,
                 recorder=None, config=CONFIG, **knobs):
        self.clock = FakeClock()
        self.port = ListPort(self.clock)
        self.commands = CommandQueue()
        stepper = stepper or ScriptStepper()
        self.settings = Settings(mode=mode, lookahead_ms=lookahead_ms, thru=thru, **knobs)
        self.voice = Voice(config, stepper, self.settings, rng=np.random.default_rng(seed))
        self.performer = Performer(self.voice)
        self.events = []
        config = SchedulerConfig(duration_seconds=duration)
        self.scheduler = Scheduler(self.performer, MidiOutput(self.port, flush_seconds=0), self.commands,
                                   self.clock, config, on_event=self.events.append, recorder=recorder)

    def play(self, t: float, msg: mido.Message) -> None:
        self.clock.at(t, lambda: self.commands.put(PlayerMessage(msg, self.clock.now())))

    def command(self, t: float, command) -> None:
        self.clock.at(t, lambda: self.commands.put(command))

    def run(self):
        self.scheduler.run()
        return self.port.sent

    def notes(self):
        """(time, type, note, velocity) of the note messages sent."""
        return [(t, m.type, m.note, m.velocity) for t, m in self.port.sent if m.type in ("note_on", "note_off")]


def sounding_after(sent, panic_ends_notes: bool = True) -> set:
    """(channel, note) pairs left sounding by a message log (note-on without a later note-off). Without
    `panic_ends_notes`, CC 123 and 120 do not count (a synth may ignore them)."""
    sounding = set()
    for _, m in sent:
        if m.type == "note_on" and m.velocity > 0:
            sounding.add((m.channel, m.note))
        elif m.type in ("note_on", "note_off"):
            sounding.discard((m.channel, m.note))
        elif panic_ends_notes and m.type == "control_change" and m.control in (120, 123):
            sounding = {(c, n) for c, n in sounding if c != m.channel}
    return sounding


def note(kind: str, pitch: int, velocity: int = 80, channel: int = 0) -> mido.Message:
    return mido.Message(kind, note=pitch, velocity=velocity if kind == "note_on" else 0, channel=channel)
