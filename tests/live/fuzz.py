"""Seeded hostile MIDI input for the instrument (bench/bench_fuzz.py and a short suite test): note storms,
chords up to 60 notes, sysex up to 8 KB, malformed bytes, MIDI clock up to 5 kHz, and rests."""
from __future__ import annotations

import random
import time

from tests.live.fakes import sounding_after

KINDS = ("storm", "chord", "sysex", "malformed", "clock", "rest")


def schedule(seed: int, seconds: float) -> list[tuple[float, str, list[int]]]:
    """(seconds from start, kind, bytes) in time order: episodes of 0.1-1 s, one kind each."""
    rng = random.Random(seed)
    out: list[tuple[float, str, list[int]]] = []
    t = 0.0
    while t < seconds:
        kind = rng.choice(KINDS)
        end = min(t + rng.uniform(0.1, 1.0), seconds)
        out += [(at, kind, data) for at, data in EPISODES[kind](rng, t, end)]
        t = end
    return sorted(out, key=lambda event: event[0])  # stable: a chord's notes keep their order


def _storm(rng, t, end):
    rate = rng.choice((200, 1000))  # messages per second
    while t < end:
        on = rng.random() < 0.6
        status = (0x90 if on else 0x80) | rng.randrange(16)
        yield t, [status, rng.randrange(128), rng.randrange(1, 128) if on else 0]
        t += rng.expovariate(rate)


def _chord(rng, t, end):
    channel, pitches = rng.randrange(16), rng.sample(range(128), rng.choice((8, 16, 60)))
    release = rng.uniform(t, end) if rng.random() < 0.9 else None  # some chords are never released
    for pitch in pitches:
        yield t, [0x90 | channel, pitch, rng.randrange(1, 128)]
    for pitch in pitches if release is not None else ():
        yield release, [0x80 | channel, pitch, 0]


def _sysex(rng, t, end):
    while t < end:
        size = rng.choice((1, 16, 256, 8192))
        yield t, [0xF0] + [rng.randrange(128) for _ in range(size)] + [0xF7]
        t += rng.uniform(0.02, 0.2)


def _malformed(rng, t, end):
    while t < end:
        if rng.random() < 0.2:  # an unterminated sysex with bytes of every kind in it
            yield t, [0xF0] + [rng.randrange(256) for _ in range(rng.randrange(1, 12))]
        else:  # python-rtmidi sends at most 3 bytes unless the message starts as a sysex
            yield t, [rng.randrange(256) for _ in range(rng.randrange(1, 4))]
        t += rng.expovariate(500)


def _clock(rng, t, end):
    period = 1 / rng.choice((48, 1000, 5000))  # 120 bpm at 24 ppqn, then far beyond any real clock
    if rng.random() < 0.5:
        yield t, [0xFA]  # start
    while t < end:
        yield t, [0xF8]
        t += period


def _rest(rng, t, end):
    return iter(())


EPISODES = {"storm": _storm, "chord": _chord, "sysex": _sysex, "malformed": _malformed, "clock": _clock,
            "rest": _rest}


def play(events, send) -> None:
    """send(bytes) each event at its time (late ones at once: a 5 kHz clock outruns sleep)."""
    start = time.perf_counter()
    for at, _, data in events:
        ahead = start + at - time.perf_counter()
        if ahead > 0.0005:
            time.sleep(ahead)
        send(data)


def longest_notes(received) -> list[float]:
    """Durations (s) of the notes in a [(arrival time, Message)] log, from each note-on (a re-strike
    restarts it) to its note-off."""
    started: dict = {}
    out = []
    for t, m in received:
        if m.type not in ("note_on", "note_off"):
            continue
        key = (m.channel, m.note)
        if key in started:
            out.append(t - started.pop(key))
        if m.type == "note_on" and m.velocity > 0:
            started[key] = t
    return sorted(out, reverse=True)


def unreleased(received) -> set:
    """(channel, note) still on at the end of the log: a note-on without a later note-off (CC 123 or 120
    does not count: a synth may ignore them)."""
    return sounding_after(received, panic_ends_notes=False)
