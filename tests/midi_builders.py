"""Small MIDI files built in code for tests (no fixture files needed)."""
from __future__ import annotations

import mido

TICKS = 480  # per beat; at 120 qpm one tick is 1/960 s


def seconds_to_ticks(seconds: float) -> int:
    return int(round(seconds * 2 * TICKS))


def midi_from_notes(notes, pedal=(), channel=0, tempo=500_000, extra=()) -> mido.MidiFile:
    """notes: (pitch, start_s, end_s, velocity); pedal: (time_s, value) CC64 events on `channel`."""
    timeline = []
    for pitch, start, end, velocity in notes:
        timeline.append((seconds_to_ticks(start), 1, mido.Message("note_on", note=pitch, velocity=velocity,
                                                                  channel=channel)))
        timeline.append((seconds_to_ticks(end), 0, mido.Message("note_off", note=pitch, channel=channel)))
    for time, value in pedal:
        timeline.append((seconds_to_ticks(time), -1, mido.Message("control_change", control=64, value=value,
                                                                   channel=channel)))
    timeline += [(seconds_to_ticks(t), -2, m) for t, m in extra]
    timeline.sort(key=lambda item: (item[0], item[1]))
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=tempo, time=0)])
    last = 0
    for tick, _, message in timeline:
        track.append(message.copy(time=tick - last))
        last = tick
    midi = mido.MidiFile(ticks_per_beat=TICKS)
    midi.tracks.append(track)
    return midi
