"""Magenta .mag bundles run in our engine and reproduce TensorFlow's outputs.

The fixtures in tests/fixtures/mag were written by real TensorFlow (tools/make_mag_fixtures.py, a dev-only
step): Magenta's graph (MultiRNNCell of BasicLSTMCell, tf_slim linear head) with random weights, saved with
a V1 Saver inside a GeneratorBundle, plus TensorFlow's softmax for a fixed event sequence.
"""
from pathlib import Path

import numpy as np
import pytest
import torch

import engine
from engine import protowire as pw
from engine import tf_checkpoint as tc
from engine.errors import BundleError
from engine.generation import ControlSchedule, GenerationOptions, generate
from engine.magenta_bundle import read_mag
from engine.performance import Performance
from train import convert_cli

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mag"
LAYOUTS = {  # generator id -> (config name, layer sizes TF used)
    "performance": ("performance", (8, 6)),
    "performance_with_dynamics": ("performance_with_dynamics", (8, 8, 8)),
    "performance_with_dynamics_and_modulo_encoding": ("performance_with_dynamics_and_modulo_encoding", (16, 8)),
    "density_conditioned_performance_with_dynamics": ("density_conditioned_performance_with_dynamics", (6, 4)),
    "pitch_conditioned_performance_with_dynamics": ("pitch_conditioned_performance_with_dynamics", (6, 4)),
    "multiconditioned_performance_with_dynamics": ("multiconditioned_performance_with_dynamics", (6, 4)),
    "optional_multiconditioned_performance_with_dynamics":
        ("optional_multiconditioned_performance_with_dynamics", (8, 4)),
}
TOL = 1e-5


def expected(generator_id: str) -> dict:
    with np.load(FIXTURES / f"{generator_id}.npz") as z:
        return {k: z[k] for k in z.files}


def controls_of(exp: dict) -> dict:
    """The constant control values TF's inputs were built from, as event_log_probs arguments."""
    nps = float(exp["notes_per_second"])
    hist = exp["pitch_class_histogram"]
    return {"notes_per_second": None if np.isnan(nps) else nps,
            "pitch_class_histogram": list(hist) if hist.size else None}


def crafted_bundle(tmp_path, generator_id: str, checkpoints, name: str = "crafted.mag") -> Path:
    """A GeneratorBundle written with our own protobuf writer."""
    details = pw.field_bytes(1, generator_id) + pw.field_bytes(2, "crafted")
    data = pw.field_bytes(1, details) + b"".join(pw.field_bytes(2, c) for c in checkpoints)
    data += pw.field_bytes(3, b"") + pw.field_bytes(4, pw.field_bytes(1, "test"))
    path = tmp_path / name
    path.write_bytes(data)
    return path


def fixture_tensors(generator_id: str) -> dict[str, np.ndarray]:
    bundle = pw.parse((FIXTURES / f"{generator_id}.mag").read_bytes())
    return tc.read_checkpoint(pw.all_bytes(bundle, 2)[0])


# --- the weights reproduce TensorFlow ---

@pytest.mark.parametrize("generator_id", LAYOUTS)
def test_model_reproduces_tensorflow_softmax(generator_id):
    exp = expected(generator_id)
    loaded = engine.load_bundle(FIXTURES / f"{generator_id}.mag")
    config = loaded.config
    assert (config.name, tuple(config.hparams.rnn_layer_sizes)) == LAYOUTS[generator_id]
    assert config.network_input_size == exp["inputs"].shape[1]
    inputs = torch.from_numpy(exp["inputs"])[None]
    controls = inputs[..., :config.control_size] if config.control_size else None
    with torch.no_grad():
        logits, _ = loaded.model(torch.from_numpy(exp["ids"])[None], controls)
    log_probs = torch.log_softmax(logits[0].double(), -1).numpy()
    np.testing.assert_allclose(np.exp(log_probs), exp["softmax"], atol=TOL, rtol=0)
    np.testing.assert_allclose(log_probs, np.log(exp["softmax"].astype(np.float64)), atol=TOL, rtol=0)


@pytest.mark.parametrize("generator_id", ["performance_with_dynamics_and_modulo_encoding",
                                          "optional_multiconditioned_performance_with_dynamics"])
def test_stepper_reproduces_tensorflow_step_by_step(generator_id):
    """The live instrument and the generator run the numpy Stepper, not the torch module."""
    exp = expected(generator_id)
    loaded = engine.load_bundle(FIXTURES / f"{generator_id}.mag")
    stepper, size = loaded.stepper(), loaded.config.control_size
    state = stepper.zero_state(1)
    for t, class_id in enumerate(exp["ids"]):
        controls = exp["inputs"][t:t + 1, :size] if size else None
        logits, state = stepper.step(np.array([class_id]), controls, state)
        probs = np.exp(logits[0] - logits[0].max())
        np.testing.assert_allclose(probs / probs.sum(), exp["softmax"][t], atol=TOL, rtol=0)


def _check_event_log_probs(loaded, ids, tf_softmax, **controls):
    """event_log_probs is [len(events), num_classes]: row i = log-softmax after events[0..i]."""
    events = [loaded.config.vocab.decode(int(i)) for i in ids]
    got = np.asarray(loaded.event_log_probs(events, **controls))
    assert got.shape == (len(ids), loaded.config.num_classes)
    np.testing.assert_allclose(got, np.log(tf_softmax.astype(np.float64)), atol=TOL, rtol=0)


@pytest.mark.parametrize("generator_id", LAYOUTS)
def test_event_log_probs_with_constant_controls_matches_tensorflow(generator_id):
    exp = expected(generator_id)
    loaded = engine.load_bundle(FIXTURES / f"{generator_id}.mag")
    _check_event_log_probs(loaded, exp["ids"], exp["softmax"], **controls_of(exp))


def test_optional_conditioning_switched_off_matches_tensorflow():
    generator_id = "optional_multiconditioned_performance_with_dynamics"
    exp = expected(generator_id)
    loaded = engine.load_bundle(FIXTURES / f"{generator_id}.mag")
    _check_event_log_probs(loaded, exp["ids"], exp["softmax_disabled"], disable_conditioning=True)


def test_gate_order_and_forget_bias_matter_at_this_tolerance():
    """The fixtures can tell a right mapping from a wrong one: undo each step and TF is far away."""
    generator_id = "multiconditioned_performance_with_dynamics"
    exp = expected(generator_id)
    config, weights, _ = read_mag(FIXTURES / f"{generator_id}.mag")
    hidden = config.hparams.rnn_layer_sizes[0]
    no_forget = dict(weights, **{"layers.0.bias_ih_l0": weights["layers.0.bias_ih_l0"] - np.repeat(
        np.array([0.0, 1.0, 0.0, 0.0], np.float32), hidden)})
    def tf_gate_order(rows):  # PyTorch's (i, f, g, o) back to TF's (i, j, f, o): a missing reorder
        return np.concatenate([rows[:hidden], rows[2 * hidden:3 * hidden], rows[hidden:2 * hidden], rows[3 * hidden:]])

    swapped = {k: tf_gate_order(v) if k.startswith("layers.0.") else v for k, v in weights.items()}
    for wrong in (no_forget, swapped):
        model = engine.PerformanceModel(config)
        model.load_weights(wrong)
        inputs = torch.from_numpy(exp["inputs"])[None]
        with torch.no_grad():
            logits, _ = model(torch.from_numpy(exp["ids"])[None], inputs[..., :config.control_size])
        log_probs = torch.log_softmax(logits[0].double(), -1).numpy()
        assert np.abs(log_probs - np.log(exp["softmax"].astype(np.float64))).max() > 1000 * TOL


# --- conversion and generation ---

def test_convert_writes_an_equivalent_bundle_of_ours(tmp_path, capsys):
    source = FIXTURES / "multiconditioned_performance_with_dynamics.mag"
    out = tmp_path / "converted.safetensors"
    assert convert_cli.main([str(source), str(out)]) == 0
    assert "multiconditioned_performance_with_dynamics" in capsys.readouterr().out
    original, converted = engine.load_bundle(source), engine.load_bundle(out)
    assert converted.config.hparams.rnn_layer_sizes == (6, 4)
    assert converted.metadata["magenta_generator_id"] == "multiconditioned_performance_with_dynamics"
    assert converted.metadata["converted_from"] == source.name
    exp = expected("multiconditioned_performance_with_dynamics")
    for name, tensor in original.model.state_dict().items():
        assert torch.equal(tensor, converted.model.state_dict()[name]), name
    _check_event_log_probs(converted, exp["ids"], exp["softmax"], **controls_of(exp))


@pytest.mark.parametrize("args, message", [
    (["{mag}", "{tmp}/out.mag"], "must end in .safetensors"),
    (["{tmp}/missing.mag", "{tmp}/out.safetensors"], "does not exist"),
    (["{cudnn}", "{tmp}/out.safetensors"], "variables found"),
    (["{mag}"], "required: output"),
    (["{mag}", "{tmp}/out.safetensors", "--dtype=int4"], "invalid choice"),
])
def test_convert_errors_are_one_line(tmp_path, capsys, args, message):
    fill = {"mag": FIXTURES / "performance.mag", "tmp": tmp_path, "cudnn": FIXTURES / "cudnn_variant.mag"}
    with pytest.raises(SystemExit) as exit_:
        convert_cli.main([a.format(**fill) for a in args])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "out.safetensors").exists()


def test_generation_from_a_mag_bundle_writes_midi(tmp_path):
    loaded = engine.load_bundle(FIXTURES / "optional_multiconditioned_performance_with_dynamics.mag")
    options = GenerationOptions(num_steps=300, seed=3)
    schedule = ControlSchedule(loaded.config, 300, notes_per_second=4, pitch_class_histogram=[1] * 12)
    primer = Performance.from_events([engine.Event("note_on", 60), engine.Event("time_shift", 50),
                                      engine.Event("note_off", 60)], loaded.config.num_velocity_bins)
    result = generate(loaded.stepper(), primer, options, schedule)[0]
    assert result.performance.num_steps == 300
    midi_path = tmp_path / "out.mid"
    result.performance.to_midi(midi_path)
    assert Performance.from_midi(midi_path).num_steps > 0


def test_generate_cli_plays_a_mag_bundle(tmp_path):
    from train import generate_cli

    out = tmp_path / "generated"
    args = [f"--bundle_file={FIXTURES / 'multiconditioned_performance_with_dynamics.mag'}", f"--output_dir={out}",
            "--num_outputs=2", "--num_steps=200", "--seed=5", "--notes_per_second=8",
            "--pitch_class_histogram=[2,0,1,0,1,1,0,1,0,1,0,1]"]
    assert generate_cli.main(args) == 0
    files = sorted(out.glob("*.mid"))
    assert len(files) == 2
    for path in files:
        assert 0 < Performance.from_midi(path).num_steps <= 200


# --- errors ---

def test_not_a_bundle(tmp_path):
    for name, data in (("text.mag", b"hello, this is not a protobuf\n"), ("empty.mag", b""),
                       ("random.mag", np.random.default_rng(0).bytes(4000))):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(BundleError, match="is not a Magenta bundle") as err:
            engine.load_bundle(path)
        assert "\n" not in str(err.value)


def test_a_bundle_of_ours_renamed_to_mag_is_refused(tmp_path, tiny_bundle_path):
    renamed = tmp_path / "ours.mag"
    renamed.write_bytes(Path(tiny_bundle_path()).read_bytes())
    with pytest.raises(BundleError, match="not a Magenta bundle"):
        engine.load_bundle(renamed)


@pytest.mark.parametrize("generator_id", ["performance_with_dynamics_and_note_encoding", "drums_rnn"])
def test_unknown_generator_id_names_it_and_the_supported_ones(tmp_path, generator_id):
    checkpoint = tc.write_checkpoint(fixture_tensors("performance_with_dynamics"))
    with pytest.raises(BundleError, match=f"generator '{generator_id}'.*supported generator ids: .*performance"):
        engine.load_bundle(crafted_bundle(tmp_path, generator_id, [checkpoint]))


def test_cudnn_trained_variables_are_listed(tmp_path):
    with pytest.raises(BundleError) as err:
        engine.load_bundle(FIXTURES / "cudnn_variant.mag")
    message = str(err.value)
    assert "variables found" in message and "\n" not in message
    assert "cudnn_lstm/rnn/multi_rnn_cell/cell_0/cudnn_compatible_lstm_cell/kernel [392, 16]" in message


def test_extra_variables_are_refused_but_training_state_is_ignored(tmp_path):
    tensors = fixture_tensors("performance")
    with_state = dict(tensors, global_step=np.zeros(1, np.float32), **{
        "rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel/Adam": np.zeros((364, 32), np.float32)})
    loaded = engine.load_bundle(crafted_bundle(tmp_path, "performance", [tc.write_checkpoint(with_state)]))
    assert loaded.config.hparams.rnn_layer_sizes == (8, 6)
    attention = dict(tensors, **{"rnn/multi_rnn_cell/cell_0/attention_cell_wrapper/kernel": np.ones((4, 4), np.float32)})
    with pytest.raises(BundleError, match="variables found: .*attention_cell_wrapper/kernel \\[4, 4\\]"):
        engine.load_bundle(crafted_bundle(tmp_path, "performance", [tc.write_checkpoint(attention)]))


def test_pre_tf_1_2_cell_names_load_and_reproduce_tensorflow(tmp_path):
    """TF 1.0-1.1 called the cell variables weights/biases; the math and layout are the same."""
    generator_id = "performance_with_dynamics"
    old = {name.replace("basic_lstm_cell/kernel", "basic_lstm_cell/weights")
               .replace("basic_lstm_cell/bias", "basic_lstm_cell/biases"): value
           for name, value in fixture_tensors(generator_id).items()}
    assert "rnn/multi_rnn_cell/cell_2/basic_lstm_cell/weights" in old
    loaded = engine.load_bundle(crafted_bundle(tmp_path, generator_id, [tc.write_checkpoint(old)]))
    exp = expected(generator_id)
    _check_event_log_probs(loaded, exp["ids"], exp["softmax"])


def test_weights_for_another_config_name_the_shape_mismatch(tmp_path):
    checkpoint = tc.write_checkpoint(fixture_tensors("performance_with_dynamics"))  # input 388, not 408
    path = crafted_bundle(tmp_path, "multiconditioned_performance_with_dynamics", [checkpoint])
    with pytest.raises(BundleError, match=r"kernel has shape \[396, 32\].*needs \[416, 32\]"):
        engine.load_bundle(path)


def test_missing_variable_is_listed(tmp_path):
    tensors = fixture_tensors("performance")
    del tensors["fully_connected/biases"]
    with pytest.raises(BundleError, match="variables found: fully_connected/weights"):
        engine.load_bundle(crafted_bundle(tmp_path, "performance", [tc.write_checkpoint(tensors)]))


def test_bundle_structure_errors(tmp_path):
    checkpoint = tc.write_checkpoint(fixture_tensors("performance"))
    with pytest.raises(BundleError, match="holds 2 checkpoint files"):
        engine.load_bundle(crafted_bundle(tmp_path, "performance", [checkpoint, checkpoint]))
    with pytest.raises(BundleError, match="has no checkpoint"):
        engine.load_bundle(crafted_bundle(tmp_path, "performance", []))
    with pytest.raises(BundleError, match="checkpoint is unreadable"):
        engine.load_bundle(crafted_bundle(tmp_path, "performance", [checkpoint[:len(checkpoint) // 2]]))
    truncated = tmp_path / "truncated.mag"
    truncated.write_bytes((FIXTURES / "performance.mag").read_bytes()[:5000])
    with pytest.raises(BundleError, match="not a Magenta bundle.*past the end"):
        engine.load_bundle(truncated)
