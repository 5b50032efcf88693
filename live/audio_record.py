"""--record-audio: the session's sound as a WAV, rendered after the session from the same timed events the
MIDI recording holds, through a FluidSynth with the same soundfont and programs. Sample-exact with the MIDI
file by construction, and never a cost on the real-time path."""
from __future__ import annotations

import wave
from dataclasses import replace

import numpy as np

from engine.atomic import atomic_path

from .synth import SAMPLE_RATE, Synth, SynthConfig

TAIL_SECONDS = 2.0  # release tails after the last event


def render_events(events, config: SynthConfig) -> np.ndarray:
    """events: (part, seconds, mido message), any order. Returns int16 [frames, 2]."""
    synth = Synth(replace(config, audio_driver="none"))
    blocks, done = [], 0
    try:
        for _, seconds, msg in sorted(events, key=lambda e: e[1]):
            frame = round(seconds * SAMPLE_RATE)
            if frame > done:
                blocks.append(synth.render(frame - done))
                done = frame
            synth.send(msg)
        blocks.append(synth.render(round(TAIL_SECONDS * SAMPLE_RATE)))
    finally:
        synth.close()
    audio = np.concatenate(blocks) if blocks else np.zeros((0, 2), np.float32)
    return np.clip(np.round(audio * 32768.0), -32768, 32767).astype(np.int16)


def save_wav(path: str, audio: np.ndarray) -> str:
    with atomic_path(path) as tmp:
        with wave.open(str(tmp), "wb") as w:
            w.setnchannels(2)
            w.setsampwidth(2)
            w.setframerate(SAMPLE_RATE)
            w.writeframes(audio.tobytes())
    return path


def record_audio(path: str, recorder, config: SynthConfig, with_player: bool) -> str:
    """The player's notes reach the synth only with --thru: only then are they in the take."""
    events = [e for e in recorder.events if with_player or e[0] != "player"]
    return save_wav(path, render_events(events, config))
