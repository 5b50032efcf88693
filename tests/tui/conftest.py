"""A real scheduler on the wall clock with a scripted model and a list port, wrapped as a panel session."""
from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace

import pytest

from live.session import Session, SessionConfig
from live.settings import Settings
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


def build_session(stepper=None, mode="solo", **config):
    """A real Session (wall clock, scripted model) whose output is a list port and which opens no ports."""
    port = LockedListPort()
    stepper = stepper or ScriptStepper()
    loaded = SimpleNamespace(config=CONFIG, stepper=lambda: stepper)
    session = Session(SessionConfig(Settings(mode=mode), seed=0, realtime=False, **config), loaded=loaded,
                      output_port=port, open_ports=False)
    session.output.flush_seconds = 0
    session.port, session.input_name, session.output_name = port, "test in", "test out"
    return session


@pytest.fixture
def session():
    return build_session()


async def wait_until(predicate, timeout=10.0):
    """Poll (yielding to the app's loop) until predicate() is true; the scheduler applies commands async.
    The timeout only matters when a test fails: a loaded machine (the whole suite at once) can take seconds."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.01)
    return predicate()


from tests.live.conftest import jack_server  # noqa: E402,F401  (the live helper's JACK fixture, shared)
