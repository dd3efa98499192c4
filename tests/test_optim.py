"""First-order optimizers (seed 4.3.2–4.3.7), weight decay (4.5.2), penalties (4.5.1), schedules (4.4)."""
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from dlcourse import mistakes
from dlcourse.nn import Parameter
from dlcourse.optim import (SGD, Adam, ExponentialDecay, InverseSqrtDecay, InverseTimeDecay, L1Penalty, L2Penalty,
                            ManualSchedule, RMSprop, StepDecay)

pytestmark = pytest.mark.optim

A = np.array([[3.0, 0.5], [0.5, 1.0]])
b = np.array([1.0, -2.0])
theta0 = np.array([2.0, -1.0])


def grad(theta):
    """Gradient of the quadratic f(θ) = ½ θᵀAθ − bᵀθ."""
    return A @ theta - b


def run(optimizer_cls, steps=3, **kwargs):
    p = Parameter(theta0.copy())
    opt = optimizer_cls([p], **kwargs)
    path = []
    for _ in range(steps):
        opt.zero_grad()
        p.accumulate(grad(p.data))
        opt.step()
        path.append(p.data.copy())
    return path


def test_gradient_descent_written_out():
    alpha, theta, expected = 0.1, theta0.copy(), []
    for _ in range(3):
        theta = theta - alpha * grad(theta)
        expected.append(theta)
    np.testing.assert_allclose(run(SGD, lr=alpha), expected)


def test_momentum_written_out():
    alpha, beta, theta, v, expected = 0.1, 0.9, theta0.copy(), np.zeros(2), []
    for _ in range(3):
        v = beta * v - alpha * grad(theta)
        theta = theta + v
        expected.append(theta)
    np.testing.assert_allclose(run(SGD, lr=alpha, momentum=beta), expected)


def test_nesterov_written_out_as_look_ahead_parameters():
    alpha, beta, theta, v, expected = 0.1, 0.9, theta0.copy(), np.zeros(2), []
    for _ in range(3):
        look_ahead = theta + beta * v
        v = beta * v - alpha * grad(look_ahead)
        theta = theta + v
        expected.append(theta + beta * v)  # the parameters hold the look-ahead point (see SGD docstring)
    np.testing.assert_allclose(run(SGD, lr=alpha, momentum=beta, nesterov=True), expected)


def test_weight_decay_written_out():
    alpha, lam, theta, expected = 0.1, 0.01, theta0.copy(), []
    for _ in range(3):
        theta = theta - alpha * grad(theta) - lam * theta
        expected.append(theta)
    np.testing.assert_allclose(run(SGD, lr=alpha, weight_decay=lam), expected)


def test_rmsprop_written_out():
    alpha, beta, eps, theta, s, expected = 0.01, 0.9, 1e-8, theta0.copy(), np.zeros(2), []
    for _ in range(3):
        g = grad(theta)
        s = beta * s + (1 - beta) * g * g
        theta = theta - alpha * g / (np.sqrt(s) + eps)
        expected.append(theta)
    np.testing.assert_allclose(run(RMSprop, lr=alpha, beta=beta), expected)


def test_adam_written_out_with_bias_correction():
    alpha, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    theta, m, v, expected = theta0.copy(), np.zeros(2), np.zeros(2), []
    for k in range(3):
        g = grad(theta)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** (k + 1)), v / (1 - b2 ** (k + 1))
        theta = theta - alpha * m_hat / (np.sqrt(v_hat) + eps)
        expected.append(theta)
    np.testing.assert_allclose(run(Adam, lr=alpha), expected)
    # the first bias-corrected Adam step has length alpha in every coordinate
    np.testing.assert_allclose(np.abs(run(Adam, steps=1, lr=alpha)[0] - theta0), alpha, rtol=1e-6)


@pytest.mark.parametrize("cls,kwargs,atol", [(SGD, dict(lr=0.1), 1e-6), (SGD, dict(lr=0.05, momentum=0.9), 1e-6),
                                             (SGD, dict(lr=0.05, momentum=0.9, nesterov=True), 1e-6),
                                             # RMSProp's steps keep length ~α near the optimum: it hovers within α
                                             (RMSprop, dict(lr=0.01), 0.01), (Adam, dict(lr=0.05), 1e-3)])
def test_every_optimizer_converges_on_the_quadratic(cls, kwargs, atol):
    final = run(cls, steps=600, **kwargs)[-1]
    np.testing.assert_allclose(final, np.linalg.solve(A, b), atol=atol)


def test_frozen_parameters_are_not_updated_and_state_roundtrips():
    p, q = Parameter(np.ones(2)), Parameter(np.ones(2))
    q.requires_grad = False
    opt = Adam([p, q], lr=0.1)
    for x in (p, q):
        x.accumulate(np.ones(2))
    opt.step()
    np.testing.assert_array_equal(q.data, 1.0)
    assert not np.allclose(p.data, 1.0)
    state = opt.state_dict()
    state["state"][0]["m"][:] = 99  # the saved state is a copy
    assert not np.any(opt.state[0]["m"] == 99)


JOINABLE = [(SGD, {"lr": 0.1}), (SGD, {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}),
            (SGD, {"lr": 0.1, "momentum": 0.8, "nesterov": True}), (RMSprop, {"lr": 0.01}),
            (Adam, {"lr": 0.05, "weight_decay": 0.001})]


def _joined_and_separate(cls, kwargs, shapes, seed):
    """The same model twice: one optimizer steps all parameters as one vector, the other one by one."""
    rng = np.random.default_rng(seed)
    values = [rng.standard_normal(shape) for shape in shapes]
    sets = [[Parameter(v.copy()) for v in values] for _ in range(2)]
    joined, separate = cls(sets[0], **kwargs), cls(sets[1], **kwargs)
    separate.elementwise = False
    return sets, joined, separate, rng


@pytest.mark.parametrize("cls, kwargs", JOINABLE, ids=lambda v: getattr(v, "__name__", str(v)))
@settings(max_examples=10, deadline=None)
@given(shapes=st.lists(st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple), min_size=2, max_size=5),
       seed=st.integers(0, 1000))
def test_joined_step_equals_parameter_by_parameter_bit_for_bit(cls, kwargs, shapes, seed):
    """Elementwise optimizers update all parameters as one vector; every number, the state included,
    must be what one update per parameter gives — across freezing, unfreezing and a state round trip."""
    sets, joined, separate, rng = _joined_and_separate(cls, kwargs, shapes, seed)
    for step in range(8):
        grads = [rng.standard_normal(shape) for shape in shapes]
        for params in sets:
            for p, g in zip(params, grads):
                p.zero_grad()
                p.accumulate(g)
            if step == 3:
                params[0].requires_grad = False   # frozen for two steps: its Adam step count falls behind
            if step == 5:
                params[0].requires_grad = True
        if step == 6:
            joined.load_state_dict(joined.state_dict())
        joined.step()
        separate.step()
        for a, b in zip(*sets):
            np.testing.assert_array_equal(a.data, b.data)
        for sa, sb in zip(joined.state, separate.state):
            assert sa.keys() == sb.keys()
            for key in sa:
                np.testing.assert_array_equal(sa[key], sb[key])
    assert joined._joined is not None or cls is Adam  # Adam's step counts disagree after the freeze


def test_joined_step_is_used_and_falls_back_for_mixed_dtypes():
    params = [Parameter(np.ones((2, 3), np.float32)), Parameter(np.ones(3, np.float32))]
    opt = Adam(params, lr=0.1)
    for p in params:
        p.accumulate(np.ones(p.shape, np.float32))
    opt.step()
    assert opt._joined is not None and opt.state[0]["m"].base is opt._joined.state["m"]
    mixed = [Parameter(np.ones(2, np.float32)), Parameter(np.ones(2, np.float64))]
    opt = SGD(mixed, lr=0.1, momentum=0.9)
    for p in mixed:
        p.accumulate(np.ones(2))
    opt.step()
    assert opt._joined is None and all(p.data.dtype == d for p, d in zip(mixed, (np.float32, np.float64)))
    np.testing.assert_allclose(mixed[0].data, 0.9)


def test_optimizer_errors():
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match="expects Parameters"):
        SGD([np.zeros(3)], lr=0.1)
    with pytest.raises(ValueError, match="learning rate must be positive"):
        Adam([Parameter(np.zeros(1))], lr=0)
    with pytest.raises(ValueError, match="Nesterov"):
        SGD([Parameter(np.zeros(1))], lr=0.1, nesterov=True)


def test_step_without_zero_grad_warns_and_correct_loop_is_silent():
    p = Parameter(np.ones(2))
    opt = SGD([p], lr=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            opt.zero_grad()
            p.accumulate(np.ones(2))
            opt.step()
    p.accumulate(np.ones(2))  # a second backward without zero_grad
    with pytest.warns(mistakes.MistakeWarning, match="zero_grad"):
        opt.step()


def test_penalties_value_and_gradient():
    p = Parameter(np.array([1.0, -2.0, 0.0]))
    assert L1Penalty(0.5)([p]) == pytest.approx(1.5)
    assert L2Penalty(0.5)([p]) == pytest.approx(2.5)
    L1Penalty(0.5).backward([p])
    np.testing.assert_allclose(p.grad, [0.5, -0.5, 0.0])
    p.zero_grad()
    L2Penalty(0.5).backward([p])
    np.testing.assert_allclose(p.grad, [1.0, -2.0, 0.0])


def test_schedules_follow_the_seed_formulas():
    assert [InverseTimeDecay(0.1).lr_at(e) for e in (0, 1, 10)] == pytest.approx([0.1, 0.1 / 1.1, 0.05])
    assert StepDecay(0.1, t=0.5, step_size=2).values(6) == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025])
    assert [ExponentialDecay(0.1, t=0.5).lr_at(e) for e in (0, 1, 3)] == pytest.approx([0.1, 0.05, 0.0125])
    assert [InverseSqrtDecay(0.1, t=0.5).lr_at(e) for e in (1, 4)] == pytest.approx([0.05, 0.025])
    with pytest.raises(ValueError, match="epoch >= 1"):
        InverseSqrtDecay(0.1).lr_at(0)
    manual = ManualSchedule({0: 0.1, 3: 0.01, 5: 0.001})
    assert manual.values(7) == pytest.approx([0.1, 0.1, 0.1, 0.01, 0.01, 0.001, 0.001])
    opt = SGD([Parameter(np.zeros(1))], lr=1.0)
    assert manual.apply(opt, 4) == opt.lr == 0.01
    # seed 4.3.3.1: Σα = ∞ and Σα² < ∞ hold for 1/(1+t·epoch) — its partial sums grow like log
    lrs = np.array(InverseTimeDecay(1.0, t=1.0).values(10_000))
    assert lrs.sum() > math.log(10_000) - 1 and (lrs**2).sum() < 2
