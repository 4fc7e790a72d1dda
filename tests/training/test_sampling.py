"""Poisson batches: the size distribution is exactly Binomial(N, q) (chi-square test at a fixed seed)."""
import numpy as np
import pytest
import torch
from scipy import stats

from training.sampling import micro_batches, poisson_batch, steps_per_epoch


def test_batch_sizes_follow_the_binomial():
    n, q, draws = 200, 0.05, 4000
    gen = torch.Generator().manual_seed(0)
    sizes = np.array([poisson_batch(n, q, gen).numel() for _ in range(draws)])
    support = np.arange(0, 26)
    observed = np.array([(sizes == k).sum() for k in support[:-1]] + [(sizes >= support[-1]).sum()])
    pmf = stats.binom.pmf(support[:-1], n, q)
    expected = draws * np.append(pmf, 1.0 - pmf.sum())
    keep = expected >= 5
    observed = np.append(observed[keep], observed[~keep].sum())
    expected = np.append(expected[keep], expected[~keep].sum())
    assert stats.chisquare(observed, expected).pvalue > 1e-3


def test_membership_is_independent_and_uniform():
    gen = torch.Generator().manual_seed(1)
    counts = torch.zeros(50)
    for _ in range(2000):
        counts[poisson_batch(50, 0.3, gen)] += 1
    # every index is kept Binomial(2000, 0.3) times: all within 5 standard deviations of 600
    assert (counts - 600).abs().max() < 5 * (2000 * 0.3 * 0.7) ** 0.5


def test_empty_batches_happen_and_are_empty_tensors():
    gen = torch.Generator().manual_seed(2)
    sizes = [poisson_batch(10, 0.01, gen).numel() for _ in range(100)]
    assert sizes.count(0) > 50  # P(empty) = 0.99^10 = 0.904


def test_micro_batches_cover_the_batch_once():
    parts = micro_batches(10, 4)
    assert [(p.start, p.stop) for p in parts] == [(0, 4), (4, 8), (8, 10)]
    assert micro_batches(0, 4) == [] and micro_batches(7, None) == [slice(0, 7)]
    assert steps_per_epoch(0.25) == 4


@pytest.mark.parametrize("rate", [-0.1, 1.5])
def test_bad_rate(rate):
    with pytest.raises(ValueError, match="sample_rate"):
        poisson_batch(10, rate, torch.Generator())
