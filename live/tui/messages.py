"""Messages from the engine threads into the app, and the sink that posts them without ever blocking.

The scheduler calls EngineSink(event) on its clock thread and the MIDI callback calls it with player CCs;
both only append to a deque or call post_message (loop.call_soon_threadsafe), never call_from_thread,
which would wait for the UI. High-rate messages say can_replace so a queue of them collapses to one."""
from __future__ import annotations

import collections

from textual.message import Message


class NotesArrived(Message):
    """New notes are waiting in the app's note deque (the deque keeps them all; this is a wake-up)."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, NotesArrived)


class StatsUpdated(Message):
    """The scheduler's periodic StatsReport; only the newest matters."""

    def __init__(self, report) -> None:
        super().__init__()
        self.report = report

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StatsUpdated)


class EngineStateChanged(Message):
    """('mode', 'duet'), ('call', 'responding'), ('output', 'lost'), ...; newest per key wins."""

    def __init__(self, key: str, value: str) -> None:
        super().__init__()
        self.key = key
        self.value = value

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, EngineStateChanged) and message.key == self.key


class EngineFailed(Message):
    """The scheduler reported an error (it has already sent panic)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class EngineReport(Message):
    """A line from the session (port lost or back, model swap failed): shown as a notification."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class PlayerControlChange(Message):
    """A CC from the player's input, for MIDI learn and mapped controls; newest per (channel, cc) wins."""

    def __init__(self, msg) -> None:
        super().__init__()
        self.msg = msg

    def can_replace(self, message: Message) -> bool:
        return (isinstance(message, PlayerControlChange) and message.msg.channel == self.msg.channel
                and message.msg.control == self.msg.control)


class EngineSink:
    """Callable installed as the scheduler's on_event: sorts events into the note deque or messages.

    Safe on any thread: deque.append is atomic and post_message only schedules onto the app's loop."""

    def __init__(self, app, maxlen: int = 20_000):
        self.app = app
        self.notes: collections.deque = collections.deque(maxlen=maxlen)

    def __call__(self, event) -> None:
        kind = type(event).__name__
        if kind == "NoteSent":
            self.notes.append((event.seconds, event.part, event.message))
            self.app.post_message(NotesArrived())
        elif kind == "StatsReport":
            self.app.post_message(StatsUpdated(event))
        elif kind == "StateChanged":
            self.app.post_message(EngineStateChanged(event.key, event.value))
        elif kind == "EngineError":
            self.app.post_message(EngineFailed(event.text))

    def player_message(self, msg) -> None:
        """From the MIDI input callback: CCs go to the UI (MIDI learn, mapped controls)."""
        if msg.type == "control_change":
            self.app.post_message(PlayerControlChange(msg))

    def report(self, text: str) -> None:
        """The session's and port watcher's messages (port lost, reconnected, load failed)."""
        self.app.post_message(EngineReport(str(text)))

    def drain(self) -> list:
        out = []
        while self.notes:
            out.append(self.notes.popleft())
        return out
