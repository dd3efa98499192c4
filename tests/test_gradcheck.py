"""The gradient checker itself: it agrees with closed forms and it catches wrong gradients."""
import numpy as np
import pytest

from dlcourse.gradcheck import check_function, check_module, numerical_gradient, relative_error
from dlcourse.nn import Linear

pytestmark = pytest.mark.gradcheck


def test_numerical_gradient_of_known_function_and_x_is_restored():
    x = np.array([1.0, -2.0, 0.5])
    before = x.copy()
    g = numerical_gradient(lambda: float(np.sum(x**3)), x)
    np.testing.assert_allclose(g, 3 * before**2, rtol=1e-8)
    np.testing.assert_array_equal(x, before)


def test_check_function_passes_and_fails():
    assert check_function(lambda x: np.sum(np.sin(x)), np.cos, np.linspace(-2, 2, 7)).passed
    bad = check_function(lambda x: np.sum(np.sin(x)), lambda x: np.cos(x) * 1.001, np.linspace(-2, 2, 7))
    assert not bad.passed and bad.max_error > 1e-4


def test_relative_error_definition():
    assert relative_error(np.array([1.0, 0.0]), np.array([1.0, 0.0])) == 0.0
    assert relative_error(np.array([1.0]), np.array([3.0])) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="shape"):
        relative_error(np.zeros(2), np.zeros(3))


def test_check_module_requires_float64_and_names_the_wrong_parameter():
    with pytest.raises(TypeError, match="float64"):
        check_module(Linear(2, 2), np.zeros((1, 2), np.float32))

    class WrongBias(Linear):
        def backward(self, dout):
            dx = super().backward(dout)
            self.bias.grad *= 2  # planted bug
            return dx

    report = check_module(WrongBias(3, 2), np.random.default_rng(0).standard_normal((4, 3)))
    assert report.errors["bias"] > 0.1 and report.errors["weight"] < 1e-6
    assert "bias" in str(report) and "<-- wrong" in str(report)
