"""certified_radius / radius_from_noise / radii_from_noise: dispatch, units, auto, and bad input.

Independent references: REFERENCES.md §2 (analytic σ for (ε, δ) and Cohen's radius), closed forms.
"""
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bounds.radius import ROUTES, calibrated_noise, certified_radius, radii_from_noise, radius_from_noise

# REFERENCES.md §2: analytic σ for (ε, δ) at unit sensitivity
ANALYTIC_SIGMA = {(1.0, 1e-5): 3.730631634815942, (0.5, 1e-5): 7.031826675582491, (8.0, 1e-5): 0.6002290721989516}


@pytest.mark.parametrize("eps_delta", sorted(ANALYTIC_SIGMA))
def test_certified_radius_is_cohen_radius_of_the_analytic_sigma(eps_delta):
    sigma = ANALYTIC_SIGMA[eps_delta]
    # Φ⁻¹(0.9) at 30 digits (REFERENCES.md §2)
    assert certified_radius(*eps_delta, 1.0, 0.9) == pytest.approx(sigma * 1.28155156554460046696510332945, rel=1e-12)


@given(sensitivity=st.floats(0.01, 100), p_a=st.floats(0.55, 0.999))
def test_radius_is_in_units_of_sensitivity(sensitivity, p_a):
    # σ scales with Δ, and every route is linear in σ
    for route in ("gdp", "tv", "renyi"):
        assert certified_radius(1.0, 1e-5, sensitivity, p_a, route=route) == pytest.approx(
            sensitivity * certified_radius(1.0, 1e-5, 1.0, p_a, route=route), rel=1e-9)


def test_auto_is_gdp_for_gaussian_and_the_larger_laplace_route():
    radii = radii_from_noise(1.0, 0.9)
    assert radii["auto"] == radii["gdp"] == radius_from_noise(1.0, 0.9)
    assert set(radii) == set(ROUTES["gaussian"]) | {"auto"}
    laplace = radii_from_noise(1.0, 0.8, 0.01, norm=1)
    assert laplace["auto"] == max(laplace["pixeldp"], laplace["teng"])
    assert laplace["pixeldp"] > laplace["teng"]  # with a small p_B the pure-DP route wins: ½ ln 80 > -ln 0.4
    assert radius_from_noise(1.0, 0.8, 0.01, norm=1) == laplace["auto"]


def test_norm_one_uses_the_exact_laplace_scale():
    # b = Δ/(ε - 2 ln(1 - δ)); δ = 0 gives b = Δ/ε, and Teng's radius is -b ln(2(1 - p_A))
    assert certified_radius(0.5, 0.0, 2.0, 0.9, norm=1, route="teng") == pytest.approx(-4 * math.log(0.2), rel=1e-12)
    b = 1 / (1 - 2 * math.log1p(-0.01))
    radius = certified_radius(1.0, 0.01, 1.0, 0.9, norm=1, route="pixeldp")
    assert radius == pytest.approx(b / 2 * math.log(9), rel=1e-12)


def test_other_norms_convert_from_the_native_radius():
    l2 = radius_from_noise(1.0, 0.9)
    assert radius_from_noise(1.0, 0.9, norm=1, noise="gaussian") == l2  # ‖δ‖₂ <= ‖δ‖₁
    assert radius_from_noise(1.0, 0.9, norm=math.inf, noise="gaussian", dim=16) == pytest.approx(l2 / 4, rel=1e-13)
    # uniform noise in ℓ2: the better of ℓ1 → ℓ2 (÷√d) and ℓ∞ → ℓ2 (×1)
    l1 = radius_from_noise(1.0, 0.9, norm=1, noise="uniform")
    linf = radius_from_noise(1.0, 0.9, norm=math.inf, noise="uniform", dim=4)
    assert radius_from_noise(1.0, 0.9, norm=2, noise="uniform", dim=4) == pytest.approx(max(l1 / 2, linf), rel=1e-13)


def test_pixeldp_route_follows_the_calibration():
    # classical calibration: σ = sqrt(2 ln(1.25/δ))/ε and PixelDP on the classical curve; at (ε', δ') = (ε, δ)
    # the noise certifies distance Δ whenever p_A > e^{2ε} p_B + (1 + e^ε) δ, so the radius is at least Δ
    eps, delta, p_a = 0.5, 1e-5, 0.9
    assert 0.9 > math.exp(1.0) * 0.1 + (1 + math.exp(0.5)) * delta
    assert certified_radius(eps, delta, 1.0, p_a, route="pixeldp", calibration="classic") >= 1.0
    assert certified_radius(eps, delta, 1.0, p_a, route="pixeldp", calibration="extended") >= 1.0
    assert certified_radius(eps, delta, 1.0, p_a, route="pixeldp") >= 1.0


def test_nothing_certified_gives_zero():
    assert certified_radius(1.0, 1e-5, 1.0, 0.5) == 0.0
    assert certified_radius(1.0, 1e-5, 1.0, 0.3, 0.3, route="pixeldp") == 0.0
    assert certified_radius(1.0, 0.0, 1.0, 0.4, norm=1) == 0.0


@pytest.mark.parametrize("kwargs, exc, message", [
    (dict(p_a=1.5), ValueError, "p_a must be in"),
    (dict(p_a=-0.1), ValueError, "p_a must be in"),
    (dict(p_a=0.9, p_b=0.2), ValueError, "p_b must be in"),
    (dict(delta=1.0), ValueError, "delta must be in"),
    (dict(delta=-1e-3), ValueError, "delta must be in"),
    (dict(delta=0.0), ValueError, "delta must be in"),  # the Gaussian needs δ > 0
    (dict(eps=0.0), ValueError, "eps must be"),
    (dict(eps=-1.0), ValueError, "eps must be"),
    (dict(sensitivity=0.0), ValueError, "sensitivity must be"),
    (dict(route="lipschitz"), ValueError, "route"),
    (dict(route="teng"), ValueError, "route"),  # a Laplace route for Gaussian noise
    (dict(norm=3), ValueError, "norm"),
    (dict(calibration="magic"), ValueError, "calibration"),
    (dict(eps=1.0, calibration="classic"), ValueError, "eps must be in"),  # classical needs ε < 1
    (dict(norm=1, calibration="classic"), ValueError, "calibration"),
    (dict(p_a="0.9"), TypeError, "p_a must be a real number"),
    (dict(eps=float("nan")), ValueError, "eps must be a number"),
])
def test_bad_input_is_a_clear_error(kwargs, exc, message):
    args = dict(eps=0.5, delta=1e-5, sensitivity=1.0, p_a=0.9) | kwargs
    with pytest.raises(exc, match=message):
        certified_radius(args.pop("eps"), args.pop("delta"), args.pop("sensitivity"), args.pop("p_a"), **args)


def test_laplace_accepts_delta_zero_but_not_one():
    assert calibrated_noise(1.0, 0.0, 1.0, norm=1) == ("laplace", pytest.approx(1.0, rel=1e-15))
    with pytest.raises(ValueError, match="delta must be in"):
        certified_radius(1.0, 1.0, 1.0, 0.9, norm=1)


def test_radius_from_noise_bad_input():
    with pytest.raises(ValueError, match="sigma"):
        radius_from_noise(0.0, 0.9)
    with pytest.raises(ValueError, match="noise must be named"):
        radius_from_noise(1.0, 0.9, norm=math.inf)
    with pytest.raises(ValueError, match="noise"):
        radius_from_noise(1.0, 0.9, noise="cauchy")
    with pytest.raises(ValueError, match="dim"):
        radius_from_noise(1.0, 0.9, norm=math.inf, noise="gaussian")
