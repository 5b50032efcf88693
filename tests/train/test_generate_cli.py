import subprocess
import sys
from pathlib import Path

import pytest

from engine.bundle import load_bundle, save_bundle
from engine.notes import NoteList
from engine.performance import Performance, notes_to_midi
from train import generate_cli
from train.generate_cli import main, output_names
from tests.helpers import tiny_bundle, tiny_model

ROOT = Path(__file__).resolve().parents[2]
SEED_MELODY = "--primer_melody=[60,62,64,65,67,69,71,72]"


def _outputs(folder):
    return sorted(Path(folder).glob("*.mid"))


def _error(capsys, argv) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    return err


def test_seed_command_as_written_in_a_subprocess(tmp_path):
    bundle = tiny_bundle(tmp_path, "performance_with_dynamics")
    cmd = [sys.executable, "-m", "train.generate_cli", "--config=performance_with_dynamics",
           f"--bundle_file={bundle}", f"--output_dir={tmp_path / 'generated'}", "--num_outputs=10",
           "--num_steps=3000", SEED_MELODY]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    files = _outputs(tmp_path / "generated")
    assert len(files) == 10 and files[0].name.endswith("_01.mid") and files[-1].name.endswith("_10.mid")
    first = Performance.from_midi(files[0], 32, apply_sustain=False)
    assert first.events[1].kind == "note_on" and first.events[1].value == 60  # the primer comes first
    assert first.to_notes().end.max() <= 30.0


@pytest.mark.parametrize("primer", [SEED_MELODY, "--primer_pitches=[60, 64, 67]", None, "midi"])
def test_primers_and_space_separated_flags(primer, tmp_path):
    bundle = tiny_bundle(tmp_path, "performance")
    argv = ["--bundle_file", str(bundle), "--output_dir", str(tmp_path / "out"), "--num_outputs", "2",
            "--num_steps", "400", "--seed", "3"]
    if primer == "midi":
        source = tmp_path / "primer.mid"
        notes_to_midi(NoteList.from_tuples([(62, 0.0, 0.3, 80), (65, 0.1, 0.5, 80)])).save(source)
        argv += ["--primer_midi", str(source)]
    elif primer:
        argv.append(primer)
    assert main(argv) == 0
    files = _outputs(tmp_path / "out")
    assert len(files) == 2
    perf = Performance.from_midi(files[0], 0, apply_sustain=False)
    assert 0 < perf.num_steps <= 400


def test_every_config_runs_with_its_controls(tmp_path):
    for name, extra in [("density_conditioned_performance_with_dynamics", ["--notes_per_second=[2,8]"]),
                        ("pitch_conditioned_performance_with_dynamics",
                         ["--pitch_class_histogram=[2,0,1,0,1,1,0,1,0,1,0,1]"]),
                        ("optional_multiconditioned_performance_with_dynamics",
                         ["--disable_conditioning=[False,True]", "--notes_per_second=4"]),
                        ("performance_with_dynamics_and_modulo_encoding", ["--temperature=0.5", "--top_p=0.9"])]:
        out = tmp_path / name
        argv = [f"--bundle_file={tiny_bundle(tmp_path, name)}", f"--output_dir={out}", "--num_outputs=2",
                "--num_steps=300", "--top_k=20"] + extra
        assert main(argv) == 0
        assert len(_outputs(out)) == 2


def test_beam_search_flags(tmp_path):
    argv = [f"--bundle_file={tiny_bundle(tmp_path)}", f"--output_dir={tmp_path}", "--num_outputs=2",
            "--num_steps=300", "--beam_size=2", "--branch_factor=2", "--steps_per_iteration=4", "--seed=1",
            "--threads=1", "--precision=int8"]
    assert main(argv) == 0
    assert len(_outputs(tmp_path)) == 2


def test_seed_makes_outputs_reproducible(tmp_path):
    bundle = tiny_bundle(tmp_path)
    for run in ("a", "b"):
        assert main([f"--bundle_file={bundle}", f"--output_dir={tmp_path / run}", "--num_outputs=3",
                     "--num_steps=500", "--seed=11", "--temperature=1.5"]) == 0
    a, b = _outputs(tmp_path / "a"), _outputs(tmp_path / "b")
    assert [f.read_bytes() for f in a] == [f.read_bytes() for f in b]
    assert a[0].read_bytes() != a[1].read_bytes()  # outputs differ from each other


def test_save_generator_bundle_from_the_latest_checkpoint(tmp_path):
    train_dir = tmp_path / "run" / "train"
    save_bundle(train_dir / "model-000000005.safetensors", tiny_model("performance"), {"training_steps": 5})
    save_bundle(train_dir / "model-000000040.safetensors", tiny_model("performance_with_dynamics"),
                {"training_steps": 40})
    (train_dir / "model-000000090.safetensors.tmp").write_bytes(b"partial")
    out = tmp_path / "bundle.safetensors"
    assert main(["--config=performance_with_dynamics", f"--run_dir={tmp_path / 'run'}", f"--bundle_file={out}",
                 "--save_generator_bundle", "--bundle_description=my model"]) == 0
    loaded = load_bundle(out)
    assert loaded.metadata["training_steps"] == 40 and loaded.metadata["description"] == "my model"
    # and generation from the run dir uses the same checkpoint
    assert main([f"--run_dir={tmp_path / 'run'}", f"--output_dir={tmp_path / 'gen'}", "--num_outputs=1",
                 "--num_steps=200"]) == 0


def test_default_bundle_is_used_when_no_model_flag(tmp_path, monkeypatch):
    bundle = tiny_bundle(tmp_path, "performance_with_dynamics")
    monkeypatch.setattr(generate_cli, "default_bundle_path", lambda: bundle)
    assert main([f"--output_dir={tmp_path / 'out'}", "--num_outputs=1", "--num_steps=200"]) == 0
    assert len(_outputs(tmp_path / "out")) == 1


def test_no_model_at_all_says_how_to_get_one(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(generate_cli, "default_bundle_path", lambda: tmp_path / "none.safetensors")
    err = _error(capsys, [f"--output_dir={tmp_path}"])
    assert "--bundle_file" in err and "performance_rnn_train" in err


def test_output_names_sort():
    names = output_names(12, "2026-11-24_101500")
    assert names[0] == "2026-11-24_101500_01.mid" and names == sorted(names)


BAD_INPUTS = [
    (["--pitch_class_histogram=[1,2,3]"], "12 numbers"),
    (["--pitch_class_histogram=[-1,1,1,1,1,1,1,1,1,1,1,1]"], "non-negative"),
    (["--pitch_class_histogram=[0,0,0,0,0,0,0,0,0,0,0,0]"], "not all zero"),
    (["--pitch_class_histogram=[1,2"], "--pitch_class_histogram must be"),
    (["--notes_per_second=0"], "notes_per_second must be a number > 0"),
    (["--notes_per_second=-3"], "notes_per_second must be a number > 0"),
    (["--primer_pitches=[60, 128]"], "--primer_pitches value 128"),
    (["--primer_melody=[60, -5]"], "--primer_melody value -5"),
    (["--primer_pitches=[60]", "--primer_melody=[60]"], "only one primer"),
    (["--config=nonsense"], "--config 'nonsense' is unknown"),
    (["--config=performance"], "bundle is for config performance_with_dynamics, but --config performance"),
    (["--temperature=0"], "temperature must be > 0"),
    (["--beam_size=0"], "beam_size must be an integer >= 1"),
    (["--num_outputs=0"], "--num_outputs must be >= 1"),
    (["--hparams=rnn_layer_sizes=[64]"], "rnn_layer_sizes"),
    (["--hparams=bogus=1"], "unknown hparam"),
    (["--num_steps=abc"], "--num_steps"),
]


@pytest.mark.parametrize("argv, message", BAD_INPUTS)
def test_bad_input_is_one_line(argv, message, tmp_path, capsys):
    bundle = tiny_bundle(tmp_path)
    err = _error(capsys, [f"--bundle_file={bundle}", f"--output_dir={tmp_path / 'out'}", "--num_steps=300"] + argv)
    assert message in err
    assert not _outputs(tmp_path / "out")


def test_bad_model_sources(tmp_path, capsys):
    bundle = tiny_bundle(tmp_path)
    assert "not both" in _error(capsys, [f"--bundle_file={bundle}", f"--run_dir={tmp_path}"])
    assert "needs both" in _error(capsys, ["--save_generator_bundle", f"--run_dir={tmp_path}"])
    assert "has no checkpoint" in _error(capsys, [f"--run_dir={tmp_path}"])
    truncated = tmp_path / "cut.safetensors"
    truncated.write_bytes(bundle.read_bytes()[:300])
    assert "truncated" in _error(capsys, [f"--bundle_file={truncated}"])
    text = tmp_path / "notes.txt"
    text.write_text("not a bundle")
    assert str(text) in _error(capsys, [f"--bundle_file={text}"])
    bad_midi = tmp_path / "bad.mid"
    bad_midi.write_bytes(b"MThd garbage")
    assert "--primer_midi" in _error(capsys, [f"--bundle_file={bundle}", f"--primer_midi={bad_midi}"])
    assert "--primer_midi" in _error(capsys, [f"--bundle_file={bundle}", f"--primer_midi={tmp_path / 'no.mid'}"])


def _pitch_classes(folder) -> list[int]:
    return [p % 12 for f in sorted(Path(folder).glob("*.mid"))
            for p in Performance.from_midi(f, apply_sustain=False).to_notes().pitch.tolist()]


def test_steering_keeps_notes_in_the_requested_scale(tmp_path):
    bundle = tiny_bundle(tmp_path, "multiconditioned_performance_with_dynamics")
    c_major = "[1,0,1,0,1,1,0,1,0,1,0,1]"
    for steering in ("true", "false"):
        assert main([f"--bundle_file={bundle}", f"--output_dir={tmp_path / steering}", "--num_outputs=4",
                     "--num_steps=1000", f"--pitch_class_histogram={c_major}", "--seed=3",
                     f"--steering={steering}"]) == 0
    steered, plain = _pitch_classes(tmp_path / "true"), _pitch_classes(tmp_path / "false")
    outside = {1, 3, 6, 8, 10}
    assert steered and not any(pc in outside for pc in steered)
    assert plain != steered  # the flag really changes sampling
