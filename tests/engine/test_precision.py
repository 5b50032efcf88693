"""int8 (the offline default) against float32: same likelihoods and same sample statistics, tiny models."""
import numpy as np
import pytest

from engine.generation import ControlSchedule, GenerationOptions, batch_log_likelihood, generate
from engine.primers import build_primer
from engine.stepper import Stepper
from tests.helpers import tiny_model
from train.performance_stats import rates_and_velocities

LAYERS = (48, 48)  # two layers: covers layer 0's gather path and the fused upper layers
STEPS = 800


def _samples(model, precision: str, seed: int):
    primer = build_primer(model.config.num_velocity_bins, STEPS, melody=[60, 64, 67])
    options = GenerationOptions(num_steps=STEPS, seed=seed, temperature=1.6)
    return generate(Stepper(model, precision), primer, options, ControlSchedule(model.config, STEPS), 12)


def _stats(samples):
    return rates_and_velocities([g.performance for g in samples], STEPS / 100)


@pytest.mark.parametrize("config_name, layers, disabled", [
    ("performance_with_dynamics", LAYERS, None),
    # the shipped models' config: three layers, control columns in layer 0, scored both ways
    ("optional_multiconditioned_performance_with_dynamics", (32, 32, 32), False),
    ("optional_multiconditioned_performance_with_dynamics", (32, 32, 32), True)])
def test_int8_nll_is_within_a_hundredth_of_a_nat_per_event(config_name, layers, disabled):
    model = tiny_model(config_name, layers)
    schedule = ControlSchedule(model.config, STEPS, disable_conditioning=disabled)
    reference = _samples(model, "float32", seed=3)
    length = min(len(g.performance.ids) for g in reference)
    ids = np.stack([g.performance.ids[:length] for g in reference])
    exact = batch_log_likelihood(Stepper(model), ids, schedule)
    approx = batch_log_likelihood(Stepper(model, "int8"), ids, schedule)
    events = ids.shape[0] * (ids.shape[1] - 1)
    assert abs(exact.sum() - approx.sum()) / events < 0.01
    assert np.all(np.isfinite(approx))


def test_int8_samples_match_float32_statistics_within_seed_noise():
    model = tiny_model("performance_with_dynamics", LAYERS)
    base_rates, base_hist = _stats(_samples(model, "float32", seed=0))
    other_rates, other_hist = _stats(_samples(model, "float32", seed=1))
    int8_rates, int8_hist = _stats(_samples(model, "int8", seed=0))
    # noise = what a different seed changes at float32; int8 may not move the statistics more than that
    rate_noise = 3 * np.sqrt(base_rates.var() / len(base_rates) * 2) + abs(base_rates.mean() - other_rates.mean())
    assert abs(int8_rates.mean() - base_rates.mean()) <= rate_noise + 0.25
    hist_noise = np.abs(base_hist - other_hist).sum()
    assert np.abs(int8_hist - base_hist).sum() <= 2 * hist_noise + 0.05
