"""performance_rnn_create_dataset: sources, Magenta's pipeline, the file format, bad input."""
from __future__ import annotations

import json
from pathlib import Path

import mido
import numpy as np
import pytest

from engine.configs import get_config
from engine.notes import NoteList
from engine.performance import Performance
from engine.transform import split_notes, transpose
from train import dataset_cli
from train.batches import example_table, make_batch, transpose_ids
from train.dataset_build import BuildSettings, process_source
from train.dataset_format import DatasetError, open_split, split_path
from train.sources import Source, resolve_inputs


def write_midi(path: Path, seed: int, seconds: float = 70.0, low: int = 40, high: int = 90) -> Path:
    """A random two-hand piece with sustain pedal, `seconds` long (several 30 s chunks)."""
    rng = np.random.default_rng(seed)
    midi = mido.MidiFile(ticks_per_beat=480)  # 120 qpm: 960 ticks per second
    track = mido.MidiTrack()
    midi.tracks.append(track)
    events, t = [], 0.0
    while t < seconds:
        pitch, length = int(rng.integers(low, high + 1)), float(rng.uniform(0.1, 0.6))
        events += [(t, "note_on", pitch, int(rng.integers(20, 120))), (t + length, "note_off", pitch, 0)]
        t += float(rng.choice([0.0, 0.12, 0.25]))
    events += [(5.0, "control_change", 64, 127), (8.0, "control_change", 64, 0)]
    now = 0
    for when, kind, a, b in sorted(events, key=lambda e: (e[0], e[1] != "note_off")):
        tick = int(when * 960)
        msg = (mido.Message("control_change", control=a, value=b) if kind == "control_change"
               else mido.Message(kind, note=a, velocity=b))
        track.append(msg.copy(time=tick - now))
        now = tick
    midi.save(path)
    return path


def make_midi_folder(folder: Path, count: int = 4) -> Path:
    (folder / "sub").mkdir(parents=True)
    for i in range(count):
        write_midi(folder / ("sub" if i % 2 else "") / f"piece{i}.mid", seed=i)
    (folder / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0MTrk\x00\x00\x00\x09\x00\x90")
    empty = mido.MidiFile()
    empty.tracks.append(mido.MidiTrack())
    empty.save(folder / "empty.mid")
    (folder / "notes.txt").write_text("not midi")
    return folder


def exit_code(main, argv) -> int:
    """A CLI main's status: its return value, or the SystemExit code of a bad-input exit."""
    try:
        return main(argv)
    except SystemExit as exit_:
        return exit_.code


def build(folder: Path, out: Path, config="performance_with_dynamics", extra=()) -> int:
    return exit_code(dataset_cli.main, ["--config", config, "--input", str(folder), "--output_dir", str(out),
                             "--eval_ratio", "0.5", "--workers", "1", *extra])


def test_sources_dir_glob_and_missing(tmp_path):
    folder = make_midi_folder(tmp_path / "midi")
    assert len(resolve_inputs(str(folder))) == 6  # recursive, .txt ignored
    assert len(resolve_inputs(str(folder / "*.mid"))) == 4
    with pytest.raises(Exception, match="does not exist"):
        resolve_inputs(str(tmp_path / "nope"))
    with pytest.raises(Exception, match="no music21 corpus composer or work named 'nobody'"):
        resolve_inputs("music21:nobody")


def test_build_reports_skips_and_respects_magenta_limits(tmp_path, capsys):
    folder = make_midi_folder(tmp_path / "midi")
    assert build(folder, tmp_path / "ds") == 0
    manifest = json.loads((tmp_path / "ds" / "dataset_manifest.json").read_text())
    reasons = {Path(s["source"]).name: s["reason"] for s in manifest["skipped"]}
    assert reasons == {"broken.mid": "corrupt file", "empty.mid": "no notes"}
    assert "skipped: 1 corrupt file, 1 no notes" in capsys.readouterr().out
    train = open_split(split_path(tmp_path / "ds", "training"))
    evals = open_split(split_path(tmp_path / "ds", "eval"))
    assert len(train) and len(evals)
    assert manifest["splits"]["training"]["examples"] == len(train)
    for data in (train, evals):
        assert data.lengths.min() >= 32 and data.lengths.max() <= 512
    assert set(train.arrays["stretch"].tolist()) == {0, 1, 2, 3, 4}  # 5 stretches, training only
    assert set(evals.arrays["stretch"].tolist()) == {0} and evals.info["transpositions"] == [0]
    pieces = {p["source"] for p in train.info["pieces"]} | {p["source"] for p in evals.info["pieces"]}
    train_sources, eval_sources = ({p["source"] for p in d.info["pieces"]} for d in (train, evals))
    assert len(pieces) == 4 and not train_sources & eval_sources  # split by piece


def test_build_is_deterministic_across_workers(tmp_path):
    folder = make_midi_folder(tmp_path / "midi")
    assert build(folder, tmp_path / "a") == 0
    assert build(folder, tmp_path / "b", extra=["--workers", "2"]) == 0
    a, b = (open_split(split_path(tmp_path / d, "training")) for d in "ab")
    for name in a.arrays:
        assert np.array_equal(a.arrays[name], b.arrays[name]), name


def test_eval_examples_match_magenta_extraction(tmp_path):
    """An eval example is exactly the performance of a 30 s chunk, cut to 512 events."""
    path = write_midi(tmp_path / "one.mid", seed=7)
    settings = BuildSettings("performance_with_dynamics", eval_ratio=1.0)
    (piece,) = process_source(settings, Source("midi", str(path))).pieces
    from engine.midi_file import read_midi

    chunks = split_notes(read_midi(path))
    expected = [Performance.from_notes(c, 32).ids[:512] for c in chunks]
    assert piece.split == "eval" and len(piece.ids) == len(expected)
    for got, want in zip(piece.ids, expected):
        assert np.array_equal(got, want)


def test_transposition_at_batch_time_equals_transposed_notes(tmp_path):
    config = get_config("pitch_conditioned_performance_with_dynamics")
    notes = NoteList.from_tuples([(60 + (i * 5) % 12, i * 0.1, i * 0.1 + 0.3, 30 + i) for i in range(60)])
    ids = Performance.from_notes(notes, 32).ids.astype(np.int64)
    for shift in (-3, 2):
        want = Performance.from_notes(transpose(notes, shift), 32).ids
        assert np.array_equal(transpose_ids(config, ids, shift), want)


def test_example_table_drops_out_of_range_and_doubles_optional(tmp_path):
    folder = tmp_path / "midi"
    folder.mkdir()
    write_midi(folder / "high.mid", seed=1, low=120, high=126)  # +2 and +3 would leave 0..127
    out = tmp_path / "ds"
    config = "optional_multiconditioned_performance_with_dynamics"
    assert dataset_cli.main(["--config", config, "--input", str(folder), "--output_dir", str(out),
                             "--eval_ratio", "0", "--workers", "1"]) == 0
    data = open_split(split_path(out, "training"))
    table = example_table(get_config(config), data)
    assert set(table.transpose.tolist()) == {-3, -2, -1, 0, 1}
    assert len(table) == 2 * 5 * len(data) and table.disabled.sum() == len(table) // 2
    rows = np.flatnonzero(table.disabled)[:2].tolist() + np.flatnonzero(~table.disabled)[:2].tolist()
    batch = make_batch(get_config(config), data, table, rows)
    assert batch.controls.shape[-1] == 21
    assert (batch.controls[:2, :, 0] == 1).all() and (batch.controls[:2, :, 1:] == 0).all()
    real = batch.labels[2:] != -1
    assert (batch.controls[2:, :, 0][real] == 0).all()
    assert np.allclose(batch.controls[2:, :, 9:][real].sum(-1), 1.0, atol=1e-5)  # a histogram per position


def test_music21_scores_with_dynamics_and_text_tempo():
    from music21 import dynamics, note, stream, tempo

    from train.music21_source import score_tuples

    part = stream.Part()
    part.append(tempo.MetronomeMark(text="Allegro"))  # no number: secondsMap fails without the fallback
    part.append(dynamics.Dynamic("pp"))
    part.append([note.Note("C4", quarterLength=1), note.Note("E4", quarterLength=1)])
    part.append(dynamics.Dynamic("ff"))
    part.append(note.Note("G4", quarterLength=2))
    score = stream.Score([part])
    rows = score_tuples(score)
    assert [r[0] for r in rows] == [60, 64, 67]
    assert rows[0][3] < rows[2][3]  # pp softer than ff
    assert rows[2][2] > rows[2][1] > 0


def test_output_dir_of_another_config_is_refused(tmp_path, capsys):
    folder = make_midi_folder(tmp_path / "midi", count=2)
    assert build(folder, tmp_path / "ds") == 0
    before = split_path(tmp_path / "ds", "training").read_bytes()
    assert build(folder, tmp_path / "ds", config="performance") == 2
    err = capsys.readouterr().err
    assert "error: " in err and "'performance_with_dynamics'" in err and "Traceback" not in err
    assert split_path(tmp_path / "ds", "training").read_bytes() == before


def test_missing_input_exits_2(tmp_path, capsys):
    assert build(tmp_path / "nothing", tmp_path / "ds") == 2
    assert capsys.readouterr().err.startswith("error: input")
    assert not (tmp_path / "ds").exists()


def test_truncated_dataset_file_is_a_clear_error(tmp_path):
    folder = make_midi_folder(tmp_path / "midi", count=2)
    assert build(folder, tmp_path / "ds") == 0
    path = split_path(tmp_path / "ds", "training")
    data = path.read_bytes()
    for cut in (len(data) - 7, 100, 3):
        path.write_bytes(data[:cut])
        with pytest.raises(DatasetError, match="truncated|unreadable"):
            open_split(path)


def test_split_by_folder_keeps_each_pieces_performances_together_and_excludes_scores(tmp_path):
    """ASAP's layout: <piece folder>/<pianist>.mid plus a midi_score.mid rendering; repeat variants
    ('3_no_repeat') are the same piece."""
    root = tmp_path / "asap"
    for piece in ("Bach/Fugue/1", "Bach/Fugue/2", "Chopin/Etude/3", "Chopin/Etude/3_no_repeat", "Liszt/4"):
        (root / piece).mkdir(parents=True)
        for seed, pianist in enumerate(("A01", "B02")):
            write_midi(root / piece / f"{pianist}.mid", seed=seed, seconds=35)
        write_midi(root / piece / "midi_score.mid", seed=9, seconds=35)
    sources = resolve_inputs(str(root), exclude=("midi_score.mid",))
    assert len(sources) == 10 and not any(s.path.endswith("midi_score.mid") for s in sources)
    assert {s.folder for s in sources} == {"Bach/Fugue/1", "Bach/Fugue/2", "Chopin/Etude/3", "Liszt/4"}
    with pytest.raises(Exception, match="matches the --exclude patterns"):
        resolve_inputs(str(root), exclude=("*.mid",))
    assert build(root, tmp_path / "ds", extra=["--split_by", "folder", "--exclude", "midi_score.mid", "--seed", "1"]) == 0
    splits = {}
    for split in ("training", "eval"):
        for p in open_split(split_path(tmp_path / "ds", split)).info["pieces"]:
            splits.setdefault(str(Path(p["source"]).parent).removesuffix("_no_repeat"), set()).add(split)
    assert len(splits) == 4 and all(len(s) == 1 for s in splits.values())  # never one piece on both sides
    assert {next(iter(s)) for s in splits.values()} == {"training", "eval"}
