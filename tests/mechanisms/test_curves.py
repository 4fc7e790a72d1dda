"""Exact privacy curves of mechanisms/ against REFERENCES §1 (mpmath values), closed forms and mpmath."""
import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mechanisms import (Composition, Gaussian, Laplace, PoissonSampled, RandomizedResponse,
                        SampledWithoutReplacement, self_compose)

SUBSAMPLED_RDP = [  # (q, σ, α) -> ε(α), REFERENCES §1 (mpmath, 50 digits)
    (0.01, 1, 2, 0.00017181342207454794), (0.01, 1, 10, 0.03827041889494848),
    (0.01, 0.25, 2, 6.790784234628704), (0.1, 2, 8, 0.013725430103219919),
    (0.004, 1.1, 32, 7.523567937414425), (0.01, 1, 1.5, 0.00012725374332744983),
    (0.01, 1, 2.5, 0.00021757533228188047), (0.001, 0.8, 12.5, 2.2572124173510644),
    (0.1, 2, 5.5, 0.008647229350964068)]


@pytest.mark.parametrize("q,sigma,alpha,expected", SUBSAMPLED_RDP)
def test_subsampled_gaussian_rdp_matches_mpmath(q, sigma, alpha, expected):
    assert PoissonSampled(Gaussian(sigma), q).rdp(alpha) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("b,alpha,expected", [(1, 2, 0.6191236299985928), (1, 10, 0.9286829020966803),
                                              (0.5, 1.5, 1.4368091584145994), (2, 32, 0.47814842504542626)])
def test_laplace_rdp_matches_reference(b, alpha, expected):
    assert Laplace(b).rdp(alpha) == pytest.approx(expected, rel=1e-12)


def test_laplace_rdp_limits():
    b = 0.7
    assert Laplace(b).rdp(1.0) == pytest.approx(1 / b + math.exp(-1 / b) - 1, rel=1e-9)
    assert Laplace(b).rdp(math.inf) == pytest.approx(1 / b, rel=1e-12)


@pytest.mark.parametrize("sigma,eps,expected", [(1, 0.5, 0.23842170813487662), (1, 1, 0.12693673750664394),
                                                (1, 2, 0.020923635821113732), (2, 1, 0.0068295949831145755),
                                                (5, 0.1, 0.04148168846071832)])
def test_analytic_gaussian_delta(sigma, eps, expected):
    assert Gaussian(sigma).delta(eps) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("sigma,expected", [(1, 4.3771780956812245), (2, 1.9930914044151196),
                                            (0.5, 9.9972561464343)])
def test_analytic_gaussian_epsilon(sigma, expected):
    assert Gaussian(sigma).epsilon(1e-5) == pytest.approx(expected, rel=1e-11)


@pytest.mark.parametrize("sigma,q,eps,expected", [(1, 0.01, 0.05, 3.110653954432247e-4),
                                                  (0.5, 0.2, 1, 0.05784040599751151),
                                                  (2, 0.1, 0.02, 0.013054845530839684),
                                                  (0.8, 0.001, 0.001, 2.8984345518554553e-4)])
def test_one_step_subsampled_profile(sigma, q, eps, expected):
    assert PoissonSampled(Gaussian(sigma), q).delta(eps) == pytest.approx(expected, rel=1e-10)


def test_add_direction_of_subsampled_profile():
    """REFERENCES: (σ, q, ε) = (2, 0.1, 0.02), the add direction alone is 0.009739900148362544."""
    reverse = PoissonSampled(Gaussian(2.0), 0.1).directions()["reverse"][0][0]
    assert reverse.delta(0.02) == pytest.approx(0.009739900148362544, rel=1e-10)


def test_randomized_response_is_pure_dp():
    rr = RandomizedResponse(1.3)
    assert rr.delta(1.3) == pytest.approx(0.0, abs=1e-15)
    # δ(ε) at ε = 0 is the total variation e^ε0 / (e^ε0 + 1) - 1 / (e^ε0 + 1)
    assert rr.delta(0.0) == pytest.approx(math.tanh(1.3 / 2), rel=1e-12)
    assert rr.rdp(math.inf) == pytest.approx(1.3, rel=1e-12)


def test_without_replacement_rdp_is_at_least_poisson_at_the_same_rate():
    """Replace-one is a stronger neighbour relation than add/remove: its curve can only be larger."""
    poisson = PoissonSampled(Gaussian(1.0), 0.05)
    swor = SampledWithoutReplacement(Gaussian(1.0, relation="replace_one"), 0.05)
    for alpha in (2.0, 4.0, 8.5):
        assert swor.rdp(alpha) >= poisson.rdp(alpha) - 1e-15


@given(st.floats(0.3, 5.0), st.floats(1.01, 60.0))
def test_gaussian_rdp_closed_form(sigma, alpha):
    assert Gaussian(sigma).rdp(alpha) == pytest.approx(alpha / (2 * sigma ** 2), rel=1e-12)


@given(st.floats(0.5, 3.0), st.integers(1, 50))
def test_t_gaussians_equal_one_with_sigma_over_root_t(sigma, steps):
    composed = self_compose(Gaussian(sigma), steps)
    single = Gaussian(sigma / math.sqrt(steps))
    assert composed.epsilon(1e-5) == pytest.approx(single.epsilon(1e-5), rel=1e-10)
    assert composed.rdp(3.0) == pytest.approx(single.rdp(3.0), rel=1e-12)


@given(st.floats(0.5, 3.0), st.floats(0.0, 3.0))
def test_rate_one_subsampling_is_the_gaussian(sigma, eps):
    assert PoissonSampled(Gaussian(sigma), 1.0).delta(eps) == pytest.approx(Gaussian(sigma).delta(eps),
                                                                            rel=1e-9, abs=1e-15)


@given(st.floats(0.5, 3.0), st.floats(0.001, 0.5))
def test_rdp_monotone_and_log_moment_convex_in_alpha(sigma, q):
    mech = PoissonSampled(Gaussian(sigma), q)
    alphas = np.linspace(1.5, 12.0, 15)
    rdp = mech.rdp(alphas)
    assert np.all(np.diff(rdp) >= -1e-12 * rdp[1:])
    moment = (alphas - 1) * rdp                     # (α-1)ε(α) is convex (Van Erven & Harremoës 2014)
    assert np.all(np.diff(moment, 2) >= -1e-9 * moment[2:])


@given(st.floats(0.5, 3.0), st.floats(0.001, 0.3), st.floats(1e-9, 0.2))
def test_profile_inverts(sigma, q, delta):
    mech = PoissonSampled(Gaussian(sigma), q)
    eps = mech.epsilon(delta)
    if eps > 0:
        assert mech.delta(eps) == pytest.approx(delta, rel=1e-8)


def test_heterogeneous_composition_rdp_adds():
    total = Composition(((Gaussian(1.0), 2), (PoissonSampled(Gaussian(2.0), 0.1), 3), (Laplace(1.5), 1)))
    expected = 2 * 4.0 / 2 + 3 * PoissonSampled(Gaussian(2.0), 0.1).rdp(4.0) + Laplace(1.5).rdp(4.0)
    assert total.rdp(4.0) == pytest.approx(expected, rel=1e-12)


def test_subsampled_rdp_against_mpmath_integral():
    """Real α from the integral A_α = E_{z~N(0,σ²)}[((1-q) + q e^{(2z-1)/(2σ²)})^α] at 40 digits."""
    mp.mp.dps = 40
    q, sigma, alpha = 0.03, 0.9, 3.7
    f = lambda z: mp.npdf(z, 0, sigma) * ((1 - q) + q * mp.exp((2 * z - 1) / (2 * sigma ** 2))) ** alpha
    ref = mp.log(mp.quad(f, [-mp.inf, 0, 1, mp.inf])) / (alpha - 1)
    assert PoissonSampled(Gaussian(sigma), q).rdp(alpha) == pytest.approx(float(ref), rel=1e-10)


@pytest.mark.parametrize("make,match", [
    (lambda: Gaussian(0.0), "sigma"), (lambda: Gaussian(float("nan")), "sigma"),
    (lambda: Laplace(-1.0), "scale"), (lambda: PoissonSampled(Gaussian(1.0), 1.5), "rate"),
    (lambda: PoissonSampled(Gaussian(1.0), 0.0), "rate"), (lambda: Gaussian(1.0).rdp(0.5), "alpha"),
    (lambda: Gaussian(1.0).epsilon(1.0), "delta"), (lambda: Gaussian(1.0).epsilon(0.0), "delta"),
    (lambda: self_compose(Gaussian(1.0), -1), "count"),
    (lambda: Gaussian(1.0, relation="swap"), "relation")])
def test_bad_input_names_the_parameter(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()
