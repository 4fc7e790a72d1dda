"""ℓ2 routes of Gaussian noise: gdp (Cohen), renyi (Li et al.), tv, pixeldp (Lecuyer et al.).

References: closed forms at 40 digits (mpmath), REFERENCES.md §2 values, exact linear classifiers.
"""
import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from bounds.gaussian_radius import gdp_radius, tv_radius
from bounds.pixeldp_radius import pixeldp_condition, pixeldp_radius
from bounds.renyi_radius import renyi_radius

mp.mp.dps = 40

# REFERENCES.md §2: Φ⁻¹ at 30 digits
PHI_INV = {0.6: "0.253347103135799798798196181424", 0.9: "1.28155156554460046696510332945",
           0.99: "2.32634787404084110088560616335", 0.999: "3.09023230616781354154039983011"}
# REFERENCES.md §2: σ = 1, p_B = 1 - p_A: Cohen / Li / PixelDP (classical calibration)
REFERENCE_RADII = {0.6: (0.2533, 0.2022, 0.0592), 0.8: (0.8416, 0.6742, 0.2352),
                   0.9: (1.2816, 1.0319, 0.3903), 0.99: (2.3263, 1.9080, 0.5549)}

probabilities = st.floats(0.5001, 0.9999)


def exact_gdp(sigma, p_a, p_b):
    phi_inv = lambda p: mp.sqrt(2) * mp.erfinv(2 * mp.mpf(p) - 1)  # noqa: E731
    return mp.mpf(sigma) / 2 * (phi_inv(p_a) - phi_inv(p_b))


@pytest.mark.parametrize("p_a", sorted(PHI_INV))
def test_cohen_closed_form_matches_reference_inverse_cdf(p_a):
    # p_B = 1 - p_A: R = σΦ⁻¹(p_A); the code computes σ/2 (Φ⁻¹(p_A) - Φ⁻¹(1 - p_A)) from float 1 - p_A,
    # which differs from the REFERENCES value by at most the rounding of 1 - p_A (< 1e-16 absolute)
    sigma = 0.75
    assert gdp_radius(sigma, p_a) == pytest.approx(sigma * float(mp.mpf(PHI_INV[p_a])), rel=1e-12, abs=0)


@given(sigma=st.floats(0.01, 100), p_a=probabilities, frac=st.floats(0.0001, 1.0))
def test_gdp_never_above_mpmath_and_within_1e12(sigma, p_a, frac):
    p_b = (1 - p_a) * frac
    exact = exact_gdp(sigma, p_a, p_b)
    code = gdp_radius(sigma, p_a, p_b)
    assert code <= exact
    assert code == pytest.approx(float(exact), rel=1e-12)


@given(sigma=st.floats(0.01, 100), p_a=probabilities, frac=st.floats(0.0, 1.0))
def test_tv_never_above_mpmath(sigma, p_a, frac):
    # 2σΦ⁻¹(1/2 + g/4) = 2σ√2 erfinv(g/2), g = p_A - p_B
    p_b = (1 - p_a) * frac
    exact = 2 * mp.mpf(sigma) * mp.sqrt(2) * mp.erfinv((mp.mpf(p_a) - mp.mpf(p_b)) / 2)
    code = tv_radius(sigma, p_a, p_b)
    assert code <= exact
    assert code == pytest.approx(float(exact), rel=1e-11)


@given(sigma=st.floats(0.01, 10), scale=st.floats(0.1, 10), p_a=probabilities)
def test_gdp_is_linear_in_sigma(sigma, scale, p_a):
    assert gdp_radius(sigma * scale, p_a) == pytest.approx(scale * gdp_radius(sigma, p_a), rel=1e-13)


@given(p_a=st.floats(0.3, 0.99), step=st.floats(1e-4, 0.05), p_b=st.floats(1e-3, 0.29))
def test_gdp_increases_in_p_a_and_decreases_in_p_b(p_a, step, p_b):
    assume(p_a + step + p_b <= 1 and p_a > p_b)
    assert gdp_radius(1.0, p_a + step, p_b) > gdp_radius(1.0, p_a, p_b)
    assert gdp_radius(1.0, p_a + step, p_b) > gdp_radius(1.0, p_a + step, min(p_b + step, 1 - p_a - step))


@pytest.mark.parametrize("route", [gdp_radius, renyi_radius, tv_radius, pixeldp_radius])
@pytest.mark.parametrize("p", [0.5, 0.3, 0.1])
def test_every_route_is_zero_when_p_a_equals_p_b(route, p):
    assert route(1.0, p, p) == 0.0
    assert route(1.0, 0.45) == 0.0  # p_A below 1/2 with p_B = 1 - p_A


@given(w=st.lists(st.floats(-3, 3), min_size=2, max_size=6), bias=st.floats(-2, 2),
       seed=st.integers(0, 2 ** 31), sigma=st.floats(0.1, 3))
def test_linear_classifier_radius_is_its_distance_to_the_boundary(w, bias, seed, sigma):
    # f(x) = 1[wᵀx + b >= 0] smoothed by N(0, σ²I) is f itself with p_A = Φ(|wᵀx + b|/(σ‖w‖)) (Cohen Thm. 2)
    w = np.asarray(w)
    assume(np.linalg.norm(w) > 0.1)
    x = np.random.default_rng(seed).standard_normal(w.size)
    margin = float(w @ x + bias)
    distance = abs(margin) / float(np.linalg.norm(w))
    assume(1e-3 < distance / sigma < 4)  # beyond, rounding p_A to float64 costs > 1e-9 relative
    p_a = float(mp.ncdf(mp.mpf(distance) / sigma))
    assert gdp_radius(sigma, p_a) == pytest.approx(distance, rel=1e-9)


@pytest.mark.parametrize("p_a", sorted(REFERENCE_RADII))
def test_reference_values_gdp_renyi_pixeldp_classic(p_a):
    cohen, li, pixel = REFERENCE_RADII[p_a]
    assert gdp_radius(1.0, p_a) == pytest.approx(cohen, abs=5e-5)
    assert renyi_radius(1.0, p_a) == pytest.approx(li, abs=5e-5)
    assert pixeldp_radius(1.0, p_a, calibration="classic") == pytest.approx(pixel, abs=5e-5)


def test_reference_values_two_classes_and_high_p_a():
    # REFERENCES.md §2: p_A = 0.8, p_B = 0.1: 1.0616 / 0.9125 / 0.3615; p_A = 0.999: pixeldp (exact curve)
    # 1.4198σ vs TV 1.3458σ (the supremum is 1.41985007 by proofs/pixeldp_condition.py's mpmath search, so
    # REFERENCES' 1.4198 is truncated: tolerance 1e-4 there)
    assert gdp_radius(1.0, 0.8, 0.1) == pytest.approx(1.0616, abs=5e-5)
    assert renyi_radius(1.0, 0.8, 0.1) == pytest.approx(0.9125, abs=5e-5)
    assert pixeldp_radius(1.0, 0.8, 0.1, calibration="classic") == pytest.approx(0.3615, abs=5e-5)
    assert pixeldp_radius(1.0, 0.999) == pytest.approx(1.4198, abs=1e-4)
    assert tv_radius(1.0, 0.999) == pytest.approx(1.3458, abs=5e-5)


def test_pixeldp_classical_supremum_is_0_5704690830_sigma():
    # REFERENCES.md §2 / Cohen et al. App. I: σ / sqrt(2 ln(1.25(1 + e)))
    sup = float(1 / mp.sqrt(2 * mp.log(mp.mpf("1.25") * (1 + mp.e))))
    assert sup == pytest.approx(0.5704690830, abs=5e-11)
    for sigma in (0.5, 1.0, 4.0):
        assert pixeldp_radius(sigma, 1.0, calibration="classic") == pytest.approx(sup * sigma, rel=1e-12)
        assert pixeldp_radius(sigma, 1 - 1e-12, calibration="classic") <= sup * sigma
    assert pixeldp_radius(1.0, 0.99999, calibration="classic") < sup


def test_tv_saturates_at_2_sigma_phi_inv_three_quarters():
    assert tv_radius(2.0, 1.0) == pytest.approx(4 * float(mp.sqrt(2) * mp.erfinv(mp.mpf(1) / 2)), rel=1e-14)
    assert tv_radius(1.0, 1.0) == pytest.approx(1.349, abs=5e-4)


@given(p_a=st.floats(0.5001, 0.99999), frac=st.floats(0.0, 1.0), sigma=st.floats(0.1, 10))
def test_ordering_every_route_at_most_gdp(p_a, frac, sigma):
    """Cohen's radius is tight (Thm. 2): no sound route exceeds it (proofs/radius_ordering.py)."""
    p_b = (1 - p_a) * frac
    gdp = gdp_radius(sigma, p_a, p_b)
    assert renyi_radius(sigma, p_a, p_b) <= gdp
    assert tv_radius(sigma, p_a, p_b) <= gdp
    for calibration in ("analytic", "classic", "extended"):
        assert pixeldp_radius(sigma, p_a, p_b, calibration=calibration) <= gdp


@given(p_a=st.floats(0.5001, 0.99999), frac=st.floats(0.0, 1.0))
def test_ordering_pixeldp_classic_below_tv_and_exact_curve_above(p_a, frac):
    p_b = (1 - p_a) * frac
    tv = tv_radius(1.0, p_a, p_b)
    assert pixeldp_radius(1.0, p_a, p_b, calibration="classic") <= tv
    # ε' = 0 on the exact curve is the TV margin, so the supremum is at least the TV radius
    assert pixeldp_radius(1.0, p_a, p_b) >= tv * (1 - 1e-12)


@given(p_a=st.floats(0.5001, 0.9999), frac=st.floats(0.01, 1.0))
@example(p_a=0.5078125, frac=1.0)  # float noise near α = 1 once misled the order search here
def test_renyi_never_above_its_exact_value_at_the_order_used(p_a, frac):
    # the radius is sup over α: every α gives a sound radius, so the code's value must not exceed the mpmath
    # supremum; check against a dense mpmath grid of α (a lower estimate of the supremum) from the other side
    p_b = (1 - p_a) * frac
    pa, pb = mp.mpf(p_a), mp.mpf(p_b)

    def radius(alpha):
        mean = ((pa ** (1 - alpha) + pb ** (1 - alpha)) / 2) ** (1 / (1 - alpha))
        return mp.sqrt(-2 / alpha * mp.log(1 - pa - pb + 2 * mean))

    grid_best = max(radius(1 + mp.exp(t)) for t in np.linspace(-8, 8, 161))
    code = renyi_radius(1.0, p_a, p_b)
    assert code >= grid_best * (1 - 1e-9)
    assert code <= gdp_radius(1.0, p_a, p_b)


def test_pixeldp_condition_direct():
    # p_A > e^{2ε} p_B + (1 + e^ε) δ
    assert pixeldp_condition(0.9, 0.05, 0.5, 0.01)  # 0.05 e + 2.65 · 0.01 = 0.162 < 0.9
    assert not pixeldp_condition(0.6, 0.3, 0.5, 0.0)  # 0.3 e = 0.815 > 0.6
    assert not pixeldp_condition(0.9, 0.1, 0.0, 0.4)  # 0.1 + 2 · 0.4 = 0.9, not strictly below
    with pytest.raises(ValueError, match="eps"):
        pixeldp_condition(0.9, 0.1, -0.1, 0.0)


def test_p_a_one_gives_infinite_gdp_and_renyi_and_finite_tv_and_pixeldp():
    # p_A = 1, p_B = 0: Φ⁻¹(1) = ∞ and Li's bound is -ln 0; TV saturates; PixelDP's search stops at ε' = 64
    assert math.isinf(gdp_radius(1.0, 1.0)) and math.isinf(renyi_radius(1.0, 1.0))
    assert math.isinf(gdp_radius(1.0, 0.7, 0.0))  # p_B = 0 alone makes the Cohen radius infinite
    # the supremum is the limit α → 1; the search stops at α = 1 + e^-20 (an under-report of ~1e-9)
    assert renyi_radius(1.0, 0.7, 0.0) == pytest.approx(math.sqrt(-2 * math.log(0.3)), rel=1e-8)
    assert math.isfinite(pixeldp_radius(1.0, 1.0)) and pixeldp_radius(1.0, 1.0) > tv_radius(1.0, 1.0)
