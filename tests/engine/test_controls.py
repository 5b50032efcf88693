import numpy as np
import pytest

from engine.configs import get_config
from engine.controls import (density_bin, density_encoding, note_density, performance_controls,
                             pitch_histogram, user_controls)
from engine.errors import ConfigError
from engine.events import Event, Vocabulary

VOCAB = Vocabulary(0)
on, off, shift = (lambda v: Event("note_on", v)), (lambda v: Event("note_off", v)), (lambda v: Event("time_shift", v))


def ids(*events):
    return VOCAB.encode_all(events)


def test_note_density_hand_computed():
    # 4 notes in the first second, then 2 s of silence: window 3 s from event 0 holds 4 notes.
    seq = ids(on(60), on(64), shift(50), on(67), on(72), shift(50), shift(100), shift(100), on(60), shift(100))
    density = note_density(VOCAB, seq)
    # events 0-2 share the value computed at event 0 (recomputed only after a TIME_SHIFT)
    assert density[:3].tolist() == pytest.approx([4 / 3] * 3)
    assert density[3:6].tolist() == pytest.approx([1.0] * 3)  # from 0.5 s: 67, 72 and the 60 at 3.0 s
    assert density[6] == pytest.approx(1 / 3)  # from 1.0 s: only the 60 at 3.0 s
    assert density[7] == pytest.approx(1 / 2)  # tail from 2.0 s: 1 note over the remaining 2 s
    assert density[8:].tolist() == [1.0, 1.0]


def test_density_with_no_time_left_is_zero():
    assert note_density(VOCAB, ids(shift(10), on(60))).tolist() == [10.0, 0.0]


def test_pitch_histogram_hand_computed():
    seq = ids(on(60), on(64), shift(100), off(64), shift(100), on(61), shift(100))
    hist = pitch_histogram(VOCAB, seq)
    expected0 = np.full(12, 0.01)
    expected0[0] += 3.0  # C sounds for 3 s
    expected0[4] += 1.0  # E for 1 s
    expected0[1] += 1.0  # C# for the last second
    assert hist[0] == pytest.approx(expected0)
    assert hist[1] == pytest.approx(expected0)  # reused: the previous event was not a shift
    expected3 = np.full(12, 0.01)
    expected3[0] += 2.0
    expected3[1] += 1.0
    assert hist[3] == pytest.approx(expected3)  # from 1.0 s: E is off


def test_pitch_histogram_window_is_five_seconds():
    seq = ids(on(62), *[shift(100)] * 7)
    assert pitch_histogram(VOCAB, seq)[0][2] == pytest.approx(5.01)


def test_density_bins():
    assert [density_bin(v) for v in (0, 0.99, 1, 3.9, 4, 15, 64, 500)] == [0, 0, 1, 2, 3, 4, 7, 7]
    smooth = density_encoding([2 ** 0.5 * 2, 3.0], smooth=True)
    assert smooth.sum(1) == pytest.approx([1, 1])
    assert smooth[0].argmax() == 2 and smooth[0].max() == pytest.approx(1.0)  # geometric centre of [2,4)


def test_control_layouts():
    opt = get_config("optional_multiconditioned_performance_with_dynamics")
    vec = user_controls(opt, 8, [1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1])
    assert vec.shape == (21,) and vec[0] == 0 and vec[1:9].tolist() == [0, 0, 0, 0, 1, 0, 0, 0]
    assert vec[9:].sum() == pytest.approx(1) and vec[10] == 0
    assert user_controls(opt, disable=True).tolist() == [1.0] + [0.0] * 20
    density_only = get_config("density_conditioned_performance_with_dynamics")
    assert user_controls(density_only).tolist() == [0, 0, 0, 0, 1, 0, 0, 0]  # default 15 notes/s
    assert user_controls(get_config("performance")).shape == (0,)


def test_performance_controls_shape_and_disable():
    cfg = get_config("optional_multiconditioned_performance_with_dynamics")
    seq = cfg.vocab.encode_all([on(60), shift(100), off(60)])
    enabled, disabled = performance_controls(cfg, seq), performance_controls(cfg, seq, disabled=True)
    assert enabled.shape == disabled.shape == (3, 21)
    assert (enabled[:, 0] == 0).all() and (disabled == np.array([1.0] + [0.0] * 20)).all()


@pytest.mark.parametrize("value", [0, -2, float("nan"), "fast", True])
def test_bad_density(value):
    with pytest.raises(ConfigError, match="notes_per_second must be a number > 0"):
        user_controls(get_config("multiconditioned_performance_with_dynamics"), notes_per_second=value)


@pytest.mark.parametrize("value", [[1] * 11, [0] * 12, [1] * 11 + [-1], "C major"])
def test_bad_histogram(value):
    with pytest.raises(ConfigError, match="pitch_class_histogram must be 12"):
        user_controls(get_config("multiconditioned_performance_with_dynamics"), pitch_class_histogram=value)
