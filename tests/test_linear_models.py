"""Linear and logistic regression (seed 2): closed form vs numpy's lstsq, gradient descent, gradcheck."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from dlcourse.gradcheck import check_function
from dlcourse.linear_models import LinearRegression, LogisticRegression, design_matrix, sigmoid, solve_normal_equation

pytestmark = pytest.mark.linear_models


def conditioned_problem(seed: int, n: int, d: int, log10_cond: float, noise: float = 1e-3):
    """X (n, d) with singular values log-spaced over ``log10_cond`` decades, y = [1|X]θ* + noise."""
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((n, d)))
    V, _ = np.linalg.qr(rng.standard_normal((d, d)))
    X = (U * np.logspace(0, -log10_cond, d)) @ V.T
    theta = rng.standard_normal(d + 1)
    y = design_matrix(X) @ theta + noise * rng.standard_normal(n)
    return X, y, theta


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(8, 80), d=st.integers(1, 6), log10_cond=st.floats(0, 10))
def test_normal_equation_matches_lstsq(seed, n, d, log10_cond):
    X, y, _ = conditioned_problem(seed, n, d, log10_cond)
    model = LinearRegression().fit(X, y)
    A = design_matrix(X)
    ref = np.linalg.lstsq(A, y, rcond=None)[0]
    assert model.theta.shape == (d + 1,)
    assert model.rank_ == d + 1
    np.testing.assert_allclose(model.theta, ref, rtol=1e-6, atol=1e-9 * np.linalg.norm(ref))
    # same cost as the reference least-squares solution (to rounding)
    ours, best = np.linalg.norm(A @ model.theta - y), np.linalg.norm(A @ ref - y)
    assert ours <= best * (1 + 1e-6) + 1e-12


def test_explicit_inverse_fails_where_the_solve_does_not():
    # the docstring's argument: κ(XᵀX) = κ(X)² ≈ 1e17 is singular to double precision
    # (an explicit inverse either raises "Singular matrix" or returns a wrong θ)
    X, y, _ = conditioned_problem(3, 60, 5, 8.0)
    A = design_matrix(X)
    ref = np.linalg.lstsq(A, y, rcond=None)[0]
    ours = LinearRegression().fit(X, y).theta
    assert np.linalg.norm(ours - ref) / np.linalg.norm(ref) < 1e-8
    try:
        naive = np.linalg.inv(A.T @ A) @ A.T @ y
    except np.linalg.LinAlgError:
        return
    assert np.linalg.norm(naive - ref) / np.linalg.norm(ref) > 1e-3


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 30), d=st.integers(1, 5))
def test_singular_normal_equation_gives_minimum_norm_solution(seed, n, d):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X = np.hstack([X, X[:, :1] * 2.0])  # a collinear column: XᵀX is singular
    y = rng.standard_normal(n)
    model = LinearRegression().fit(X, y)
    A = design_matrix(X)
    assert model.rank_ < A.shape[1]
    np.testing.assert_allclose(model.theta, np.linalg.pinv(A) @ y, rtol=1e-7, atol=1e-9)


def test_more_features_than_samples():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((4, 10)), rng.standard_normal(4)
    theta, rank = solve_normal_equation(design_matrix(X), y)
    assert rank == 4
    np.testing.assert_allclose(design_matrix(X) @ theta, y, atol=1e-10)  # interpolates
    np.testing.assert_allclose(theta, np.linalg.pinv(design_matrix(X)) @ y, atol=1e-10)


def test_theta_layout_predict_and_cost():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = 1.5 + 2.0 * X[:, 0]
    model = LinearRegression().fit(X, y)
    assert model.bias == pytest.approx(1.5) and model.weights == pytest.approx([2.0])
    np.testing.assert_allclose(model.theta, [1.5, 2.0])
    np.testing.assert_allclose(model.predict(np.array([[10.0]])), [21.5])
    y_noisy = y + np.array([1.0, -1.0, 0.0, 0.0])
    model.theta = np.array([1.5, 2.0])
    assert model.cost(X, y_noisy) == pytest.approx(2.0 / 4)  # J = (1/n) Σ (ŷ − y)²


def test_gradient_descent_approaches_the_closed_form():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.1 * rng.standard_normal(200)
    closed = LinearRegression().fit(X, y)
    gd = LinearRegression().fit(X, y, method="gd", lr=0.1, epochs=1500)
    np.testing.assert_allclose(gd.theta, closed.theta, atol=1e-8)
    history = np.array(gd.history_)
    assert history.shape == (1501,)
    assert np.all(np.diff(history) <= 1e-15)
    assert history[-1] == pytest.approx(closed.cost(X, y), rel=1e-10)


def test_linear_regression_gradient():
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((20, 3)), rng.standard_normal(20)
    model = LinearRegression()
    theta = rng.standard_normal(4)
    check_function(lambda t: model.cost_and_gradient(t, X, y)[0], lambda t: model.cost_and_gradient(t, X, y)[1],
                   theta).assert_ok()


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 40), d=st.integers(1, 6), l2=st.sampled_from([0.0, 0.1]))
def test_logistic_gradient_passes_gradcheck(seed, n, d, l2):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = rng.integers(0, 2, n)
    theta = rng.standard_normal(d + 1)
    model = LogisticRegression(l2=l2)
    report = check_function(lambda t: model.cost_and_gradient(t, X, y)[0],
                            lambda t: model.cost_and_gradient(t, X, y)[1], theta)
    report.assert_ok()


def test_logistic_cost_is_the_binary_cross_entropy():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((30, 2)), rng.integers(0, 2, 30)
    theta = rng.standard_normal(3)
    p = sigmoid(design_matrix(X) @ theta)
    bce = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))  # seed 2.3.2–2.3.3
    assert LogisticRegression().cost_and_gradient(theta, X, y)[0] == pytest.approx(bce, rel=1e-12)
    # and stays finite where log(σ) would underflow
    cost, grad = LogisticRegression().cost_and_gradient(np.array([0.0, 1000.0]), np.array([[1.0]]), np.array([0]))
    assert cost == pytest.approx(1000.0) and np.all(np.isfinite(grad))


def test_logistic_regression_separates_a_separable_set():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((200, 2))
    margin = X @ np.array([1.0, -2.0]) + 0.5
    keep = np.abs(margin) > 0.3  # a clear margin between the classes
    X, y = X[keep], (margin[keep] > 0).astype(np.int64)
    model = LogisticRegression(lr=1.0, epochs=2000).fit(X, y)
    assert model.accuracy(X, y) == 1.0
    assert np.all(np.diff(model.history_) <= 1e-12)
    proba = model.predict_proba(X)
    assert proba.shape == (len(X),) and np.all((proba > 0) & (proba < 1))
    np.testing.assert_array_equal(model.predict(X), (proba > 0.5).astype(int))
    assert model.predict(X).dtype == np.int64


def test_errors():
    X = np.ones((5, 2))
    with pytest.raises(ValueError, match=r"y of shape \(5,\)"):
        LinearRegression().fit(X, np.ones((5, 1)))
    with pytest.raises(ValueError, match=r"\(n_samples, n_features\)"):
        LinearRegression().fit(np.ones(5), np.ones(5))
    bad = X.copy()
    bad[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        LinearRegression().fit(bad, np.ones(5))
    with pytest.raises(ValueError, match="NaN"):
        LogisticRegression().fit(X, np.array([0, 1, np.nan, 0, 1]))
    with pytest.raises(ValueError, match="binary labels"):
        LogisticRegression().fit(X, np.array([0, 1, 2, 0, 1]))
    with pytest.raises(RuntimeError, match="not fitted"):
        LinearRegression().predict(X)
    model = LinearRegression().fit(np.arange(10.0).reshape(5, 2), np.arange(5.0))
    with pytest.raises(ValueError, match="fitted with 2 features"):
        model.predict(np.ones((3, 3)))
    with pytest.raises(ValueError, match="method"):
        LinearRegression().fit(X, np.ones(5), method="inverse")
    with pytest.raises(ValueError, match=r"theta of shape \(3,\)"):
        LogisticRegression().cost_and_gradient(np.zeros(2), X, np.zeros(5))
    with pytest.raises(FloatingPointError, match="learning rate"):
        LinearRegression().fit(np.arange(20.0).reshape(10, 2) * 100, np.arange(10.0), method="gd", lr=1.0, epochs=500)
