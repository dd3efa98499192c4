"""Seed 1.2: accuracy, top-k accuracy and error."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from dlcourse.metrics import accuracy, confusion_matrix, top_k_accuracy, top_k_error

pytestmark = pytest.mark.metrics


def test_top_k_by_hand():
    scores = np.array([[0.1, 0.5, 0.3, 0.1], [0.6, 0.1, 0.2, 0.1], [0.1, 0.2, 0.3, 0.4]])
    labels = np.array([2, 0, 0])  # ranks of the true class: 2nd, 1st, 4th
    assert accuracy(scores, labels) == pytest.approx(1 / 3)
    assert top_k_accuracy(scores, labels, k=1) == pytest.approx(1 / 3)
    assert top_k_accuracy(scores, labels, k=2) == pytest.approx(2 / 3)
    assert top_k_accuracy(scores, labels, k=4) == 1.0
    assert top_k_error(scores, labels, k=2) == pytest.approx(1 / 3)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 30), c=st.integers(2, 8), seed=st.integers(0, 10_000))
def test_top_k_matches_argsort_definition_and_is_monotone(n, c, seed):
    rng = np.random.default_rng(seed)
    scores, labels = rng.standard_normal((n, c)), rng.integers(0, c, n)
    top = np.argsort(-scores, axis=1)
    previous = 0.0
    for k in range(1, c + 1):
        expected = np.mean([labels[i] in top[i, :k] for i in range(n)])
        got = top_k_accuracy(scores, labels, k)
        assert got == pytest.approx(expected) and got >= previous
        previous = got
    assert top_k_accuracy(scores, labels, 1) == pytest.approx(accuracy(scores, labels))


def test_confusion_matrix_and_label_input():
    pred, labels = np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2])
    assert accuracy(pred, labels) == 0.75
    np.testing.assert_array_equal(confusion_matrix(pred, labels), [[1, 0, 0], [0, 1, 0], [0, 1, 1]])


def test_metric_errors():
    with pytest.raises(ValueError, match="k must lie in \\[1, 3\\]"):
        top_k_accuracy(np.zeros((2, 3)), np.array([0, 1]), k=5)
    with pytest.raises(ValueError, match="labels of shape \\(2,\\)"):
        top_k_accuracy(np.zeros((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="predictions of shape"):
        accuracy(np.zeros(3, int), np.zeros(4, int))
