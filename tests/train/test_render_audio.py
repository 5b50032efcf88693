"""Offline WAV rendering with FluidSynth, and the one-line reasons when it cannot run."""
import wave

import numpy as np
import pytest

from engine.errors import MidiReadError
from engine.notes import NoteList
from engine.performance import notes_to_midi
from train.render_audio import SynthUnavailable, render_wav


@pytest.fixture
def chord(tmp_path):
    path = tmp_path / "chord.mid"
    notes_to_midi(NoteList.from_tuples([(p, 0.0, 1.0, 100) for p in (60, 64, 67)])).save(path)
    return path


def test_renders_sound_atomically(chord, tmp_path):
    out = render_wav(chord, tmp_path / "out" / "chord.wav", sample_rate=22050)
    with wave.open(str(out)) as w:
        rate, frames = w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), np.int16)
    assert rate == 22050 and len(frames) >= 22050 and np.abs(frames).max() > 1000
    assert [p.name for p in out.parent.iterdir()] == ["chord.wav"]  # no temp file left


def test_no_fluidsynth_says_what_to_install(chord, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SynthUnavailable, match="apt-get install fluidsynth fluid-soundfont-gm"):
        render_wav(chord, tmp_path / "x.wav")


def test_missing_soundfont_and_bad_midi(chord, tmp_path, monkeypatch):
    monkeypatch.setenv("PRNN_SOUNDFONT", str(tmp_path / "none.sf2"))
    with pytest.raises(SynthUnavailable, match="none.sf2 does not exist"):
        render_wav(chord, tmp_path / "x.wav")
    monkeypatch.delenv("PRNN_SOUNDFONT")
    (tmp_path / "bad.mid").write_bytes(b"not midi")
    with pytest.raises(MidiReadError, match="bad.mid: not a readable MIDI file"):
        render_wav(tmp_path / "bad.mid", tmp_path / "x.wav")
    assert not (tmp_path / "x.wav").exists()
