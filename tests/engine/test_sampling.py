import numpy as np
import pytest

from engine.sampling import check_sampling, log_softmax, sample_ids


def test_low_temperature_is_greedy():
    logits = np.array([[0.0, 1.0, 0.5], [2.0, 0.0, 1.9]])
    ids = sample_ids(logits, temperature=1e-4, rng=np.random.default_rng(0))
    assert ids.tolist() == [1, 0]


def test_frequencies_follow_the_softmax():
    logits = np.log(np.array([0.2, 0.5, 0.3]))
    ids = sample_ids(np.tile(logits, (20000, 1)), rng=np.random.default_rng(1))
    np.testing.assert_allclose(np.bincount(ids, minlength=3) / 20000, [0.2, 0.5, 0.3], atol=0.015)


def test_top_k_and_top_p_cut_the_tail():
    logits = np.tile(np.log(np.array([0.5, 0.3, 0.15, 0.05])), (2000, 1))
    assert set(sample_ids(logits, top_k=2, rng=np.random.default_rng(2)).tolist()) == {0, 1}
    # nucleus 0.7: 0.5 alone is below 0.7, so the second class is kept and the rest dropped
    assert set(sample_ids(logits, top_p=0.7, rng=np.random.default_rng(3)).tolist()) == {0, 1}
    assert set(sample_ids(logits, top_p=0.01, rng=np.random.default_rng(3)).tolist()) == {0}


def test_same_seed_same_draws_and_log_probs_returned():
    logits = np.random.default_rng(0).normal(size=(5, 30))
    a, la = sample_ids(logits, rng=np.random.default_rng(7), return_log_probs=True)
    b = sample_ids(logits, rng=np.random.default_rng(7))
    assert a.tolist() == b.tolist()
    np.testing.assert_allclose(la, log_softmax(logits)[np.arange(5), a])
    single = sample_ids(logits[0], rng=np.random.default_rng(7))
    assert np.ndim(single) == 0


@pytest.mark.parametrize("kw, word", [({"temperature": 0}, "temperature"), ({"top_k": -1}, "top_k"),
                                      ({"top_p": 1.5}, "top_p"), ({"top_p": 0}, "top_p")])
def test_bad_sampling_knobs_are_named(kw, word):
    with pytest.raises(ValueError, match=word):
        check_sampling(**kw)
