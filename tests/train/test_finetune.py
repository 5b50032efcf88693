"""performance_rnn_finetune: takes -> a personal model in the user's models folder (tiny models only)."""
from __future__ import annotations

import re

import mido
import numpy as np
import pytest

from engine.bundle import load_bundle
from engine.notes import NoteList
from live.recorder import Recorder
from tests.helpers import tiny_bundle
from tests.style_takes import sample_style, style_of, write_style_takes
from train import finetune_cli
from train.takes import MAX_PAUSE_SECONDS, _shorten_pauses, collect_takes

from .test_dataset import exit_code


@pytest.fixture
def user(tmp_path, monkeypatch):
    monkeypatch.setenv("PRNN_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("PRNN_MODELS", raising=False)
    return tmp_path / "config"


@pytest.fixture(scope="module")
def takes(tmp_path_factory):
    return write_style_takes(tmp_path_factory.mktemp("takes") / "2026-11-29_01-00-00", 3.0)[0].parent


def _args(takes, base, *extra):
    return ["--takes", str(takes), "--base", str(base), "--name", "my-style", "--threads", "1", *extra]


def test_only_the_players_track_is_read(takes):
    found = collect_takes(takes.parent)
    assert len(found) == 6
    for take in found:
        midi = mido.MidiFile(take.path)
        player = [t for t in midi.tracks if t.name == "player"][0]
        assert len(take.notes) == sum(m.type == "note_on" for m in player)
        assert style_of(take.notes.pitch, take.seconds)[0] == 1.0  # the model track's noise is not in it
        assert take.notes.start.min() == 0.0


def test_long_pauses_are_shortened():
    notes = NoteList.from_tuples([(60, 5.0, 5.5, 80), (62, 6.0, 6.5, 80), (64, 20.0, 20.5, 80)])
    short = _shorten_pauses(notes)
    assert np.allclose(short.start, [0.0, 1.0, 1.5 + MAX_PAUSE_SECONDS])


def test_finetune_learns_the_style_and_saves_where_the_instrument_looks(takes, user, tmp_path, capsys):
    base = tiny_bundle(tmp_path, layers=(32,))
    args = _args(takes, base, "--max_steps", "150", "--minutes", "10", "--learning_rate", "0.01",
                 "--progress", "lines")
    assert finetune_cli.main(args) == 0
    out = capsys.readouterr().out
    assert "progress " in out and "saved my-style to" in out
    path = user / "models" / "my-style.safetensors"
    tuned = load_bundle("my-style")  # by name, as --bundle_file=my-style and the model picker find it
    metrics = tuned.metadata["eval_metrics"]
    assert metrics["heldout_nll"] <= 0.8 * metrics["heldout_nll_base"]
    assert tuned.metadata["warm_start"]["path"] == str(base.resolve()) and path.is_file()
    share, rate = sample_style(tuned)
    base_share, base_rate = sample_style(load_bundle(base))
    assert 1.0 - share < 1.0 - base_share and abs(rate - 4.0) < abs(base_rate - 4.0)


def test_too_little_playing_says_how_much_more_is_needed(tmp_path, user, capsys):
    folder = write_style_takes(tmp_path / "few", 1.5, takes=2)[0].parent
    assert exit_code(finetune_cli.main, _args(folder, tiny_bundle(tmp_path))) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(r"record about \d+ s more: .* at least 2 minutes", err)


def _model_only_take(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    rec = Recorder(path)
    rec.add("model", 0.5, mido.Message("note_on", note=60, velocity=80))
    rec.add("model", 1.0, mido.Message("note_off", note=60))
    rec.save()


def test_bad_input_is_one_line_and_overwrites_nothing(tmp_path, user, takes, capsys):
    base = tiny_bundle(tmp_path)
    (tmp_path / "empty").mkdir()
    _model_only_take(tmp_path / "silent" / "take.mid")
    existing = user / "models" / "my-style.safetensors"
    existing.parent.mkdir(parents=True)
    existing.write_bytes(b"mine")
    cases = [(_args(tmp_path / "missing", base, "--overwrite"), "does not exist"),
             (_args(tmp_path / "empty", base, "--overwrite"), "no takes"),
             (_args(tmp_path / "silent", base, "--overwrite"), "has player notes"),
             (_args(takes, base, "--overwrite", "--config", "performance"), "bundle is for config"),
             (_args(takes, base), "exists"),
             (_args(takes, base, "--name", "chorales"), "shipped model"),
             (_args(takes, base, "--name", "../x"), "plain file name")]
    for args, message in cases:
        assert exit_code(finetune_cli.main, args) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, (args, err)
    assert existing.read_bytes() == b"mine"
