"""The Kneser-Ney event n-gram baseline: exact counts, hand-computed probabilities, normalization."""
import math

import numpy as np
import pytest

from train.ngram import NGramModel

V = 6
SEQS = [np.array([1, 2, 3, 1, 2, 4]), np.array([1, 2, 3, 5])]


def test_counts_are_exact_and_start_with_bos():
    model = NGramModel.fit(SEQS, V, order=3)
    bos = model.bos
    assert model.counts_of((1, 2, 3)) == 2
    assert model.counts_of((1, 2, 4)) == 1
    assert model.counts_of((2, 3, 1)) == 1
    assert model.counts_of((bos, 1, 2)) == 2  # the second event's context reaches before the start
    assert model.counts_of((bos, bos, 1)) == 0  # the first event is never a target
    assert model.counts_of((4, 4, 4)) == 0


def test_probability_matches_hand_computation():
    model = NGramModel.fit(SEQS, V, order=3)
    d1, d2, d3 = (level.discount for level in model.levels)
    # order 1, continuation counts: distinct left neighbours of each class among the bigrams ending a trigram
    # bigrams (2nd,3rd of each trigram): (1,2) (2,3) (3,1) (2,4) (3,5); w=3 has 1 left neighbour, total 5, 5 types
    p1 = max(1 - d1, 0) / 5 + d1 * 5 / 5 / V
    # order 2 for context 2: continuation counts of (2,3) = 1 ((1,2,3) only), (2,4) = 1; total 2, types 2
    p2 = max(1 - d2, 0) / 2 + d2 * 2 / 2 * p1
    # order 3 for context (1,2): c(1,2,3) = 2, c(1,2,4) = 1, total 3, types 2
    p3 = max(2 - d3, 0) / 3 + d3 * 2 / 3 * p2
    assert model.distribution([1, 2])[3] == pytest.approx(p3, rel=1e-12)
    assert model.log_probs([1, 2, 3])[-1] == pytest.approx(math.log(p3), rel=1e-12)


@pytest.mark.parametrize("context", [[1, 2], [2], [], [5, 5], [0, 4], [3, 1]])
def test_distributions_sum_to_one_for_seen_and_unseen_contexts(context):
    model = NGramModel.fit(SEQS, V, order=3)
    probs = model.distribution(context)
    assert probs.min() > 0
    assert probs.sum() == pytest.approx(1.0, abs=1e-12)


def test_predictions_match_distribution_argmax():
    model = NGramModel.fit(SEQS, V, order=3)
    seq = np.array([1, 2, 3, 1, 2, 0, 5])
    expected = [int(np.argmax(model.distribution(seq[max(0, i - 2):i]))) for i in range(1, len(seq))]
    assert model.predictions(seq).tolist() == expected
    assert model.predictions(seq)[1] == 3  # after (1, 2) the corpus says 3


def test_kneser_ney_beats_uniform_on_repetitive_data():
    rng = np.random.default_rng(0)
    pattern = np.tile([0, 3, 1, 4, 2, 5], 30)
    model = NGramModel.fit([pattern], V, order=3)
    noisy = pattern.copy()
    noisy[rng.integers(0, len(noisy), 5)] = rng.integers(0, V, 5)
    assert -model.log_probs(noisy).mean() < 0.5 * math.log(V)


def test_chunked_counting_matches_one_pass():
    rng = np.random.default_rng(1)
    seqs = [rng.integers(0, V, rng.integers(2, 30)) for _ in range(40)]
    whole = NGramModel.fit(seqs, V)
    chunked = NGramModel.fit(iter(seqs), V, chunk_grams=7)
    for a, b in zip(whole.levels, chunked.levels):
        assert np.array_equal(a.keys, b.keys) and np.array_equal(a.counts, b.counts)
    assert np.allclose(whole.log_probs(seqs[0]), chunked.log_probs(seqs[0]))


def test_needs_data():
    with pytest.raises(ValueError, match="at least one training sequence"):
        NGramModel.fit([np.array([1])], V)
