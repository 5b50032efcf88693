import numpy as np
import pytest
import torch

from engine.configs import CONFIGS, get_config
from engine.controls import performance_controls
from engine.errors import BundleError
from engine.model import PerformanceModel, shift_controls
from engine.sampling import log_softmax
from engine.stepper import State, Stepper, set_blas_threads
from tests.helpers import synthetic_piece, tiny_model


def _random_inputs(config, batch=2, length=15, seed=0):
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, config.num_classes, (batch, length), generator=gen)
    controls = torch.rand(batch, length, config.control_size, generator=gen) if config.control_size else None
    return ids, controls


def test_weight_names_and_shapes_follow_the_documented_layout():
    config = get_config("multiconditioned_performance_with_dynamics")
    shapes = {k: tuple(v.shape) for k, v in PerformanceModel(config).state_dict().items()}
    assert shapes["layers.0.weight_ih_l0"] == (2048, 408)
    assert shapes["layers.1.weight_ih_l0"] == (2048, 512)
    assert shapes["layers.2.weight_hh_l0"] == (2048, 512)
    assert shapes["head.weight"] == (388, 512)
    assert len(shapes) == 3 * 4 + 2


@pytest.mark.parametrize("name", list(CONFIGS))
def test_stepper_matches_batched_forward(name):
    config = get_config(name).with_hparams("rnn_layer_sizes=[24,16]")
    torch.manual_seed(1)
    model = PerformanceModel(config).eval()
    ids, controls = _random_inputs(config)
    with torch.no_grad():
        expected, final = model(ids, controls)
    stepper = Stepper(model)
    state, rows = stepper.zero_state(2), []
    for t in range(ids.shape[1]):
        logits, state = stepper.step(ids[:, t].numpy(), None if controls is None else controls[:, t].numpy(), state)
        rows.append(logits)
    np.testing.assert_allclose(np.stack(rows, 1), expected.numpy(), atol=1e-5)
    np.testing.assert_allclose(state.h[-1], final[-1][0][0].numpy(), atol=1e-5)


def test_prime_in_one_call_equals_stepping():
    model = tiny_model("density_conditioned_performance_with_dynamics")
    stepper = Stepper(model)
    ids = synthetic_piece(model.config)
    controls = performance_controls(model.config, ids)
    primed_logits, primed = stepper.prime(ids, controls)
    state = stepper.zero_state()
    for t in range(len(ids)):
        logits, state = stepper.step(ids[t:t + 1], controls[t:t + 1], state)
    np.testing.assert_allclose(primed_logits, logits, atol=1e-5)
    np.testing.assert_allclose(primed.c[0], state.c[0], atol=1e-5)


def test_sequence_log_probs_in_chunks_is_the_whole_sequence_forward():
    config = get_config("multiconditioned_performance_with_dynamics").with_hparams("rnn_layer_sizes=[24,16]")
    torch.manual_seed(2)
    model = PerformanceModel(config).eval()
    ids, controls = _random_inputs(config, batch=1, length=100)
    whole = model.sequence_log_probs(ids[0], controls[0], chunk=1000)
    chunked = model.sequence_log_probs(ids[0], controls[0], chunk=7)  # 100 = 14 * 7 + 2: a short last chunk
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=1e-6)
    stepper, rows = Stepper(model), []
    state = stepper.zero_state(1)
    for t in range(ids.shape[1]):
        logits, state = stepper.step(ids[0, t:t + 1].numpy(), controls[0, t:t + 1].numpy(), state)
        rows.append(log_softmax(logits)[0])
    np.testing.assert_allclose(chunked, np.stack(rows), atol=1e-5)
    assert chunked.dtype == np.float32 and chunked.shape == (100, config.num_classes)


def test_step_leaves_the_given_state_alone_so_it_can_be_restored():
    stepper = Stepper(tiny_model())
    _, saved = stepper.step(np.array([60]), None, stepper.zero_state())
    snapshot = saved.copy()
    first, _ = stepper.step(np.array([300]), None, saved)
    stepper.step(np.array([10]), None, saved)
    again, _ = stepper.step(np.array([300]), None, snapshot)
    np.testing.assert_array_equal(first, again)
    assert State.concat([saved, snapshot]).select([1, 0, 0]).batch == 3


def test_int8_precision_stays_close_to_float32():
    model = tiny_model()
    ids = synthetic_piece(model.config)
    exact, _ = Stepper(model).prime(ids, None)
    approx, _ = Stepper(model, "int8").prime(ids, None)
    assert np.abs(log_softmax(exact) - log_softmax(approx)).max() < 0.1
    assert exact.argmax() == approx.argmax()


def test_tiny_model_regenerates_its_piece_greedily():
    model = tiny_model("performance_with_dynamics")
    ids = synthetic_piece(model.config)
    stepper = Stepper(model)
    logits, state = stepper.prime(ids[:1], None)
    out = [int(ids[0])]
    for _ in range(len(ids) - 1):
        out.append(int(logits.argmax()))
        logits, state = stepper.step(np.array(out[-1:]), None, state)
    assert out == ids.tolist()


def test_log_likelihood_handles_padding():
    model = tiny_model("pitch_conditioned_performance_with_dynamics")
    ids = synthetic_piece(model.config)
    controls = performance_controls(model.config, ids)
    alone = model.log_likelihood(ids, controls)
    padded_ids = np.stack([ids, np.concatenate([ids[:10], np.zeros(len(ids) - 10, np.int64)])])
    padded_controls = np.stack([controls, controls])
    both = model.log_likelihood(padded_ids, padded_controls, lengths=[len(ids), 10])
    assert torch.allclose(both[0], alone[0], atol=1e-4)
    assert torch.allclose(both[1], model.log_likelihood(ids[:10], controls[:10])[0], atol=1e-4)
    assert alone[0] > -0.5 * len(ids)  # the model learnt the piece


def test_load_weights_rejects_a_wrong_shape():
    model = PerformanceModel(get_config("performance").with_hparams("rnn_layer_sizes=[8]"))
    weights = model.numpy_weights()
    weights["head.weight"] = np.zeros((3, 8), np.float32)
    with pytest.raises(BundleError, match="head.weight"):
        model.load_weights(weights)
    del weights["head.weight"]
    with pytest.raises(BundleError, match="missing"):
        model.load_weights(weights)


def test_shift_controls_drops_the_first_event_control():
    controls = torch.arange(6.0).reshape(1, 3, 2)
    assert shift_controls(controls).tolist() == [[[2.0, 3.0], [4.0, 5.0]]]
    assert shift_controls(torch.zeros(1, 3, 0)) is None


def test_blas_threads_can_be_set_for_the_process():
    assert set_blas_threads(1)
