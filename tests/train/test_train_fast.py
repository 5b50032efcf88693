"""train/fast_lstm.py: the bf16 training path computes what PerformanceModel.forward computes."""
from __future__ import annotations

import pytest
import torch

from engine.configs import get_config
from engine.model import PerformanceModel
from train.fast_lstm import FastTrainNet


def _outputs_and_grads(model, run, ids, controls):
    model.zero_grad()
    logits = run(ids, controls)
    weights = torch.randn(logits.shape, generator=torch.Generator().manual_seed(1))
    (logits.float() * weights).sum().backward()
    return logits.detach().float(), {n: p.grad.clone() for n, p in model.named_parameters()}


@pytest.fixture
def setup():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    config = get_config("multiconditioned_performance_with_dynamics").with_hparams("rnn_layer_sizes=[24,16]")
    model = PerformanceModel(config)
    ids = torch.randint(0, config.num_classes, (3, 9))
    controls = torch.rand(3, 9, config.control_size)
    want = _outputs_and_grads(model, lambda i, c: model(i, c)[0], ids, controls)
    return model, ids, controls, want


def test_float32_matches_nn_lstm(setup):
    model, ids, controls, (logits, grads) = setup
    got_logits, got_grads = _outputs_and_grads(model, FastTrainNet(model, torch.float32), ids, controls)
    assert torch.allclose(got_logits, logits, atol=1e-5)
    for name, grad in grads.items():
        assert torch.allclose(got_grads[name], grad, atol=1e-5), name


def test_bfloat16_is_close(setup):
    model, ids, controls, (logits, grads) = setup
    got_logits, got_grads = _outputs_and_grads(model, FastTrainNet(model, torch.bfloat16), ids, controls)
    assert (got_logits - logits).abs().max() < 0.02
    for name, grad in grads.items():
        assert (got_grads[name] - grad).norm() <= 0.03 * grad.norm() + 1e-6, name


def test_bfloat16_training_lowers_the_loss():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    config = get_config("performance").with_hparams("rnn_layer_sizes=[32]")
    model = PerformanceModel(config)
    net = FastTrainNet(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    pattern = torch.tensor([60, 256 + 9, 188, 64, 256 + 19, 192] * 6)  # a repeating phrase
    ids = pattern.repeat(4, 1)
    losses = []
    for _ in range(30):
        logits = net(ids[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), ids[:, 1:].flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert all(p.dtype == torch.float32 for p in model.parameters())
