"""utils.py (the course template's six functions) against closed forms and central finite differences."""

import math

import numpy as np
import pytest
from scipy.special import expit, softmax as scipy_softmax

import utils

RNG = np.random.default_rng(0)
EPS = 1e-6


def central_diff(fun, x, eps=EPS):
    """Numerical Jacobian of a vector function ``fun`` at ``x`` (shape (out, in))."""
    x = np.array(x, dtype=np.float64)
    cols = []
    for i in range(x.size):
        step = np.zeros_like(x)
        step.flat[i] = eps
        cols.append((np.ravel(fun(x + step)) - np.ravel(fun(x - step))) / (2 * eps))
    return np.stack(cols, axis=-1)


def rel_err(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return np.max(np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-12))


def test_exactly_the_templates_six_functions():
    public = sorted(n for n, v in vars(utils).items() if callable(v) and not n.startswith("_")
                    and getattr(v, "__module__", None) == "utils")
    assert public == ["mse", "mse_deriv", "sigmoid", "sigmoid_deriv", "softmax", "softmax_deriv"]


# --------------------------------------------------------------------------- sigmoid
def test_sigmoid_against_scipy():
    x = RNG.normal(scale=10, size=50)
    np.testing.assert_allclose(utils.sigmoid(x), expit(x), rtol=1e-14)
    assert utils.sigmoid(0.0) == 0.5


def test_sigmoid_deriv_is_the_derivative_at_the_pre_activation():
    x = RNG.normal(scale=3, size=7)
    numeric = np.diag(central_diff(utils.sigmoid, x))
    assert rel_err(utils.sigmoid_deriv(x), numeric) < 1e-8
    assert utils.sigmoid_deriv(0.0) == 0.25


# --------------------------------------------------------------------------- softmax
def test_softmax_of_one_sample_against_scipy():
    a = RNG.normal(scale=5, size=10)
    f = utils.softmax(a)
    np.testing.assert_allclose(f, scipy_softmax(a), rtol=1e-13)
    assert math.isclose(f.sum(), 1.0)
    np.testing.assert_allclose(utils.softmax(a + 1000.0), f, rtol=1e-12)  # shifted by the maximum: no overflow


def test_softmax_deriv_is_only_the_diagonal_of_the_jacobian():
    """The template's catch: the diagonal is right, the off-diagonal terms -f_k f_l are missing."""
    a = RNG.normal(size=6)
    jacobian = central_diff(utils.softmax, a)
    assert rel_err(utils.softmax_deriv(a), np.diag(jacobian)) < 1e-8
    f = utils.softmax(a)
    off = jacobian - np.diag(np.diag(jacobian))
    np.testing.assert_allclose(off, -np.outer(f, f) + np.diag(f * f), atol=1e-9)
    assert np.abs(off).max() > 1e-3


# --------------------------------------------------------------------------- the course's MSE
def test_mse_is_the_mean_of_the_squared_differences():
    y, f = np.eye(10)[3], utils.softmax(RNG.normal(size=10))
    assert math.isclose(utils.mse(y, f), sum((fk - yk) ** 2 for fk, yk in zip(f, y)) / 10)


def test_mse_deriv_is_the_gradient_of_mse_for_one_sample():
    y, f = np.eye(10)[7], utils.softmax(RNG.normal(size=10))
    numeric = central_diff(lambda p: utils.mse(y, p), f)[0]
    assert rel_err(utils.mse_deriv(y, f), numeric) < 1e-7
    np.testing.assert_allclose(utils.mse_deriv(y, f), 2 * (f - y) / 10)


@pytest.mark.parametrize("shape", [(10,), (4, 10)])
def test_mse_deriv_divides_by_the_first_dimension_as_the_template_does(shape):
    y, f = np.zeros(shape), np.ones(shape)
    np.testing.assert_allclose(utils.mse_deriv(y, f), 2 / shape[0])
