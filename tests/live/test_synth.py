"""The built-in synth: sound after a model note, silence after panic, bad input leaves MIDI running."""
import os
import subprocess
import sys
import time

import mido
import numpy as np
import pytest

from engine.bundle import load_bundle
from live.commands import Panic, SetControl
from live.recorder import Recorder
from live.session import Session, SessionConfig
from live.settings import Settings
from live.synth import SAMPLE_RATE, Synth, SynthConfig, SynthError, dbfs, find_soundfont, open_synth
from tests.live.instrument import ROOT

MS = SAMPLE_RATE // 1000
RENDER = SynthConfig(audio_driver="none")


class WallPort:
    def __init__(self):
        self.sent = []

    def send(self, msg):
        self.sent.append(msg)

    def close(self):
        pass


def test_a_note_sounds_within_50_ms_and_panic_silences_within_1_s():
    synth = Synth(SynthConfig(audio_driver="none"))
    try:
        assert dbfs(synth.render(10 * MS)) < -80  # silence (FluidSynth dithers: 1 LSB)
        synth.send(mido.Message("note_on", note=60, velocity=80))
        assert dbfs(synth.render(50 * MS)) > -40
        synth.panic()
        assert dbfs(synth.render(1000 * MS)[-10 * MS:]) < -60
    finally:
        synth.close()


def test_a_model_note_reaches_the_synth_and_panic_and_stop_silence_it(tiny_bundle_path):
    config = SessionConfig(Settings(mode="solo"), seed=0, duration=10, realtime=False, synth=RENDER)
    port = WallPort()
    session = Session(config, loaded=load_bundle(tiny_bundle_path()), output_port=port, open_ports=False)
    session.start()
    deadline = time.monotonic() + 10
    while not any(m.type == "note_on" and m.velocity for m in port.sent) and time.monotonic() < deadline:
        time.sleep(0.001)
    assert dbfs(session.synth.render(50 * MS)) > -40  # the synth got the same note as the MIDI port
    session.send(SetControl("mode", "mute"))  # no new notes after the panic
    session.send(Panic())
    time.sleep(0.05)  # the clock thread takes the command at its next tick (10 ms)
    level_after_panic = dbfs(session.synth.render(1000 * MS)[-10 * MS:])
    synth = session.synth
    session.stop()
    assert level_after_panic < -60
    assert synth._fs is None  # closed: the process holds no sounding synth after stop


def test_bad_input_is_one_line_with_the_fix_and_the_session_runs_midi_only(tmp_path):
    not_sf = tmp_path / "notes.sf2"
    not_sf.write_bytes(b"MThd" + bytes(40))
    with pytest.raises(SynthError, match="no soundfont at .* --soundfont"):
        find_soundfont(str(tmp_path / "missing.sf2"))
    with pytest.raises(SynthError, match="not a SoundFont"):
        find_soundfont(str(not_sf))
    lines = []
    assert open_synth(SynthConfig(soundfont=str(not_sf)), lines.append) is None
    assert open_synth(SynthConfig(audio_driver="no-such-driver"), lines.append) is None
    assert len(lines) == 2 and all("\n" not in line and line.startswith("synth off: ") for line in lines)
    assert "--audio-driver" in lines[1]


def test_the_library_absent_is_one_line_with_the_fix():
    code = ("import sys; sys.modules['fluidsynth'] = None\n"
            "from live.synth import SynthConfig, open_synth\n"
            "assert open_synth(SynthConfig(audio_driver='none'), print) is None")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("synth off: FluidSynth is not available") and "apt-get install" in out.stdout


def test_programs_follow_the_parts():
    synth = Synth(SynthConfig(audio_driver="none", model_program=40, player_program=0, model_channel=0))
    try:
        # A violin (GM 41) and a piano differ in sound: the model's channel got the model's program.
        synth.send(mido.Message("note_on", channel=0, note=67, velocity=100))
        violin = synth.render(300 * MS)
        synth.panic()
        synth.render(1000 * MS)
        synth.send(mido.Message("note_on", channel=1, note=67, velocity=100))
        piano = synth.render(300 * MS)
    finally:
        synth.close()
    assert not np.allclose(violin, piano, atol=1e-3)


def test_recordings_get_ordinary_permissions(tmp_path):
    recorder = Recorder(tmp_path / "take.mid")
    recorder.add("model", 0.1, mido.Message("note_on", note=60, velocity=80))
    old = os.umask(0o022)
    try:
        path = recorder.save()
    finally:
        os.umask(old)
    assert os.stat(path).st_mode & 0o777 == 0o644
