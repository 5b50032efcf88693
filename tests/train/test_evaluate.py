"""performance_rnn_evaluate on a tiny model and a tiny dataset written here; the output statistics it uses."""
import json

import numpy as np
import pytest

from engine.bundle import load_bundle
from engine.configs import get_config
from engine.events import Event, Vocabulary
from engine.notes import NoteList
from engine.performance import Performance
from tests.helpers import synthetic_piece
from train.control_fidelity import SCALES, check_targets
from train.dataset_format import open_split, split_path, write_split
from train.evaluate_cli import main
from train.ngram import NGramModel
from train.performance_stats import output_stats, summarize

VOCAB = Vocabulary(32)


def _piece(rng, key: int) -> np.ndarray:
    """A random melody in a major key, 8th notes at 120 qpm (0.25 s), as class ids."""
    steps = rng.integers(0, 8, 40)
    scale = np.array([0, 2, 4, 5, 7, 9, 11, 12])
    notes = [(int(60 + key + scale[s]), 0.25 * i, 0.25 * i + 0.2, 64) for i, s in enumerate(steps)]
    return Performance.from_notes(NoteList.from_tuples(notes), 32).ids.astype(np.int64)


def _write_dataset(folder, config_name="performance_with_dynamics"):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for split, count, transpositions in (("training", 6, [-1, 0, 1]), ("eval", 3, [0])):
        pieces = [_piece(rng, key) for key in rng.integers(0, 5, count)]
        if split == "training":
            pieces.append(synthetic_piece(get_config(config_name)))
        ids = np.concatenate(pieces)
        offsets = np.concatenate([[0], np.cumsum([len(p) for p in pieces])])
        n = len(pieces)
        pitches = [VOCAB.values[p[VOCAB.kind_codes[p] == 0]] for p in pieces]
        arrays = {"ids": ids, "offsets": offsets, "piece": np.arange(n), "chunk": np.zeros(n), "stretch": np.zeros(n),
                  "min_pitch": [p.min() for p in pitches], "max_pitch": [p.max() for p in pitches]}
        write_split(split_path(folder, split), arrays, {"config": config_name, "split": split,
                                                        "transpositions": transpositions})
    return folder


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_evaluate_reports_likelihood_ngram_and_controls(tmp_path, tiny_bundle_path, capsys):
    bundle = tiny_bundle_path()
    data = _write_dataset(tmp_path / "data")
    report_path = tmp_path / "report.json"
    code, out, _ = _run(capsys, "--bundle_file", bundle, "--dataset_dir", data, "--json", report_path,
                        "--num_outputs", 2, "--seconds", 3, "--densities", "2,8", "--scales", "c_major")
    assert code == 0
    report = json.loads(report_path.read_text())
    assert report["precision"] == "int8"  # own playing as performance_rnn_generate plays by default
    assert "| order-3 KN n-gram |" in out and "| density 8 | on |" in out and "| target |" in out

    # the model's NLL is exactly the mean of its per-event log-probabilities on the eval examples
    eval_data = open_split(split_path(data, "eval"))
    loaded = load_bundle(bundle)
    logps = np.concatenate([loaded.label_log_probs(eval_data.example(i)) for i in range(len(eval_data))])
    likelihood = report["likelihood"]
    assert likelihood["model"]["model"]["nll"] == pytest.approx(-logps.mean(), rel=1e-5)
    assert likelihood["model"]["model"]["tokens"] == len(logps)
    labels = np.concatenate([eval_data.example(i)[1:] for i in range(len(eval_data))])
    for code, (kind, by_kind) in enumerate(likelihood["model"]["model"]["by_kind"].items()):
        mine = loaded.config.vocab.kind_codes[labels] == code  # per-kind NLL: the same terms, grouped
        assert by_kind["share"] == pytest.approx(mine.mean())
        assert mine.sum() == 0 or by_kind["nll"] == pytest.approx(-logps[mine].mean(), rel=1e-5), kind
    assert "| NLL by event kind | note_on | note_off | time_shift | velocity |" in out
    style = report["style"]  # own playing against the eval examples
    assert style["reference_examples"] == len(eval_data) and style["num_outputs"] == 2
    assert all(0.0 <= v <= 1.0 for v in (*style["distance"].values(), *style["floor"].values()))
    assert style["solo_nll_per_event"] > 0 and "Duet check" in out

    # the n-gram is fit on every training example and transposition, scored on the same events
    from train.batches import transpose_ids
    train_data = open_split(split_path(data, "training"))
    seqs = [transpose_ids(loaded.config, train_data.example(i), t) for i in range(len(train_data)) for t in (-1, 0, 1)]
    ngram = NGramModel.fit(seqs, loaded.config.num_classes)
    expected = -np.concatenate([ngram.log_probs(eval_data.example(i)) for i in range(len(eval_data))]).mean()
    assert likelihood["ngram"]["nll"] == pytest.approx(expected, rel=1e-9)
    assert likelihood["ngram"]["training_sequences"] == len(seqs)
    assert likelihood["nll_vs_ngram"]["model"] == pytest.approx(likelihood["model"]["model"]["nll"] / expected - 1)

    fidelity = report["control_fidelity"]
    for mode in ("steering_off", "steering_on"):
        requests = fidelity[mode]["requests"]
        assert list(requests) == ["unconditioned", "density 2", "density 8", "scale c_major"]
        assert all(r["num_outputs"] == 2 for r in requests.values())
        assert 0.0 <= requests["scale c_major"]["in_classes_share"] <= 1.0
        assert "density rises monotonically" in fidelity[mode]["targets"]
    assert fidelity["steering_on"]["requests"]["unconditioned"]["share_without_cut"] == 1.0


def test_optional_conditioning_is_scored_both_ways(tmp_path, tiny_bundle_path, capsys):
    name = "optional_multiconditioned_performance_with_dynamics"
    bundle = tiny_bundle_path(name)
    data = _write_dataset(tmp_path / "data")  # built for another config with the same vocabulary: fine
    report_path = tmp_path / "r.json"
    code, out, _ = _run(capsys, "--bundle_file", bundle, "--eval_file", split_path(data, "eval"), "--skip_ngram",
                        "--skip_controls", "--json", report_path, "--precision", "float32")
    assert code == 0
    assert json.loads(report_path.read_text())["precision"] == "float32"
    model = json.loads(report_path.read_text())["likelihood"]["model"]
    assert set(model) == {"conditioned", "unconditioned"}
    assert model["conditioned"]["tokens"] == model["unconditioned"]["tokens"] > 0
    assert model["conditioned"]["nll"] != model["unconditioned"]["nll"]


@pytest.mark.parametrize("argv, message", [
    (["--skip_controls"], "--dataset_dir, --eval_file or --midi_dir"),
    (["--skip_likelihood", "--scales", "dorian"], "unknown scale 'dorian'"),
    (["--skip_likelihood", "--densities", "0,2"], "--densities values must be > 0"),
    (["--skip_likelihood", "--steering_options", "pitch_strenght=2"], "unknown steering option 'pitch_strenght'"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, tiny_bundle_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["--bundle_file", str(tiny_bundle_path())] + argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err and "\n" not in err


def test_missing_bundle_names_the_file(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--bundle_file", str(tmp_path / "nope.safetensors"), "--skip_likelihood"])
    assert "nope.safetensors does not exist" in capsys.readouterr().err


def _ids(*events) -> np.ndarray:
    return VOCAB.encode_all([Event(k, v) for k, v in events])


def test_output_stats_density_cut_notes_polyphony_and_classes():
    ids = _ids(("velocity", 16), ("note_on", 60), ("note_on", 64), ("time_shift", 100), ("note_off", 64),
               ("note_on", 61), *[("time_shift", 100)] * 6, ("note_off", 61))
    stats = output_stats(ids, 32, seconds=10.0)
    assert stats.num_notes == 3 and stats.notes_per_second == pytest.approx(0.3)
    assert stats.cut_notes == 2  # 60 never ends (open until 10 s) and 61 lasts 6 s; 64 lasts 1 s
    assert stats.polyphony[:100].tolist() == [2] * 100 and stats.polyphony[100] == 2  # 64 off, 61 on
    assert stats.polyphony[-1] == 0 and len(stats.polyphony) == 1000  # 60 cut at 5 s, 61 at 6 s
    assert stats.in_classes_share(SCALES["c_major"]) == pytest.approx(2 / 3)


def test_summary_pools_classes_and_counts_outputs_without_cuts():
    clean = output_stats(_ids(("note_on", 62), ("time_shift", 50), ("note_off", 62)), 32, seconds=1.0)
    cut = output_stats(_ids(("note_on", 61), *[("time_shift", 100)] * 6), 32, seconds=6.0)
    summary = summarize([clean, cut], SCALES["c_major"])
    assert summary.share_without_cut == 0.5 and summary.cut_notes == 1
    assert summary.in_classes_share == 0.5
    assert summary.median_notes_per_second == pytest.approx((1.0 + 1 / 6) / 2)


def test_targets_follow_the_issue():
    def row(nps=None, median=0.0, scale=None, share=None):
        return {"notes_per_second_requested": nps, "median_notes_per_second": median, "scale": scale,
                "in_classes_share": share, "share_without_cut": 1.0, "num_outputs": 10}
    results = {"a": row(1.0, 1.5), "b": row(2.0, 2.4), "c": row(4.0, 5.1), "d": row(8.0, 7.0), "e": row(16.0, 12.0),
               "f": row(scale="whole_tone", share=0.96), "g": row(scale="c_major", share=0.94)}
    checks = check_targets(results)
    assert not checks["density 1 within 20%"] and checks["density 2 within 20%"]
    assert not checks["density 4 within 20%"] and checks["density 8 within 20%"] and not checks["density 16 within 20%"]
    assert checks["density rises monotonically"] and checks["whole_tone >= 95%"] and not checks["c_major >= 95%"]
    assert checks["95% of outputs without a cut note"]


def test_a_magenta_bundle_is_measured_too(tmp_path, capsys):
    from pathlib import Path
    mag = Path(__file__).resolve().parents[1] / "fixtures" / "mag" / "performance_with_dynamics.mag"
    data = _write_dataset(tmp_path / "data")
    report_path = tmp_path / "r.json"
    code, out, _ = _run(capsys, "--bundle_file", mag, "--dataset_dir", data, "--skip_ngram", "--json", report_path,
                        "--num_outputs", 2, "--seconds", 2, "--densities", "4", "--scales", "whole_tone")
    assert code == 0 and "performance_with_dynamics.mag" in out
    report = json.loads(report_path.read_text())
    eval_ids = open_split(split_path(data, "eval")).example(0)
    assert np.isfinite(report["likelihood"]["model"]["model"]["nll"])
    assert load_bundle(mag).event_log_probs(eval_ids).shape == (len(eval_ids), 388)
    assert report["control_fidelity"]["steering_on"]["requests"]["scale whole_tone"]["num_outputs"] == 2


def test_midi_dir_is_scored_like_an_eval_split(tmp_path, tiny_bundle_path, capsys):
    from tests.train.test_dataset import write_midi

    folder = tmp_path / "perf" / "piece"
    folder.mkdir(parents=True)
    write_midi(folder / "a.mid", seed=1, seconds=40)
    write_midi(folder / "midi_score.mid", seed=2, seconds=40)  # excluded by default
    report_path = tmp_path / "r.json"
    code, out, _ = _run(capsys, "--bundle_file", tiny_bundle_path(), "--midi_dir", tmp_path / "perf",
                        "--skip_controls", "--skip_ngram", "--skip_style", "--json", report_path)
    assert code == 0
    report = json.loads(report_path.read_text())
    assert report["likelihood"]["eval_examples"] == 2  # 40 s: two 30 s chunks of one file
    with pytest.raises(SystemExit) as exit_info:
        main(["--bundle_file", str(tiny_bundle_path()), "--midi_dir", str(tmp_path / "perf"), "--exclude", "*.mid"])
    assert exit_info.value.code == 2 and "matches the --exclude patterns *.mid" in capsys.readouterr().err


def test_style_stats_histograms_and_distances():
    from train.style_stats import DURATION_EDGES, style_stats, total_variation

    notes = [(60, 0.0, 0.5, 100), (64, 0.0, 0.5, 100), (67, 1.0, 1.2, 30)]  # a chord, then a short note
    ids = Performance.from_notes(NoteList.from_tuples(notes), 32).ids
    stats = style_stats([ids], 32)
    assert stats.velocity_bins.sum() == 2 and stats.bins_used == [2]  # two velocity changes
    assert stats.durations.sum() == 3 and stats.durations[np.searchsorted(DURATION_EDGES, 0.5) - 1] == 2
    assert stats.iois[0] == 1 and stats.iois.sum() == 2  # one chord interval (0 s), one of 1 s
    assert stats.polyphony == [2, 2, 1]
    assert total_variation(stats.durations, stats.durations) == 0.0
    assert total_variation(np.array([1, 0]), np.array([0, 1])) == 1.0
