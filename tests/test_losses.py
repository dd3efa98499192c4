"""Losses of seed 4.2: hand-computed values, gradient checks, and clear errors."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from dlcourse import mistakes
from dlcourse.gradcheck import check_loss
from dlcourse.nn import BCELoss, CrossEntropyLoss, HingeLoss, L1Loss, MSELoss

pytestmark = pytest.mark.losses


def test_values_by_hand():
    pred, target = np.array([[1.0, 2.0], [3.0, 5.0]]), np.array([[0.0, 2.0], [1.0, 1.0]])
    assert L1Loss()(pred, target) == pytest.approx((1 + 0 + 2 + 4) / 4)
    assert MSELoss()(pred, target) == pytest.approx((1 + 0 + 4 + 16) / 4)
    p, y = np.array([0.9, 0.2]), np.array([1.0, 0.0])
    assert BCELoss()(p, y) == pytest.approx(-(np.log(0.9) + np.log(0.8)) / 2)
    s, labels = np.array([[2.0, 1.0, 0.0], [0.0, 0.0, 3.0]]), np.array([0, 1])
    expected_ce = -(np.log(np.exp(2) / (np.exp(2) + np.exp(1) + 1)) + np.log(1 / (2 + np.exp(3)))) / 2
    assert CrossEntropyLoss()(s, labels) == pytest.approx(expected_ce)
    # seed 4.2.7: sample 0: max(0, 1-2+1) + max(0, 0-2+1) = 0; sample 1: max(0,0-0+1) + max(0,3-0+1) = 5
    assert HingeLoss()(s, labels) == pytest.approx((0 + 5) / 2)


def test_hinge_saturates_to_zero_loss_and_gradient():
    loss = HingeLoss()
    assert loss(np.array([[5.0, 1.0, 0.0]]), np.array([0])) == 0.0
    assert not loss.backward().any()


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 6), c=st.integers(2, 6), seed=st.integers(0, 10_000))
def test_classification_loss_gradients(n, c, seed):
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal((n, c)) * 3
    labels = rng.integers(0, c, n)
    check_loss(CrossEntropyLoss(), scores, labels).assert_ok()
    # keep hinge margins away from their kink at 0 (the true class's own score is not a margin)
    margins = scores - scores[np.arange(n), labels][:, None] + 1
    near_kink = np.abs(margins) < 0.05
    near_kink[np.arange(n), labels] = False
    scores = scores + np.where(near_kink, 0.2, 0)
    check_loss(HingeLoss(), scores, labels, atol=1e-8).assert_ok()


@settings(max_examples=20, deadline=None)
@given(shape=st.tuples(st.integers(1, 5), st.integers(1, 4)), seed=st.integers(0, 10_000))
def test_regression_and_bce_gradients(shape, seed):
    rng = np.random.default_rng(seed)
    pred, target = rng.standard_normal(shape), rng.standard_normal(shape)
    pred = np.where(np.abs(pred - target) < 0.05, target + 0.3, pred)
    check_loss(L1Loss(), pred, target).assert_ok()
    check_loss(MSELoss(), pred, target).assert_ok()
    probs = rng.uniform(0.05, 0.95, shape)
    check_loss(BCELoss(), probs, rng.integers(0, 2, shape).astype(float)).assert_ok()


def test_cross_entropy_per_pixel_matches_flattened_rows():
    rng = np.random.default_rng(0)
    logits, labels = rng.standard_normal((2, 3, 4, 5)), rng.integers(0, 3, (2, 4, 5))
    ce = CrossEntropyLoss()
    rows = np.moveaxis(logits, 1, -1).reshape(-1, 3)
    assert ce(logits, labels) == pytest.approx(CrossEntropyLoss()(rows, labels.reshape(-1)))
    check_loss(ce, logits, labels).assert_ok()


def test_cross_entropy_is_stable_for_huge_logits():
    loss = CrossEntropyLoss()
    assert loss(np.array([[1000.0, 0.0]]), np.array([1])) == pytest.approx(1000.0)
    assert np.all(np.isfinite(loss.backward()))


def test_bce_clips_saturated_probabilities():
    loss = BCELoss()
    value = loss(np.array([0.0, 1.0]), np.array([1.0, 0.0]))
    assert np.isfinite(value) and value > 10
    assert np.all(np.isfinite(loss.backward()))


def test_bad_inputs_get_clear_errors():
    with pytest.raises(ValueError, match=r"MSELoss expected pred and target of the same shape, got \(4, 1\) and \(4,\)"):
        MSELoss()(np.zeros((4, 1)), np.zeros(4))
    with pytest.raises(ValueError, match="labels out of range.*max 3.*3 classes"):
        CrossEntropyLoss()(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(TypeError, match="integer class labels"):
        CrossEntropyLoss()(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="CrossEntropyLoss got 1 non-finite value.*NaN at index \\(1, 2\\)"):
        CrossEntropyLoss()(np.array([[0.0, 1, 2], [0, 1, np.nan]]), np.array([0, 1]))
    with pytest.raises(ValueError, match="probabilities in \\[0, 1\\]"):
        BCELoss()(np.array([1.5]), np.array([1.0]))
    with pytest.raises(RuntimeError, match="before the loss was computed"):
        L1Loss().backward()


def test_softmax_probabilities_passed_to_cross_entropy_warn_and_can_be_silenced():
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    with pytest.warns(mistakes.MistakeWarning, match="already probabilities"):
        CrossEntropyLoss()(probs, np.array([0, 2]))
    with mistakes.silenced("softmax_before_cross_entropy"), warnings.catch_warnings():
        warnings.simplefilter("error")
        CrossEntropyLoss()(probs, np.array([0, 2]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        CrossEntropyLoss()(np.log(probs) + 1.0, np.array([0, 2]))  # logits: silent
