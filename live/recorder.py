"""Session recording: the player's and the model's notes on separate tracks, at their real times."""
from __future__ import annotations

import os

import mido

from engine.atomic import atomic_path

from .midi_output import is_note_off, is_note_on
from .take_journal import TEMPO, TICKS_PER_BEAT, TakeJournal, RecordPathError, check_record_path, sidecar_path

PARTS = ("player", "model")
RECORDED_TYPES = ("note_on", "note_off", "program_change")


class Recorder:
    """add() is called from the clock thread (a list append); save() runs after the clock has stopped.
    The path is checked here (RecordPathError); start() begins the sidecar that survives a crash."""

    def __init__(self, path: str | os.PathLike, report=None):
        self.path = os.fspath(path)
        check_record_path(self.path)
        self.journal = TakeJournal(self, sidecar_path(self.path), report or (lambda text: None))
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
        if part in PARTS and msg.type in RECORDED_TYPES:
            self._events.append((part, max(0.0, seconds), bytes(msg.bytes())))

    def start(self) -> None:
        self.journal.start()

    def ticked_since(self, index: int) -> tuple[list, int]:
        """Events from `index` on as [(part, [(tick, bytes)])], and the index to continue from."""
        new = self._events[index:]  # the clock thread only appends: a slice is a consistent snapshot
        parts = [(part, [(round(mido.second2tick(s, TICKS_PER_BEAT, TEMPO)), data) for p, s, data in new if p == part])
                 for part in PARTS]
        return parts, index + len(new)

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
        timed, sounding, programs = [], set(), []
        for p, seconds, msg in events:
            if p != part:
                continue
            if msg.type == "program_change":
                programs.append((seconds, msg))
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
        # Programs first at equal times, and only on channels this part plays (the player's program goes out
        # on 14 channels in case a keyboard changes channel; a take keeps the ones it used).
        played = {msg.channel for _, msg in timed}
        timed = [(t, m) for t, m in programs if m.channel in played] + timed
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=part, time=0)])
        last = 0
        for seconds, msg in sorted(timed, key=lambda item: item[0]):
            tick = round(mido.second2tick(max(0.0, seconds - self.origin), TICKS_PER_BEAT, self.tempo))
            track.append(msg.copy(time=max(0, tick - last)))
            last = max(last, tick)
        return track

    def save(self) -> str:
        """Write atomically (engine.atomic), then drop the sidecar. If the take cannot be written (the disk
        filled up), the sidecar stays and the one-line error names it."""
        self.journal.stop(remove=False)
        try:
            with atomic_path(self.path) as tmp:
                self.to_midi().save(str(tmp))
        except OSError as err:
            self.journal.flush()
            kept = "" if self.journal.failed else f"; all but its last seconds are in {self.journal.path}"
            raise RecordPathError(f"cannot write the take {self.path} ({err.strerror}){kept}") from None
        self.journal.stop(remove=True)
        return self.path
