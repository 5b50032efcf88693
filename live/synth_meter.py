"""The built-in synth's output level (RMS and peak in dBFS), for the panel's meter.

FluidSynth plays through its own audio driver, whose buffers Python never sees (a driver callback in Python
would take the GIL a few hundred times a second, on the audio thread). So the meter runs a second FluidSynth
with no driver: it gets every message the sounding one gets (as a listener of live.synth.Synth) and renders,
on its own thread, as much audio as wall time has advanced. Same soundfont, programs and gain: the same
levels, up to one render interval late. Rendering runs in C with the GIL released."""
from __future__ import annotations

import math
import threading
import time
from dataclasses import replace

import numpy as np

from .clock import HELPER_PRIORITY, make_realtime
from .synth import SAMPLE_RATE, Synth

INTERVAL = 0.05  # s between renders (and the RMS window)
MAX_CATCH_UP = 1.0  # s: after a stall, render at most this much (voices move on; the meter need not be exact)


def to_db(value: float) -> float:
    return 20 * math.log10(value) if value > 0 else -math.inf


class SynthMeter:
    """Attach to a sounding synth; read() gives (rms dBFS of the last interval, peak dBFS since the last read)."""

    def __init__(self, synth: Synth, clock=time.monotonic):
        self.source = synth
        self.mirror = Synth(replace(synth.config, audio_driver="none"))
        self.clock = clock
        self.rendered_to = clock()
        self.rms = 0.0
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # a send on the clock thread never meets a closed mirror
        self._open = True
        synth.listeners.append(self)  # from now on it hears what the synth hears

    def send(self, msg) -> None:
        with self._lock:
            if self._open:
                self.mirror.send(msg)

    def panic(self) -> None:
        with self._lock:
            if self._open:
                self.mirror.panic()

    def update(self, now: float | None = None) -> None:
        """Render up to `now` and take the levels of what was rendered."""
        now = self.clock() if now is None else now
        frames = round(min(now - self.rendered_to, MAX_CATCH_UP) * SAMPLE_RATE)
        if frames <= 0:
            return
        self.rendered_to = now
        block = self.mirror.render(frames)
        window = block[-round(INTERVAL * SAMPLE_RATE):]
        self.rms = float(np.sqrt(np.mean(np.square(window, dtype=np.float64))))
        self.peak = max(self.peak, float(np.max(np.abs(block))))

    def read(self) -> tuple[float, float]:
        peak, self.peak = self.peak, 0.0
        return to_db(self.rms), to_db(max(peak, self.rms))

    def start(self) -> SynthMeter:
        self._thread = threading.Thread(target=self._run, name="synth-meter", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        make_realtime(HELPER_PRIORITY)  # a preempted GIL holder would stall the clock thread (see live.session)
        while not self._stop.wait(INTERVAL):
            self.update()

    def close(self) -> None:
        self.source.listeners = [x for x in self.source.listeners if x is not self]
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        with self._lock:
            self._open = False
            self.mirror.close()
