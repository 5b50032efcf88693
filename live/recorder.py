"""Session recording: the player's and the model's notes on separate tracks, at their real times."""
from __future__ import annotations

import os

import mido

from .atomic_file import write_atomic
from .midi_io import is_note_off, is_note_on

TICKS_PER_BEAT = 480
TEMPO = 500_000  # 120 bpm: 960 ticks per second, about 1 ms resolution
PARTS = ("player", "model")


class Recorder:
    """add() is called from the clock thread (a list append); save() runs after the clock has stopped."""

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        # (part, seconds, message bytes): tuples of plain values, which the garbage collector stops tracking.
        # Storing mido Messages (tracked objects) made every full collection slower as a session grew: in a
        # 10 min run they stalled the clock thread (it needs the GIL) by up to 50 ms.
        self._events: list[tuple[str, float, bytes]] = []

    def add(self, part: str, seconds: float, msg) -> None:
        if part in PARTS and msg.type in ("note_on", "note_off"):
            self._events.append((part, max(0.0, seconds), bytes(msg.bytes())))

    @property
    def events(self) -> list[tuple[str, float, mido.Message]]:
        return [(part, seconds, mido.Message.from_bytes(data)) for part, seconds, data in self._events]

    def to_midi(self) -> mido.MidiFile:
        midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
        meta = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=TEMPO, time=0),
                               mido.MetaMessage("track_name", name="Performance RNN Live", time=0)])
        midi.tracks.append(meta)
        events = self.events
        end = max((t for _, t, _ in events), default=0.0)
        for part in PARTS:
            midi.tracks.append(self._track(events, part, end))
        return midi

    def _track(self, events, part: str, end: float) -> mido.MidiTrack:
        timed, sounding = [], set()
        for p, seconds, msg in events:
            if p != part:
                continue
            key = (msg.channel, msg.note)
            if is_note_on(msg):
                sounding.add(key)
            elif is_note_off(msg):
                if key not in sounding:
                    continue
                sounding.discard(key)
            timed.append((seconds, msg))
        # A note still held when the session ended (the player's hand) ends with the recording.
        timed += [(end, mido.Message("note_off", channel=c, note=n)) for c, n in sorted(sounding)]
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=part, time=0)])
        last = 0
        for seconds, msg in sorted(timed, key=lambda item: item[0]):
            tick = round(mido.second2tick(seconds, TICKS_PER_BEAT, TEMPO))
            track.append(msg.copy(time=max(0, tick - last)))
            last = max(last, tick)
        return track

    def save(self) -> str:
        """Write atomically, so a crash never leaves half a file."""
        return write_atomic(self.path, lambda f: self.to_midi().save(file=f), suffix=".mid")
