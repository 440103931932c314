"""utils.py against closed forms and central finite differences (float64)."""

import math
import warnings

import numpy as np
import pytest

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


# --------------------------------------------------------------------------- sigmoid
def test_sigmoid_closed_form():
    x = np.array([-3.0, -0.5, 0.0, 0.5, 3.0])
    np.testing.assert_allclose(utils.sigmoid(x), [1 / (1 + math.exp(-v)) for v in x], rtol=1e-15)
    assert utils.sigmoid(0.0) == 0.5


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_extremes_no_overflow_no_warning(dtype):
    x = np.array([-1e4, -800, -100, 0, 100, 800, 1e4], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            s = utils.sigmoid(x)
            d = utils.sigmoid_deriv(x)
    assert s.dtype == dtype and d.dtype == dtype
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(d))
    assert s[0] == 0 and s[-1] == 1 and s[3] == 0.5
    assert np.all((s >= 0) & (s <= 1))
    # tiny values keep their relative accuracy instead of rounding to 0 too early
    np.testing.assert_allclose(utils.sigmoid(np.float64(-100)), math.exp(-100), rtol=1e-12)


def test_sigmoid_deriv_matches_finite_differences():
    x = RNG.normal(scale=3, size=7)
    numeric = np.diag(central_diff(utils.sigmoid, x))
    assert rel_err(utils.sigmoid_deriv(x), numeric) < 1e-8


def test_integer_input_is_promoted():
    assert utils.sigmoid(np.array([0, 1])).dtype == np.float64
    assert utils.softmax(np.array([1, 2, 3])).dtype == np.float64


# --------------------------------------------------------------------------- ReLU
def test_relu_and_subgradient_convention():
    x = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_array_equal(utils.relu(x), [0, 0, 3])
    np.testing.assert_array_equal(utils.relu_deriv(x), [0, 0, 1])  # 0 at the kink
    away = np.array([-1.3, 0.7, 2.2])
    assert rel_err(utils.relu_deriv(away), np.diag(central_diff(utils.relu, away))) < 1e-8


# --------------------------------------------------------------------------- softmax
def test_softmax_closed_form_single_and_batch():
    x = np.array([1.0, 2.0, 3.0])
    expected = np.exp(x) / np.exp(x).sum()
    np.testing.assert_allclose(utils.softmax(x), expected, rtol=1e-15)
    batch = RNG.normal(size=(5, 4))
    out = utils.softmax(batch)
    assert out.shape == (5, 4)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-15)
    for row_in, row_out in zip(batch, out):  # along the class axis, row by row
        np.testing.assert_allclose(row_out, np.exp(row_in) / np.exp(row_in).sum(), rtol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_stable_for_huge_inputs(dtype):
    x = np.array([[1e4, 1e4 - 1, -1e4], [-1e4, -1e4, -1e4]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = utils.softmax(x)
    assert out.dtype == dtype
    np.testing.assert_allclose(out[0], [1 / (1 + math.exp(-1)), math.exp(-1) / (1 + math.exp(-1)), 0], rtol=1e-6)
    np.testing.assert_allclose(out[1], [1 / 3] * 3, rtol=1e-6)


def test_softmax_jacobian_matches_finite_differences():
    x = RNG.normal(size=6)
    assert rel_err(utils.softmax_jacobian(x), central_diff(utils.softmax, x)) < 1e-7


def test_softmax_jacobian_rejects_batches():
    with pytest.raises(ValueError, match=r"\(k,\)"):
        utils.softmax_jacobian(np.zeros((2, 3)))


def test_softmax_backward_is_the_full_jacobian_product():
    x = RNG.normal(size=6)
    g = RNG.normal(size=6)
    f = utils.softmax(x)
    full = utils.softmax_jacobian(x).T @ g
    assert rel_err(utils.softmax_backward(f, g), full) < 1e-12
    # ... and the diagonal-only shortcut of the template is measurably wrong
    assert rel_err(utils.softmax_deriv(x) * g, full) > 1e-2


def test_softmax_backward_batch_is_row_wise():
    x = RNG.normal(size=(4, 5))
    g = RNG.normal(size=(4, 5))
    out = utils.softmax_backward(utils.softmax(x), g)
    for i in range(4):
        np.testing.assert_allclose(out[i], utils.softmax_jacobian(x[i]).T @ g[i], rtol=1e-12, atol=1e-15)


def test_softmax_deriv_is_the_jacobian_diagonal():
    x = RNG.normal(size=5)
    np.testing.assert_allclose(utils.softmax_deriv(x), np.diag(utils.softmax_jacobian(x)), rtol=1e-14)


# --------------------------------------------------------------------------- losses
def test_mse_course_definition():
    y = np.array([0.0, 1.0, 0.0, 0.0])
    p = np.array([0.1, 0.6, 0.2, 0.1])
    assert utils.mse(y, p) == pytest.approx((0.01 + 0.16 + 0.04 + 0.01) / 4, rel=1e-14)
    np.testing.assert_allclose(utils.mse_deriv(y, p), 2 * (p - y) / 4, rtol=1e-15)
    batch_y, batch_p = np.stack([y, y[::-1]]), np.stack([p, p])
    assert utils.mse(batch_y, batch_p) == pytest.approx(
        (utils.mse(batch_y[0], p) + utils.mse(batch_y[1], p)) / 2, rel=1e-14)


def test_mse_deriv_matches_finite_differences():
    y = np.eye(5)[2]
    p = RNG.random(5)
    numeric = central_diff(lambda q: np.array([utils.mse(y, q)]), p)[0]
    assert rel_err(utils.mse_deriv(y, p), numeric) < 1e-8


def test_cross_entropy_closed_form_and_derivative():
    y = np.eye(4)[[1, 3]]
    p = np.array([[0.1, 0.7, 0.1, 0.1], [0.25, 0.25, 0.25, 0.25]])
    assert utils.cross_entropy(y, p) == pytest.approx(-(math.log(0.7) + math.log(0.25)) / 2, rel=1e-14)
    numeric = central_diff(lambda q: np.array([utils.cross_entropy(y[0], q)]), p[0])[0]
    assert rel_err(utils.cross_entropy_deriv(y[0], p[0]), numeric) < 1e-7
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isfinite(utils.cross_entropy(y[0], np.array([1.0, 0.0, 0.0, 0.0])))


def test_cross_entropy_through_softmax_gives_f_minus_y():
    a = RNG.normal(size=(3, 6))
    y = np.eye(6)[[0, 4, 5]]
    f = utils.softmax(a)
    grad_a = utils.softmax_backward(f, utils.cross_entropy_deriv(y, f))
    np.testing.assert_allclose(grad_a, f - y, atol=1e-12)


def test_functions_do_not_modify_their_inputs():
    x = RNG.normal(size=(3, 4))
    keep = x.copy()
    for fn in (utils.sigmoid, utils.sigmoid_deriv, utils.relu, utils.relu_deriv, utils.softmax, utils.softmax_deriv):
        fn(x)
    utils.softmax_backward(utils.softmax(x), x)
    utils.mse(x, x + 1)
    np.testing.assert_array_equal(x, keep)
