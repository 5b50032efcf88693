"""The synth level meter: a mirror FluidSynth that hears what the sounding one hears, rendered to wall time."""
import mido

from live.synth import SAMPLE_RATE, Synth, SynthConfig, dbfs
from live.synth_meter import SynthMeter


class StepClock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_the_meter_rises_after_a_note_and_falls_after_panic():
    synth = Synth(SynthConfig(audio_driver="none"))
    clock = StepClock()
    meter = SynthMeter(synth, clock=clock)
    try:
        clock.t += 0.05
        meter.update()
        assert meter.read()[0] < -80  # silence (FluidSynth dithers: 1 LSB)
        synth.send(mido.Message("note_on", note=60, velocity=100))
        clock.t += 0.05
        meter.update()
        rms, peak = meter.read()
        assert rms > -40 and peak >= rms
        synth.panic()
        clock.t += 1.0
        meter.update()
        assert meter.read()[0] < -60
    finally:
        meter.close()
        synth.close()


def test_the_mirror_measures_what_the_synth_renders():
    """Same soundfont, program and gain: the mirror's level is the sounding synth's level."""
    synth = Synth(SynthConfig(audio_driver="none"))
    clock = StepClock()
    meter = SynthMeter(synth, clock=clock)
    try:
        synth.send(mido.Message("program_change", channel=0, program=40))  # after the meter came: it follows
        for note in (60, 64, 67):
            synth.send(mido.Message("note_on", note=note, velocity=90))
        own = synth.render(round(0.3 * SAMPLE_RATE))
        clock.t += 0.3
        meter.update()
        _, peak = meter.read()
        assert abs(peak - dbfs(own)) < 0.5
    finally:
        meter.close()
        synth.close()


def test_a_closed_meter_stops_listening_and_the_synth_plays_on():
    synth = Synth(SynthConfig(audio_driver="none"))
    meter = SynthMeter(synth).start()
    meter.close()
    try:
        assert synth.listeners == []
        meter.send(mido.Message("note_on", note=60, velocity=100))  # a send that raced the close: dropped
        synth.send(mido.Message("note_on", note=60, velocity=100))
        assert dbfs(synth.render(2400)) > -40
    finally:
        synth.close()
