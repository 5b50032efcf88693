"""The built-in synth's level in the meters: a live.synth_meter.SynthMeter while the panel is up."""
from __future__ import annotations

from live.synth_meter import SynthMeter


class AudioLevelMixin:
    """Mixed into the App: needs self.bridge (its session's `synth`, None or absent without a synth)."""

    synth_meter: SynthMeter | None = None

    def start_synth_meter(self) -> None:
        synth = getattr(self.bridge.session, "synth", None)
        if synth is not None and self.synth_meter is None:
            self.synth_meter = SynthMeter(synth).start()

    def stop_synth_meter(self) -> None:
        meter, self.synth_meter = self.synth_meter, None
        if meter is not None:
            meter.close()

    def audio_level(self) -> tuple[float, float] | None:
        """(rms, peak) dBFS, or None with no built-in synth."""
        return None if self.synth_meter is None else self.synth_meter.read()
