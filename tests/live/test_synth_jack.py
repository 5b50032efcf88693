"""The instrument with its built-in synth on JACK's dummy driver: the synth's JACK client, a --record-audio
take whose onsets line up with the MIDI take, and a start on a machine with no MIDI system at all."""
import os
import subprocess
import time
import wave

import mido
import numpy as np
import pytest

from tests.helpers import tiny_bundle
from tests.live.instrument import ROOT, Instrument, live_command

ONSETS = [0.4, 1.0, 1.55, 2.2, 2.7]  # s after connecting: player notes, each held 150 ms


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return tiny_bundle(tmp_path_factory.mktemp("bundle"))


def jack_clients(env) -> str:
    return subprocess.run(["jack_lsp"], env={**os.environ, **env}, capture_output=True, text=True).stdout


def wav_onsets(path, block_ms: float = 1.0) -> list[float]:
    """Times where the level is 12 dB above the 30 ms before the last 10 (a piano attack takes a few ms)
    and above -50 dBFS; one per 100 ms."""
    with wave.open(str(path)) as w:
        rate = w.getframerate()
        audio = np.frombuffer(w.readframes(w.getnframes()), np.int16).reshape(-1, 2) / 32768.0
    size = int(rate * block_ms / 1000)
    level = np.abs(audio[: len(audio) // size * size]).reshape(-1, size * 2).max(axis=1)
    onsets: list[float] = []
    for i in range(30, len(level)):
        if level[i] > max(4 * level[i - 30:i - 10].max(), 10 ** (-50 / 20)):
            t = i * block_ms / 1000
            if not onsets or t - onsets[-1] > 0.1:
                onsets.append(t)
    return onsets


def midi_onsets(path) -> list[float]:
    t, out = 0.0, []
    for msg in mido.MidiFile(path):
        t += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            out.append(t)
    return out


def test_the_synth_plays_on_jack_and_the_audio_take_lines_up_with_the_midi_take(jack_server, bundle, tmp_path):
    inst = Instrument(jack_server, "synth", "--synth", "--bundle_file", bundle, "--mode", "mute", "--thru", "--duration", "4",
                      "--record", tmp_path / "take.mid", "--record-audio", tmp_path / "take.wav",
                      tmp_path=tmp_path).start().connect()
    clients = jack_clients(jack_server.env)
    start = time.perf_counter()
    for i, at in enumerate(ONSETS):
        time.sleep(max(0.0, start + at - time.perf_counter()))
        inst.send(mido.Message("note_on", channel=1, note=60 + 2 * i, velocity=90))
        time.sleep(0.15)
        inst.send(mido.Message("note_off", channel=1, note=60 + 2 * i))
    assert inst.wait(30) == 0, inst.stderr()
    assert "through jack" in inst.stderr(), inst.stderr()
    assert "performance_rnn_synth:" in clients  # FluidSynth's own JACK client, connected to system:playback
    assert oct(os.stat(tmp_path / "take.wav").st_mode & 0o777) == oct(0o666 & ~current_umask())
    expected, heard = midi_onsets(tmp_path / "take.mid"), wav_onsets(tmp_path / "take.wav")
    assert len(expected) == len(ONSETS) and len(heard) == len(expected), (expected, heard)
    assert max(abs(a - b) for a, b in zip(expected, heard)) <= 0.020, (expected, heard)


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_with_no_midi_system_it_starts_a_private_jack_server_and_plays(bundle, tmp_path):
    """`make play` on a machine without ALSA's sequencer and without a JACK server (this one)."""
    name = f"prnn-fallback-{os.getpid()}"
    env = {k: v for k, v in os.environ.items() if k != "MIDO_BACKEND"}
    env.update(JACK_DEFAULT_SERVER=name, PYTHONPATH=str(ROOT))
    out = subprocess.run(live_command() + ["--no-tui", "--bundle_file", str(bundle), "--mode", "solo",
                                           "--duration", "3", "--record", str(tmp_path / "t.mid")],
                         env=env, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    if not os.path.exists("/dev/snd/seq"):
        assert f"started a private JACK server '{name}'" in out.stderr, out.stderr
        assert "through jack" in out.stderr, out.stderr
    assert "performance_rnn_live: virtual output" in out.stderr
    assert midi_onsets(tmp_path / "t.mid"), "the model played nothing"
    probe = subprocess.run(["jack_lsp"], env={**env, "JACK_NO_START_SERVER": "1"}, capture_output=True)
    assert probe.returncode != 0  # the private server is gone with the instrument
