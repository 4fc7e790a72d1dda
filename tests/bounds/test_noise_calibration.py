"""Noise calibration: classical, extended (Phan et al. 2019), analytic Gaussian, Laplace.

References: REFERENCES.md §2 σ values (analytic to 1e-12 from the 50-digit mpmath column), the exact
privacy profiles in mechanisms (the σ returned must satisfy them, and no smaller σ may).
"""
import math

import mpmath as mp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bounds.noise_calibration import (analytic_mu, analytic_sigma, calibrate_sigma, classical_sigma,
                                      extended_sigma, laplace_scale)
from mechanisms import Gaussian, Laplace

# REFERENCES.md §1 (mpmath): (ε, δ) → analytic σ per unit sensitivity
ANALYTIC = {(1.0, 1e-5): 3.730631634815942, (1.0, 1e-6): 4.224678889326835, (0.5, 1e-5): 7.031826675582491,
            (8.0, 1e-5): 0.6002290721989516}
# REFERENCES.md §2 table at δ = 1e-5: ε → (classical, extended EGM, analytic), 4 decimals
TABLE = {0.5: (9.6896, 9.6066, 7.0318), 1.0: (4.8448, 4.8542, 3.7306), 4.0: (1.2112, 1.2851, 1.0812)}


@pytest.mark.parametrize("eps_delta", sorted(ANALYTIC))
def test_analytic_sigma_matches_reference_to_1e12(eps_delta):
    sigma = analytic_sigma(*eps_delta)
    assert sigma == pytest.approx(ANALYTIC[eps_delta], rel=1e-12)
    assert sigma >= ANALYTIC[eps_delta] * (1 - 1e-15)  # rounded up, never below the exact value


@pytest.mark.parametrize("eps", sorted(TABLE))
def test_reference_table_at_delta_1e5(eps):
    classic, extended, analytic = TABLE[eps]
    assert extended_sigma(eps, 1e-5) == pytest.approx(extended, abs=5e-5)
    assert analytic_sigma(eps, 1e-5) == pytest.approx(analytic, abs=5e-5)
    if eps < 1:
        assert classical_sigma(eps, 1e-5) == pytest.approx(classic, abs=5e-5)
    else:  # REFERENCES tabulates the formula at ε >= 1, where it is no theorem: the code refuses it
        assert math.sqrt(2 * math.log(1.25e5)) / eps == pytest.approx(classic, abs=5e-5)
        with pytest.raises(ValueError, match="eps must be in"):
            classical_sigma(eps, 1e-5)


def test_classical_formula_under_noises_at_large_eps():
    # REFERENCES.md §2: at ε = 8, δ = 0.05 the formula gives 0.3172 but the exact requirement is 0.3501
    formula = math.sqrt(2 * math.log(1.25 / 0.05)) / 8
    assert formula == pytest.approx(0.3172, abs=5e-5)
    assert Gaussian(formula).delta(8.0) > 0.05
    assert analytic_sigma(8.0, 0.05) == pytest.approx(0.3501, abs=5e-5)
    assert analytic_sigma(1.0, 0.05) == pytest.approx(1.3328, abs=5e-5)  # and classical 2.5373 (refused at ε = 1)


@given(eps=st.floats(0.01, 50), log_delta=st.floats(-30, -0.7), sensitivity=st.floats(0.01, 100))
def test_analytic_sigma_is_the_least_sigma_meeting_the_exact_profile(eps, log_delta, sensitivity):
    delta = math.exp(log_delta)
    sigma = analytic_sigma(eps, delta, sensitivity)
    assert Gaussian(sigma, sensitivity).delta(eps) <= delta
    assert Gaussian(sigma * (1 - 1e-9), sensitivity).delta(eps) > delta  # minimal to 1e-9


@given(eps=st.floats(0.001, 100), log_delta=st.floats(-200, math.log(0.79)))
def test_extended_mechanism_is_sound_against_the_exact_profile(eps, log_delta):
    # Phan et al. claim (ε, δ)-DP for every ε > 0: check against the exact Gaussian profile
    delta = math.exp(log_delta)
    assert Gaussian(extended_sigma(eps, delta)).delta(eps) <= delta * (1 + 1e-12)
    assert extended_sigma(eps, delta) >= analytic_sigma(eps, delta) * (1 - 1e-12)


@given(eps=st.floats(0.001, 0.999), log_delta=st.floats(-200, -0.01))
def test_classical_calibration_is_sound_below_eps_one(eps, log_delta):
    delta = math.exp(log_delta)
    assert Gaussian(classical_sigma(eps, delta)).delta(eps) <= delta


@given(eps=st.floats(0.01, 20), delta=st.floats(0.0, 0.99), sensitivity=st.floats(0.01, 10))
def test_laplace_scale_is_the_least_scale_meeting_the_exact_profile(eps, delta, sensitivity):
    scale = laplace_scale(eps, delta, sensitivity)
    assert Laplace(scale, sensitivity).delta(eps) <= delta
    assert Laplace(scale * (1 - 1e-9), sensitivity).delta(eps) > delta


@given(eps=st.floats(0.001, 0.999), log_delta=st.floats(-200, -0.01), sensitivity=st.floats(0.01, 100))
def test_classical_sigma_is_the_formula_rounded_up(eps, log_delta, sensitivity):
    # the closed form at 30 digits: the code returns the least float above it
    delta = math.exp(log_delta)
    with mp.workdps(30):
        exact = mp.mpf(sensitivity) * mp.sqrt(2 * mp.log(mp.mpf("1.25") / mp.mpf(delta))) / eps
        code = classical_sigma(eps, delta, sensitivity)
        assert code >= exact and float(mp.mpf(code) / exact - 1) < 3e-16


@given(eps=st.floats(0.001, 100), delta=st.floats(1e-300, 0.7978845608028653), sensitivity=st.floats(0.01, 100))
def test_extended_sigma_is_phans_formula_rounded_up(eps, delta, sensitivity):
    # including δ right below √(2/π), where s = ln(√(2/π)/δ) cancels in float64
    with mp.workdps(30):
        s = mp.log(mp.sqrt(2 / mp.pi) / mp.mpf(delta))
        exact = mp.sqrt(2) * mp.mpf(sensitivity) / (2 * eps) * (mp.sqrt(s) + mp.sqrt(s + eps))
        code = extended_sigma(eps, delta, sensitivity)
        assert code >= exact and float(mp.mpf(code) / exact - 1) < 3e-16


@given(eps=st.floats(0.01, 20), delta=st.floats(0.0, 0.99), sensitivity=st.floats(0.01, 10))
def test_laplace_scale_is_never_below_the_closed_form(eps, delta, sensitivity):
    with mp.workdps(30):
        exact = mp.mpf(sensitivity) / (eps - 2 * mp.log1p(-mp.mpf(delta)))
        assert laplace_scale(eps, delta, sensitivity) >= exact


def test_exact_values_are_not_rounded_away():
    assert laplace_scale(1.0, 0.0) == 1.0 and laplace_scale(0.5, 0.0, 2.0) == 4.0  # b = Δ/ε exactly


def test_analytic_mu_at_eps_zero_is_total_variation():
    # δ_μ(0) = 2Φ(μ/2) - 1: TV 0.2 ⇔ μ = 2Φ⁻¹(0.6) = 2 · 0.2533471031357998 (REFERENCES Φ⁻¹(0.6))
    assert analytic_mu(0.0, 0.2) == pytest.approx(2 * 0.253347103135799798798196181424, rel=1e-12)


@given(eps=st.floats(0.05, 10), d1=st.floats(1e-12, 0.3), d2=st.floats(1e-12, 0.3))
def test_analytic_sigma_is_monotone(eps, d1, d2):
    lo, hi = sorted((d1, d2))
    assert analytic_sigma(eps, hi) <= analytic_sigma(eps, lo)
    assert analytic_sigma(eps * 1.5, lo) <= analytic_sigma(eps, lo)


@pytest.mark.parametrize("call, message", [
    (lambda: classical_sigma(1.0, 1e-5), "eps must be in"),
    (lambda: classical_sigma(0.5, 0.0), "delta must be in"),
    (lambda: extended_sigma(1.0, 0.8), "delta must be in"),
    (lambda: analytic_sigma(0.0, 1e-5), "eps must be"),
    (lambda: analytic_sigma(1.0, 1.0), "delta must be in"),
    (lambda: analytic_sigma(1.0, 1e-5, -1.0), "sensitivity must be"),
    (lambda: analytic_mu(-0.1, 1e-5), "eps must be >= 0"),
    (lambda: laplace_scale(1.0, 1.0), "delta must be in"),
    (lambda: calibrate_sigma(1.0, 1e-5, 1.0, "fast"), "calibration"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
