"""A search the proofs share: the maximum of a unimodal function in mpmath, independent of scipy."""
import mpmath as mp


def golden_max(f, lo, hi, steps: int = 90):
    """max f on [lo, hi] for unimodal f, by golden-section search (the endpoints are included)."""
    ratio = (mp.sqrt(5) - 1) / 2
    a, b = mp.mpf(lo), mp.mpf(hi)
    for _ in range(steps):
        c, d = b - ratio * (b - a), a + ratio * (b - a)
        a, b = (a, d) if f(c) > f(d) else (c, b)
    return max(f((a + b) / 2), f(mp.mpf(lo)), f(mp.mpf(hi)))
