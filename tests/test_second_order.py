"""Second-order methods (seed 4.3.8–4.3.12), test surfaces, and full-batch L-BFGS training (seed 4.3.1).

Run with ``-s`` to see our iteration counts next to SciPy's.
"""
import warnings

import numpy as np
import pytest
import scipy.optimize as so
from hypothesis import given, settings, strategies as st

from dlcourse.gradcheck import numerical_gradient, relative_error
from dlcourse.optim import SGD, Adam
from dlcourse.optim.flat import fit_full_batch_lbfgs, flatten_grads, flatten_params, set_flat_params
from dlcourse.optim.second_order import (HessianModificationWarning, bfgs, gauss_newton, lbfgs, levenberg,
                                         levenberg_marquardt, newton)
from dlcourse.optim.surfaces import (beale, exponential_decay_fit, first_order_path, himmelblau, quadratic_bowl,
                                     rosenbrock)

pytestmark = pytest.mark.second_order

ROSEN_START = np.array([-1.2, 1.0])


def scipy_iterations() -> dict:
    """SciPy's counts on the same problem, with tolerances that also reach the minimum closely."""
    newton_cg = so.minimize(so.rosen, ROSEN_START, jac=so.rosen_der, hess=so.rosen_hess, method="Newton-CG",
                            options={"xtol": 1e-10})
    bfgs_ = so.minimize(so.rosen, ROSEN_START, jac=so.rosen_der, method="BFGS", options={"gtol": 1e-8})
    lbfgs_ = so.minimize(so.rosen, ROSEN_START, jac=so.rosen_der, method="L-BFGS-B",
                         options={"gtol": 1e-8, "ftol": 1e-15})
    return {"newton": newton_cg.nit, "bfgs": bfgs_.nit, "lbfgs": lbfgs_.nit}


def test_rosenbrock_from_the_standard_start_with_iteration_counts_vs_scipy():
    s = rosenbrock()
    np.testing.assert_array_equal(s.default_start, ROSEN_START)
    ours = {
        "newton": newton(s.f, s.grad, s.hess, ROSEN_START),
        "bfgs": bfgs(s.f, s.grad, ROSEN_START),
        "lbfgs": lbfgs(s.f, s.grad, ROSEN_START, m=10),
    }
    ref = scipy_iterations()
    print("\nRosenbrock from (-1.2, 1): iterations ours vs scipy (Newton-CG / BFGS / L-BFGS-B)")
    for name, res in ours.items():
        print(f"  {name:<7} ours {res.nit:>3} (nfev {res.nfev:>3}, |x - 1|max {np.abs(res.x - 1).max():.1e})"
              f"   scipy {ref[name]:>3}")
    for name, res in ours.items():
        assert res.success, (name, res.message)
        np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-6, err_msg=name)
        assert res.nit <= 2 * ref[name], (name, res.nit, ref[name])
        # the path: every iterate, starting at x0 and ending at x, with f decreasing at every step
        assert res.path.shape == (res.nit + 1, 2)
        np.testing.assert_array_equal(res.path[0], ROSEN_START)
        np.testing.assert_array_equal(res.path[-1], res.x)
        assert res.fun_history.shape == (res.nit + 1,)
        assert np.all(np.diff(res.fun_history) < 0), name
        np.testing.assert_allclose(res.fun_history, [s.f(p) for p in res.path])


def test_newton_solves_a_quadratic_in_one_step():
    s = quadratic_bowl(condition=1000.0, angle=0.6)
    res = newton(s.f, s.grad, s.hess, s.default_start)
    assert res.nit == 1
    np.testing.assert_allclose(res.x, s.minima[0], atol=1e-12)


@pytest.mark.parametrize("method", [bfgs, lbfgs])
def test_quasi_newton_on_a_rotated_ill_conditioned_bowl_in_10d(method):
    s = quadratic_bowl(condition=1e4, angle=1.0, dim=10, rng=3)
    res = method(s.f, s.grad, s.default_start)
    assert res.success
    np.testing.assert_allclose(res.x, s.minima[0], atol=1e-6)
    # gradient descent would need ~κ = 10⁴ steps; compare with SciPy on the same problem
    name = "BFGS" if method is bfgs else "L-BFGS-B"
    options = {"gtol": 1e-8} if method is bfgs else {"gtol": 1e-8, "ftol": 1e-15}
    ref = so.minimize(s.f, s.default_start, jac=s.grad, method=name, options=options)
    print(f"\n10-D bowl κ=1e4: {method.__name__} ours {res.nit} iterations, scipy {name} {ref.nit}")
    assert res.nit <= 2 * ref.nit


@pytest.mark.parametrize("surface", [beale(), himmelblau(), rosenbrock(dim=3)], ids=lambda s: s.name)
def test_all_methods_reach_a_known_minimum(surface):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HessianModificationWarning)
        results = [newton(surface.f, surface.grad, surface.hess, surface.default_start),
                   bfgs(surface.f, surface.grad, surface.default_start),
                   lbfgs(surface.f, surface.grad, surface.default_start, m=5)]
    for res in results:
        assert res.success, res.message
        assert surface.distance_to_minimum(res.x) < 1e-6, (res.method, res.x)


def test_line_search_guarantees_descent_even_for_a_bad_start():
    s = beale()
    for x0 in ([-4.0, 4.0], [4.0, -4.0], [0.0, 4.0]):
        for res in (bfgs(s.f, s.grad, x0), lbfgs(s.f, s.grad, x0)):
            assert np.all(np.diff(res.fun_history) < 0)
            assert np.all(np.isfinite(res.path))


# --- nonlinear least squares ------------------------------------------------------------------
def test_levenberg_marquardt_matches_scipy_least_squares_lm():
    prob = exponential_decay_fit()
    ref = so.least_squares(prob.residual, prob.default_start, jac=prob.jacobian, method="lm",
                           xtol=1e-15, ftol=1e-15, gtol=1e-15)
    res = levenberg_marquardt(prob.residual, prob.jacobian, prob.default_start)
    print(f"\nexp-decay fit: LM ours {res.nit} iterations ({res.nfev} residual evaluations), "
          f"scipy lm {ref.nfev} evaluations")
    assert res.success, res.message
    np.testing.assert_allclose(res.x, ref.x, atol=1e-6)
    assert res.fun == pytest.approx(2 * ref.cost, rel=1e-10)  # scipy's cost is ½‖r‖², ours ‖r‖² (seed 4.3.10)
    assert np.all(np.diff(res.fun_history) < 0)  # damping keeps f decreasing (seed 4.3.11)
    assert len(res.damping) == res.nit
    for method in (gauss_newton, levenberg):
        other = method(prob.residual, prob.jacobian, prob.default_start)
        assert other.success, (method.__name__, other.message)
        np.testing.assert_allclose(other.x, ref.x, atol=1e-6, err_msg=method.__name__)
    # the fit recovers the generating parameters up to the noise
    np.testing.assert_allclose(res.x, prob.true_params, atol=0.1)


@pytest.mark.parametrize("method", [levenberg, levenberg_marquardt])
def test_first_step_solves_the_seed_equation(method):
    prob = exponential_decay_fit()
    x0, lam = prob.default_start, 0.5
    res = method(prob.residual, prob.jacobian, x0, lam0=lam, maxiter=1)
    assert res.damping == [lam]  # the first trial step was accepted with λ = lam0
    J, r = prob.jacobian(x0), prob.residual(x0)
    A = J.T @ J
    D = np.eye(3) if method is levenberg else np.diag(np.diag(A))  # seed 4.3.11 vs 4.3.12
    np.testing.assert_allclose(res.path[1] - x0, np.linalg.solve(A + lam * D, -J.T @ r), rtol=1e-9)


def test_damping_adapts_on_a_hard_start():
    # far start: Levenberg's λ grows until steps decrease f, then shrinks toward Gauss-Newton
    prob = exponential_decay_fit()
    x0 = np.array([10.0, 5.0, -3.0])
    ref = so.least_squares(prob.residual, x0, jac=prob.jacobian, method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15)
    for method in (levenberg, levenberg_marquardt):
        res = method(prob.residual, prob.jacobian, x0, maxiter=500)
        assert res.success, res.message
        assert np.all(np.diff(res.fun_history) < 0)
        np.testing.assert_allclose(res.x, ref.x, atol=1e-6)
        assert res.damping[-1] < res.damping[0] or res.damping[0] < 1e-2


def test_rosenbrock_as_least_squares():
    # f = 100(y − x²)² + (1 − x)² = ‖r‖² with r = (10(y − x²), 1 − x)
    def residual(p):
        return np.array([10 * (p[1] - p[0] ** 2), 1 - p[0]])

    def jacobian(p):
        return np.array([[-20 * p[0], 10.0], [-1.0, 0.0]])

    for method in (gauss_newton, levenberg, levenberg_marquardt):
        res = method(residual, jacobian, ROSEN_START)
        np.testing.assert_allclose(res.x, [1, 1], atol=1e-8, err_msg=method.__name__)


def test_pure_gauss_newton_can_fail_where_damping_succeeds():
    # r(x) = atan(x): the full Gauss-Newton step overshoots for |x| > 1.39 and diverges
    def residual(x):
        return np.arctan(x)

    def jacobian(x):
        return (1.0 / (1.0 + x ** 2)).reshape(1, 1)

    pure = gauss_newton(residual, jacobian, [2.0], maxiter=5)
    assert not pure.success and np.all(np.isfinite(pure.path))
    assert pure.fun_history[-1] > pure.fun_history[0]
    for res in (gauss_newton(residual, jacobian, [2.0], line_search=True),
                levenberg(residual, jacobian, [2.0]), levenberg_marquardt(residual, jacobian, [2.0])):
        assert res.success, res.message
        assert abs(res.x[0]) < 1e-6


# --- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize("x0", [[np.nan, 1.0], [np.inf, 0.0]])
def test_non_finite_start_raises(x0):
    s = rosenbrock()
    prob = exponential_decay_fit()
    for call in (lambda: newton(s.f, s.grad, s.hess, x0), lambda: bfgs(s.f, s.grad, x0),
                 lambda: lbfgs(s.f, s.grad, x0)):
        with pytest.raises(ValueError, match="finite"):
            call()
    for method in (gauss_newton, levenberg, levenberg_marquardt):
        with pytest.raises(ValueError, match="finite"):
            method(prob.residual, prob.jacobian, x0 + [0.0])


def test_non_finite_f_at_start_raises():
    with pytest.raises(ValueError, match="not finite"):
        bfgs(lambda x: np.inf, lambda x: x, [-1.0])


def test_singular_hessian_uses_documented_fallback():
    # f = x⁴ + y⁴ has H = diag(12x², 12y²): singular wherever a coordinate is 0
    def f(x):
        return float(np.sum(x ** 4))

    def grad(x):
        return 4 * x ** 3

    def hess(x):
        return np.diag(12 * x ** 2)

    with pytest.warns(HessianModificationWarning, match="singular or not positive definite"):
        res = newton(f, grad, hess, [1.0, 0.0])
    assert res.success and np.all(np.isfinite(res.path))
    assert "Hessian modified" in res.message
    assert np.all(np.diff(res.fun_history) < 0)
    assert np.abs(res.x).max() < 1e-2  # x⁴ is flat: gtol 1e-8 on 4x³ means |x| ≈ 1e-3


def test_indefinite_hessian_at_himmelblaus_maximum():
    s = himmelblau()
    top = np.array([-0.270845, -0.923039])  # local maximum: H negative definite
    assert np.all(np.linalg.eigvalsh(s.hess(top)) < 0)
    with pytest.warns(HessianModificationWarning):
        res = newton(s.f, s.grad, s.hess, top + 1e-3)
    assert res.success and s.distance_to_minimum(res.x) < 1e-6
    assert np.all(np.diff(res.fun_history) < 0)  # a pure Newton step would climb to the maximum


def test_residual_jacobian_shape_mismatch_names_both_shapes():
    prob = exponential_decay_fit(n_points=20)
    for method in (gauss_newton, levenberg, levenberg_marquardt):
        with pytest.raises(ValueError, match=r"residual has shape \(20,\) and jacobian has shape \(19, 3\)"):
            method(prob.residual, lambda p: prob.jacobian(p)[:-1], prob.default_start)
        with pytest.raises(ValueError, match=r"\(20, 3\)"):
            method(prob.residual, lambda p: prob.jacobian(p).T, prob.default_start)


def test_bad_gradient_and_hessian_shapes():
    s = rosenbrock()
    with pytest.raises(ValueError, match=r"grad must return shape \(2,\)"):
        bfgs(s.f, lambda x: s.grad(x)[:1], ROSEN_START)
    with pytest.raises(ValueError, match=r"hess must return shape \(2, 2\)"):
        newton(s.f, s.grad, lambda x: np.eye(3), ROSEN_START)
    with pytest.raises(ValueError, match="scalar"):
        lbfgs(lambda x: x, s.grad, ROSEN_START)


# --- surfaces: derivatives by finite differences --------------------------------------------
SURFACES = [quadratic_bowl(30.0, 0.4), quadratic_bowl(100.0, 0.3, dim=4, rng=1), rosenbrock(), rosenbrock(dim=4),
            beale(), himmelblau(), exponential_decay_fit().as_surface()]


@settings(max_examples=20, deadline=None)
@given(index=st.integers(0, len(SURFACES) - 1), u=st.lists(st.floats(0.05, 0.95), min_size=4, max_size=4))
def test_surface_gradients_and_hessians_match_finite_differences(index, u):
    s = SURFACES[index]
    bounds = np.array(list(s.bounds) + [(-1.0, 1.0)] * (s.dim - len(s.bounds)), dtype=np.float64)
    x = bounds[:, 0] + np.array(u[: s.dim]) * (bounds[:, 1] - bounds[:, 0])
    num_grad = numerical_gradient(lambda: float(s.f(x)), x)
    assert relative_error(s.grad(x), num_grad, atol=1e-5 * max(1.0, abs(float(s.f(x))))) < 1e-5
    num_hess = np.stack([numerical_gradient(lambda i=i: float(s.grad(x)[i]), x) for i in range(s.dim)])
    H = s.hess(x)
    np.testing.assert_allclose(H, H.T, atol=1e-10)
    assert relative_error(H, num_hess, atol=1e-5 * max(1.0, np.abs(H).max())) < 1e-5


def test_curve_fitting_jacobian_matches_finite_differences():
    prob = exponential_decay_fit()
    p = np.array([1.7, 0.9, 0.2])
    J = prob.jacobian(p)
    num = np.stack([numerical_gradient(lambda i=i: float(prob.residual(p)[i]), p) for i in range(prob.t.size)])
    assert relative_error(J, num) < 1e-6


def test_surface_grid_is_vectorised():
    s = rosenbrock()
    X, Y, Z = s.grid(30)
    assert Z.shape == (30, 30)
    assert Z[7, 11] == pytest.approx(s.f(np.array([X[7, 11], Y[7, 11]])))


# --- first-order optimizers on the same surfaces -----------------------------------------------
def test_first_order_path_races_on_the_same_surface():
    s = quadratic_bowl(condition=10.0)
    path = first_order_path(s, lambda p: SGD(p, lr=0.05, momentum=0.9), steps=300)
    assert path.shape == (301, 2)
    np.testing.assert_array_equal(path[0], s.default_start)
    assert s.distance_to_minimum(path[-1]) < 1e-4
    adam = first_order_path(rosenbrock(), lambda p: Adam(p, lr=0.05), steps=2000)
    assert rosenbrock().distance_to_minimum(adam[-1]) < 1e-2
    # plain gradient descent moves by exactly −lr·∇f
    gd = first_order_path(s, lambda p: SGD(p, lr=0.01), steps=1)
    np.testing.assert_allclose(gd[1], s.default_start - 0.01 * s.grad(s.default_start))


def test_first_order_path_stops_at_divergence():
    path = first_order_path(rosenbrock(), lambda p: SGD(p, lr=1.0), steps=100)
    assert len(path) < 101 and np.all(np.isfinite(path))


# --- full-batch L-BFGS on a network (seed 4.3.1) ------------------------------------------------
def test_flat_parameter_roundtrip():
    from dlcourse.nn import Linear, Sequential, Tanh

    model = Sequential(Linear(3, 4, rng=0), Tanh(), Linear(4, 2, rng=1))
    vec = flatten_params(model)
    assert vec.shape == (3 * 4 + 4 + 4 * 2 + 2,) and vec.dtype == np.float64
    set_flat_params(model, np.arange(vec.size, dtype=np.float64))
    np.testing.assert_array_equal(model[0].weight.data.ravel(), np.arange(12))
    np.testing.assert_array_equal(model[2].bias.data, [24, 25])
    assert flatten_grads(model).shape == vec.shape
    with pytest.raises(ValueError, match="has 26 trainable parameters"):
        set_flat_params(model, np.zeros(25))


def test_lbfgs_fits_xor_full_batch():
    from dlcourse.nn import CrossEntropyLoss, Linear, Sequential, Tanh

    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    y = np.array([0, 1, 1, 0])
    model = Sequential(Linear(2, 8, rng=0), Tanh(), Linear(8, 2, rng=1))
    res = fit_full_batch_lbfgs(model, CrossEntropyLoss(), X, y, maxiter=300)
    assert res.fun < 1e-4
    assert np.all(model(X).argmax(axis=1) == y)
    assert np.all(np.diff(res.fun_history) < 0)
    np.testing.assert_array_equal(flatten_params(model), res.x)


def test_lbfgs_fits_moons_full_batch_and_its_gradient_is_the_backward_pass():
    from dlcourse.data import make_moons
    from dlcourse.nn import CrossEntropyLoss, Linear, Sequential, Tanh

    X, y = make_moons(200, noise=0.1, rng=0)
    model = Sequential(Linear(2, 16, rng=0), Tanh(), Linear(16, 2, rng=1))
    losses = []
    res = fit_full_batch_lbfgs(model, CrossEntropyLoss(), X, y, maxiter=500, callback=lambda k, f: losses.append(f))
    assert len(losses) == res.nit
    assert np.mean(model(X).argmax(axis=1) == y) == 1.0
    # the closure's gradient is the network's backward pass: check it at the solution's neighbour
    loss_fn = CrossEntropyLoss()
    theta = res.x + 0.01

    def f():
        set_flat_params(model, theta)
        return loss_fn(model(X), y)

    f()
    model.zero_grad()
    model.backward(loss_fn.backward())
    analytic = flatten_grads(model)
    assert relative_error(analytic, numerical_gradient(f, theta)) < 1e-6
