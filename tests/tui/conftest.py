"""A real scheduler on the wall clock with a scripted model and a list port, wrapped as a panel session."""
from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

from live.clock import MonotonicClock
from live.commands import CommandQueue
from live.midi_io import MidiOutput
from live.modes import ModeConfig, Performer
from live.scheduler import Scheduler, SchedulerConfig
from live.voice import Voice, VoiceSettings
from tests.live.fakes import CONFIG, ScriptStepper


class LockedListPort:
    """Output port double: appends (time, message) under a lock (the clock thread sends, tests read)."""

    def __init__(self):
        self.sent = []
        self.lock = threading.Lock()

    def send(self, msg):
        with self.lock:
            self.sent.append((time.perf_counter(), msg))

    def snapshot(self):
        with self.lock:
            return list(self.sent)

    def close(self):
        pass


def build_session(stepper=None, mode="solo"):
    port = LockedListPort()
    commands = CommandQueue()
    voice = Voice(CONFIG, stepper or ScriptStepper(), VoiceSettings(), rng=np.random.default_rng(0))
    performer = Performer(voice, ModeConfig(mode=mode))
    scheduler = Scheduler(performer, MidiOutput(port, flush_seconds=0), commands, MonotonicClock(),
                          SchedulerConfig())
    return SimpleNamespace(commands=commands, scheduler=scheduler, port=port, input_name="test in",
                           output_name="test out")


@pytest.fixture
def session():
    return build_session()


async def wait_until(predicate, timeout=3.0):
    """Poll (yielding to the app's loop) until predicate() is true; the scheduler applies commands async."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.01)
    return predicate()


from tests.live.conftest import jack_server  # noqa: E402,F401  (the live helper's JACK fixture, shared)
