"""RDP conversions (closed forms, REFERENCES §1), calibration and the per-step trajectory."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import privrobust
from bounds.accountant import dpsgd_epsilon
from bounds.gdp import clt_epsilon
from bounds.rdp import convert, rdp_epsilon
from mechanisms import Gaussian, dpsgd


@pytest.mark.parametrize("sigma,expected", [(1, 5.298525912188081), (2, 2.5242629560940406),
                                            (0.5, 11.597051824376162)])
def test_standard_conversion_closed_form_for_gaussian(sigma, expected):
    """ε = 1/(2σ²) + sqrt(2 ln(1/δ))/σ at δ = 1e-5 (REFERENCES §1)."""
    assert rdp_epsilon(Gaussian(sigma), 1e-5, "standard").epsilon == pytest.approx(expected, rel=1e-10)


def test_improved_conversion_on_integer_orders():
    """Constant RDP 1.1 on orders 2..32, δ = 1e-5 -> 1.327838061755436 at α = 32 (REFERENCES §1)."""
    alphas = np.arange(2, 33, dtype=float)
    values = convert(np.full(alphas.size, 1.1), alphas, 1e-5, "improved")
    assert values.min() == pytest.approx(1.327838061755436, rel=1e-13)
    assert alphas[values.argmin()] == 32


@given(st.floats(0.3, 10.0), st.floats(1.001, 500.0), st.floats(1e-12, 0.5))
def test_improved_never_above_standard(rdp, alpha, delta):
    assert convert(rdp, alpha, delta, "improved") <= convert(rdp, alpha, delta, "standard") + 1e-12


@pytest.mark.parametrize("sigma,q,steps", [(1.1, 256 / 60000, 14062), (2.0, 0.1, 1000)])
def test_rdp_is_an_upper_bound_looser_than_the_bracket(sigma, q, steps):
    r = dpsgd_epsilon(sigma, q, steps, 1e-5)
    rdp = rdp_epsilon(dpsgd(sigma, q, steps), 1e-5).epsilon
    assert rdp >= r.lower
    assert rdp > r.upper                      # REFERENCES: RDP is 8-16% above the certified value


def test_clt_is_labelled_an_approximation():
    approx = clt_epsilon(1.1, 256 / 60000, 14062, 1e-5)
    assert approx.is_bound is False and "approximation" in approx.method
    assert approx.epsilon < 2.3715           # REFERENCES: the CLT is below the certified lower bound here


def test_calibration_reference_point():
    """ε = 1, δ = 1e-5, q = 0.004, T = 1e4: tight σ* = 1.659475 (REFERENCES §1)."""
    sigma = privrobust.calibrate_noise(1.0, 1e-5, 0.004, 10_000)
    assert abs(sigma / 1.659475 - 1) <= 1e-4
    assert dpsgd_epsilon(sigma, 0.004, 10_000, 1e-5).upper <= 1.0


def test_calibrate_steps_and_rate_meet_the_target():
    steps = privrobust.calibrate_steps(1.0, 1e-5, 1.5, 0.01)
    assert dpsgd_epsilon(1.5, 0.01, steps, 1e-5).upper <= 1.0 < dpsgd_epsilon(1.5, 0.01, steps + 1, 1e-5).upper
    q = privrobust.calibrate_sample_rate(1.0, 1e-5, 1.5, 500)
    assert dpsgd_epsilon(1.5, q, 500, 1e-5).upper <= 1.0 < dpsgd_epsilon(1.5, q * 1.001, 500, 1e-5).upper


def test_trajectory_brackets_every_step():
    tr = privrobust.epsilon_trajectory(1.0, 0.01, 300, 1e-5, checkpoints=[1, 10, 100])
    assert tr.checkpoints == (1, 10, 100, 300)
    assert np.all(tr.lower <= tr.upper) and np.all(np.diff(tr.lower) >= 0) and np.all(np.diff(tr.upper) >= 0)
    for step in (10, 37, 300):
        b = dpsgd_epsilon(1.0, 0.01, step, 1e-5)
        assert tr.lower[step - 1] <= b.upper and b.lower <= tr.upper[step - 1]
    rdp_50 = rdp_epsilon(dpsgd(1.0, 0.01, 50), 1e-5).epsilon
    assert tr.upper[49] <= rdp_50 * (1 + 1e-3)


@pytest.mark.parametrize("call,match", [
    (lambda: rdp_epsilon(Gaussian(1.0), 1.5), "delta"),
    (lambda: rdp_epsilon(Gaussian(1.0), 1e-5, "best"), "conversion"),
    (lambda: convert(1.0, 1.0, 1e-5), "alpha"),
    (lambda: privrobust.calibrate_noise(-1.0, 1e-5, 0.01, 100), "epsilon"),
    (lambda: privrobust.calibrate_noise(1.0, 1e-5, 0.01, 0), "steps"),
    (lambda: privrobust.calibrate_noise(1.0, 1e-5, 2.0, 100), "sample_rate"),
    (lambda: privrobust.epsilon_trajectory(1.0, 0.01, 10, 1e-5, checkpoints=[20]), "checkpoints")])
def test_bad_input_names_the_parameter(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
