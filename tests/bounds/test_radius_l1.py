"""ℓ1 and ℓ∞ routes: Laplace (PixelDP, Teng et al.), uniform noise (Yang et al. 2020), norm conversion.

References: the closed forms of REFERENCES.md §2 at 40 digits, brute-force norm ratios, Monte-Carlo-free
exact TV of uniform cubes.
"""
import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bounds.l1_radius import convert_radius, laplace_pixeldp_radius, teng_radius, uniform_radius

mp.mp.dps = 40


@given(scale=st.floats(0.01, 100), p_a=st.floats(0.5001, 0.9999), frac=st.floats(1e-4, 1.0))
def test_laplace_pixeldp_radius_is_half_b_log_ratio(scale, p_a, frac):
    p_b = (1 - p_a) * frac
    exact = mp.mpf(scale) / 2 * mp.log(mp.mpf(p_a) / mp.mpf(p_b))
    code = laplace_pixeldp_radius(scale, p_a, p_b)
    assert code <= exact
    assert code == pytest.approx(float(exact), rel=1e-12)


@given(scale=st.floats(0.01, 100), p_a=st.floats(0.5001, 0.9999))
def test_teng_radius_and_it_dominates_pixeldp_when_p_b_is_one_minus_p_a(scale, p_a):
    exact = -mp.mpf(scale) * mp.log(2 * (1 - mp.mpf(p_a)))
    code = teng_radius(scale, p_a)
    assert code <= exact and code == pytest.approx(float(exact), rel=1e-12)
    # -ln(2u) >= ½ ln((1 - u)/u) for u = 1 - p_A < ½, since 4u(1 - u) <= 1
    assert code >= laplace_pixeldp_radius(scale, p_a) * (1 - 1e-12)


def test_teng_radius_is_tight_in_one_dimension():
    # the half-line (-inf, t] of mass p_A under Lap(0, b) keeps mass exactly 1/2 after a shift by t = R
    scale, p_a = 0.7, 0.93
    radius = teng_radius(scale, p_a)

    def mass(shift):
        return mp.quad(lambda v: mp.exp(-abs(v - shift) / scale) / (2 * scale), [-mp.inf, shift, radius])

    assert mass(0) == pytest.approx(p_a, abs=1e-14)
    assert mass(radius) == pytest.approx(0.5, abs=1e-14)


@pytest.mark.parametrize("p_a", [0.6, 0.9, 0.99])
@pytest.mark.parametrize("dim", [1, 10, 3072])
def test_uniform_radii_are_yang_et_al_closed_forms(p_a, dim):
    lam = 0.5
    assert uniform_radius(lam, p_a) == pytest.approx(2 * lam * (p_a - 0.5), rel=1e-13)
    exact_inf = 2 * lam * (1 - (mp.mpf(3) / 2 - mp.mpf(p_a)) ** (mp.mpf(1) / dim))
    code = uniform_radius(lam, p_a, norm=math.inf, dim=dim)
    assert code <= exact_inf and code == pytest.approx(float(exact_inf), rel=1e-12)


@given(lam=st.floats(0.1, 5), p_a=st.floats(0.51, 0.99), dim=st.integers(1, 50), seed=st.integers(0, 2 ** 31))
def test_uniform_radius_keeps_the_total_variation_margin(lam, p_a, dim, seed):
    # exact TV of two cubes of side 2λ shifted by δ: 1 - Π(1 - |δ_i|/2λ); at any δ inside the certified ball
    # (ℓ1 or ℓ∞) it stays below the margin (p_A - p_B)/2 = p_A - 1/2
    rng = np.random.default_rng(seed)
    direction = rng.standard_normal(dim)
    for norm in (1, math.inf):
        radius = uniform_radius(lam, p_a, norm=norm, dim=dim)
        delta = direction / np.linalg.norm(direction, norm) * radius * 0.999
        tv = 1 - np.prod(1 - np.abs(delta) / (2 * lam))
        assert tv < p_a - 0.5


@given(dim=st.integers(1, 40), seed=st.integers(0, 2 ** 31))
def test_convert_radius_ball_inclusion_by_brute_force(dim, seed):
    # every δ with ‖δ‖_p < converted radius has ‖δ‖_q < R (Hölder), and the conversion is tight at 1 or e_1
    rng = np.random.default_rng(seed)
    vectors = np.vstack([rng.standard_normal((200, dim)), np.ones((1, dim)), np.eye(dim)[:1]])
    for q in (1, 2, math.inf):
        for p in (1, 2, math.inf):
            converted = convert_radius(1.0, q, p, dim)
            scaled = vectors / np.linalg.norm(vectors, p, axis=1, keepdims=True) * converted
            assert np.linalg.norm(scaled, q, axis=1).max() <= 1 + 1e-12
            assert np.linalg.norm(scaled, q, axis=1).max() >= 1 - 1e-12  # attained: no better factor exists


def test_convert_radius_known_factors():
    assert convert_radius(1.0, 2, math.inf, 100) == pytest.approx(0.1, rel=1e-14)  # ℓ2 → ℓ∞: /√d
    assert convert_radius(2.0, 2, 1) == 2.0  # a Gaussian ℓ2 radius is an ℓ1 radius
    assert convert_radius(1.0, 1, 2, 4) == pytest.approx(0.5, rel=1e-14)  # ℓ1 → ℓ2: /√d
    assert convert_radius(math.inf, 2, math.inf, 3) == math.inf
    assert convert_radius(0.0, 1, math.inf, 3) == 0.0


def test_l1_bad_input():
    with pytest.raises(ValueError, match="dim"):
        convert_radius(1.0, 2, math.inf)
    with pytest.raises(ValueError, match="dim"):
        uniform_radius(1.0, 0.9, norm=math.inf)
    with pytest.raises(ValueError, match="norm"):
        uniform_radius(1.0, 0.9, norm=2)
    with pytest.raises(ValueError, match="from_norm"):
        convert_radius(1.0, 3, 2)
    with pytest.raises(ValueError, match="radius"):
        convert_radius(-1.0, 2, 1)
    with pytest.raises(ValueError, match="scale"):
        teng_radius(0.0, 0.9)
    with pytest.raises(ValueError, match="p_b"):
        laplace_pixeldp_radius(1.0, 0.9, 0.2)
    assert teng_radius(1.0, 0.5) == 0.0 and laplace_pixeldp_radius(1.0, 0.4) == 0.0
    assert math.isinf(teng_radius(1.0, 1.0)) and math.isinf(laplace_pixeldp_radius(1.0, 0.5, 0.0))
