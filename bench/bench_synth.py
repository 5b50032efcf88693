"""Built-in synth: note -> audio latency. In-process FluidSynth: from a note-on to the first sample above
-40 dBFS (the instrument's attack plus FluidSynth's 64-frame render block); JACK adds its buffering.
Then the level meter's cost: its mirror synth renders wall time in 50 ms blocks (live.synth_meter)."""
from __future__ import annotations

import time

import mido
import numpy as np

from live.synth import SAMPLE_RATE, Synth, SynthConfig
from live.synth_meter import INTERVAL, SynthMeter

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
    meter_cost()


def meter_cost(seconds: float = 5.0) -> None:
    """CPU share of one core the meter's rendering takes, with N piano notes held (re-struck every 2 s)."""
    print("\n| notes held | meter render, % of one core | per 50 ms block (ms) |")
    print("|---|---|---|")
    for voices in (0, 4, 16):
        synth = Synth(SynthConfig(audio_driver="none"))
        clock = [0.0]
        meter = SynthMeter(synth, clock=lambda now=clock: now[0])
        spent, blocks = 0.0, round(seconds / INTERVAL)
        for b in range(blocks):
            if b % round(2 / INTERVAL) == 0:
                for n in range(voices):
                    synth.send(mido.Message("note_on", note=40 + 3 * n, velocity=90))
            clock[0] += INTERVAL
            start = time.perf_counter()
            meter.update()
            spent += time.perf_counter() - start
        meter.close()
        synth.close()
        print(f"| {voices} | {100 * spent / seconds:.2f} | {1000 * spent / blocks:.3f} |")


if __name__ == "__main__":
    main()
