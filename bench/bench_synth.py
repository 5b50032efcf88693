"""Built-in synth: note -> audio latency. In-process FluidSynth: from a note-on to the first sample above
-40 dBFS (the instrument's attack plus FluidSynth's 64-frame render block); JACK adds its buffering."""
from __future__ import annotations

import mido
import numpy as np

from live.synth import SAMPLE_RATE, Synth, SynthConfig

JACK_PERIOD, JACK_PERIODS = 128, 2  # tests/live/jack_server.py and the README's JACK command


def onset_ms(synth: Synth, note: int, velocity: int) -> float:
    synth.send(mido.Message("note_on", note=note, velocity=velocity))
    audio = np.abs(synth.render(SAMPLE_RATE // 10)).max(axis=1)
    synth.panic()
    synth.render(SAMPLE_RATE)
    return float(np.argmax(audio > 10 ** (-40 / 20))) * 1000 / SAMPLE_RATE


def main() -> None:
    synth = Synth(SynthConfig(audio_driver="none"))
    rows = [(n, v, onset_ms(synth, n, v)) for n in (36, 60, 84) for v in (40, 80, 120)]
    synth.close()
    buffering = JACK_PERIOD * JACK_PERIODS * 1000 / SAMPLE_RATE
    print(f"| note | velocity | render onset (ms) | + JACK {JACK_PERIOD}x{JACK_PERIODS} buffer (ms) |")
    print("|---|---|---|---|")
    for n, v, ms in rows:
        print(f"| {n} | {v} | {ms:.2f} | {ms + buffering:.2f} |")


if __name__ == "__main__":
    main()
