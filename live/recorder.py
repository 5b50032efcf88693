"""Session recording: the player's and the model's notes on separate tracks, at their real times."""
from __future__ import annotations

import os
import tempfile

import mido

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
        self.tempo = TEMPO  # microseconds per beat; with sync on, the DAW's (set_tempo before save)
        self.origin = 0.0  # session seconds of the file's time 0 (with sync: the bar line the DAW started on)

    def set_tempo(self, bpm: float, origin: float = 0.0) -> None:
        """Write the take at this tempo, time 0 at `origin`, so it lands on the DAW's grid."""
        self.tempo, self.origin = mido.bpm2tempo(bpm), max(0.0, origin)

    def add(self, part: str, seconds: float, msg) -> None:
        if part in PARTS and msg.type in ("note_on", "note_off"):
            self._events.append((part, max(0.0, seconds), bytes(msg.bytes())))

    @property
    def events(self) -> list[tuple[str, float, mido.Message]]:
        return [(part, seconds, mido.Message.from_bytes(data)) for part, seconds, data in self._events]

    def to_midi(self) -> mido.MidiFile:
        midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
        meta = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=self.tempo, time=0),
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
            tick = round(mido.second2tick(max(0.0, seconds - self.origin), TICKS_PER_BEAT, self.tempo))
            track.append(msg.copy(time=max(0, tick - last)))
            last = max(last, tick)
        return track

    def save(self) -> str:
        """Write atomically (temp file + os.replace), so a crash never leaves half a file."""
        folder = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".recording-", suffix=".mid", dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                self.to_midi().save(file=f)
            os.replace(tmp, self.path)
        except BaseException:
            os.unlink(tmp)
            raise
        return self.path
