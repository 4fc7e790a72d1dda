"""The refitted sphere + slab defense: a rigorous semidefinite bound on the worst margin of surviving poison."""
import mpmath as mp
import numpy as np
import sympy as sp

from proofs import Theorem

THEOREM = Theorem(
    name="Data-dependent sphere + slab: certified SDP bound (poisoning)",
    statement="k_y poison points of class y that pass the defense refitted on the poisoned data have poisoned centroid "
              "mu_y + lambda_y m_y (lambda_y = k_y/(n_y + k_y), m_y their mean offset), which passes too; with "
              "s|d| <= s(|d|^2/t + t)/2 the worst margin is bounded by a QCQP in 5 coordinates per vector, whose "
              "Shor relaxation's dual (y >= 0, z, S = sum y_i A_i + z E - C) bounds it by sum y_i b_i + z - "
              "min(0, lambda_min(S))(1 + |p|^2); a point added at a poisoned centroid moves nothing",
    source="Steinhardt, Koh & Liang 2017, Sec. 5 (data-dependent defenses; their SDP made rigorous here); Shor's "
           "relaxation and weak duality",
    backs=("bounds.poisoning_data_dependent.margin_lower_bound", "bounds.poisoning_data_dependent.poison_loss_bound",
           "bounds.poisoning_data_dependent.data_dependent_upper_bounds"),
)


def _reduced(vectors, gap_vector, weights):
    """Coordinates (Δ/|Δ|, w's part across Δ, then an orthonormal basis of the rest of the vectors' span)."""
    e1 = gap_vector / np.linalg.norm(gap_vector)
    across = weights - (weights @ e1) * e1
    e2 = across / np.linalg.norm(across)
    rest = np.array([v - (v @ e1) * e1 - (v @ e2) * e2 for v in vectors])
    q = np.linalg.qr(rest.T)[0][:, :3]
    return [np.concatenate([[v @ e1, v @ e2], q.T @ r]) for v, r in zip(vectors, rest)], e1, e2


def check() -> str:
    from bounds.poisoning_data_dependent import _constraints, margin_lower_bound
    from bounds.sphere_slab import SphereSlab

    # 1. the poisoned centroid is mu + lambda m; a point added at it leaves it in place (sympy, one coordinate)
    n, k = sp.symbols("n k", positive=True)
    mu, m = sp.symbols("mu m", real=True)
    poisoned = (n * mu + k * (mu + m)) / (n + k)
    assert sp.simplify(poisoned - (mu + k / (n + k) * m)) == 0
    assert sp.simplify(((n + k) * poisoned + poisoned) / (n + k + 1) - poisoned) == 0
    # 2. AM–GM: s(D^2/t + t)/2 - s D = s (D - t)^2/(2t) >= 0 for every t > 0
    s, d, t = sp.symbols("s D t", positive=True)
    assert sp.simplify(s * (d ** 2 / t + t) / 2 - s * d - s * (d - t) ** 2 / (2 * t)) == 0
    # 3. the code's constraint matrices, on coordinates reduced from R^9, equal the constraints computed there
    rng = np.random.default_rng(3)
    for _ in range(50):
        gap_vector, weights = rng.normal(size=9), rng.normal(size=9)
        a, m_neg, m_pos = rng.normal(size=(3, 9))
        lam, radii, slabs, label = rng.uniform(0, 0.5, 2), (1.3, 0.8), (0.4, 0.3), int(rng.choice([-1, 1]))
        c = (label + 1) // 2
        matrices, limits, _ = _constraints(float(np.linalg.norm(gap_vector)), lam, radii, slabs, label)
        (ra, rn, rp), e1, e2 = _reduced([a, m_neg, m_pos], gap_vector, weights)
        assert abs(ra[1] * (weights @ e2) + ra[0] * (weights @ e1) - weights @ a) < 1e-9
        p = np.concatenate([ra, rn, rp, [1.0]])
        values = np.einsum("i,kij,j->k", p, matrices, p)
        direction = gap_vector + lam[0] * m_neg - lam[1] * m_pos
        offsets = [a - lam[c] * (m_neg, m_pos)[c], (1 - lam[0]) * m_neg, (1 - lam[1]) * m_pos]
        expected = [a @ a]  # order: |a|^2, then per offset u (class c, -, +): |u|^2 and (+, -) per tangent t
        for u, i in zip(offsets, (c, 0, 1)):
            expected.append(u @ u)
            for t in 2 * limits[len(expected):len(expected) + 10:2] / slabs[i]:  # each limit is s t / 2
                expected += [sign * (direction @ u) - slabs[i] / (2 * t) * (direction @ direction) for sign in (1, -1)]
        assert np.allclose(values, expected, rtol=1e-9, atol=1e-9)
    # 4. weak duality with the eigenvalue repair, at 30 digits: random symmetric A_i, C, y >= 0, z and feasible p
    mp.mp.dps = 30
    for _ in range(30):
        size = 4
        sym = [mp.matrix(np.round((lambda g: g + g.T)(rng.normal(size=(size, size))), 6).tolist()) for _ in range(4)]
        point = mp.matrix(np.round(rng.normal(size=size - 1), 6).tolist() + [1])
        quad = [(point.T * a_i * point)[0] for a_i in sym[1:]]
        limits = [q + mp.mpf(rng.uniform(0, 1)) for q in quad]  # p is feasible
        ys, z = [mp.mpf(v) for v in rng.uniform(0, 2, 3)], mp.mpf(rng.normal())
        corner = mp.zeros(size)
        corner[size - 1, size - 1] = 1
        slack = sum((y_i * a_i for y_i, a_i in zip(ys, sym[1:])), mp.zeros(size)) + z * corner - sym[0]
        lowest = min(mp.eigsy(slack)[0])
        bound = sum(y_i * b_i for y_i, b_i in zip(ys, limits)) + z - min(0, lowest) * (point.T * point)[0]
        assert (point.T * sym[0] * point)[0] <= bound + mp.mpf(10) ** -25
    # 5. the code's margin bound is below the margin of every sampled configuration of real poison points that
    #    passes the refitted defense (two clean classes in R^3, up to 3 poison points per class)
    checked = 0
    for _ in range(300):
        clean = [rng.normal(0, 1, (6, 3)), rng.normal(1.5, 1, (7, 3))]
        split = tuple(int(v) for v in rng.integers(0, 4, 2))
        poison = [cls.mean(axis=0) + rng.normal(0, 0.7, (k, 3)) for cls, k in zip(clean, split)]
        centres = [np.vstack([cls, p]).mean(axis=0) for cls, p in zip(clean, poison)]
        direction = (centres[0] - centres[1]) / np.linalg.norm(centres[0] - centres[1])
        defense = SphereSlab(np.stack([cls.mean(axis=0) for cls in clean]), np.ones(3) / np.sqrt(3), (1.4, 1.2),
                             (0.5, 0.6))
        passes = all(np.linalg.norm(q - centres[i]) <= defense.sphere_radii[i]
                     and abs(direction @ (q - centres[i])) <= defense.slab_radii[i]
                     for i in range(2) for q in poison[i])
        if not passes or not sum(split):
            continue
        w, b = rng.normal(size=3), float(rng.normal())
        for i, label in enumerate((-1, 1)):
            if split[i]:
                bound, _ = margin_lower_bound(defense, (6, 7), split, w, b, label)
                assert bound <= min(label * (q @ w + b) for q in poison[i]) + 1e-7
                checked += 1
    assert checked >= 50
    return ("sympy: poisoned centroid and AM-GM identities; constraint matrices vs direct R^9 values (50); "
            f"30-digit weak duality with eigenvalue repair (30); bound below {checked} sampled real attacks")
