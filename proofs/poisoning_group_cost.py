"""DP implies poisoning robustness in expectation: the group-privacy bound on any bounded cost."""
import math

import mpmath as mp
import numpy as np
import sympy as sp

from proofs import Theorem

THEOREM = Theorem(
    name="Group privacy, expected cost (poisoning)",
    statement="an (e, d)-DP learner, D and D' k points apart, any cost J in [0, B]: "
              "E[J(D)] <= e^(k e) E[J(D')] + B d (e^(k e) - 1)/(e^e - 1)",
    source="Ma, Zhu & Hsu 2019, Data Poisoning against Differentially-Private Learners, Thm. 2 and Cor. 3; "
           "Dwork & Roth 2014, Thm. 2.2; REFERENCES.md Sec. 3",
    backs=("bounds.group_privacy.expected_cost_bound", "bounds.group_privacy.certified_poisoning_size_for_accuracy",
           "bounds.poisoning_tradeoff.dpsgd_poisoning_table"),
)


def check() -> str:
    # 1. E_P[J] - e^E E_Q[J] = sum_w J(w) (P(w) - e^E Q(w)) <= B sum_w max(0, P(w) - e^E Q(w)) <= B delta_k, where the
    #    last sum is the hockey-stick divergence, <= delta_k for (E, delta_k)-indistinguishable outputs. sympy: the
    #    first step is linear in J, so its maximum over the box [0, B]^W sits at J = B 1[P > e^E Q]
    p1, p2, q1, q2, big_e, b = sp.symbols("p1 p2 q1 q2 E B", positive=True)
    j1, j2 = sp.symbols("j1 j2")
    gap = j1 * (p1 - big_e * q1) + j2 * (p2 - big_e * q2)
    assert sp.diff(gap, j1) == p1 - big_e * q1 and sp.diff(gap, j2, 2) == 0
    # 2. 30 digits: random output distributions P, Q; delta_k := their hockey-stick divergence at E = k e; the
    #    bound with that delta holds for random J and is attained by J = B 1[P > e^E Q]
    from bounds.group_privacy import certified_poisoning_size_for_accuracy, expected_cost_bound

    mp.mp.dps = 30
    rng = np.random.default_rng(5)
    for _ in range(40):
        size, k, eps = int(rng.integers(2, 8)), int(rng.integers(1, 6)), mp.mpf(float(rng.uniform(0.01, 0.5)))
        p = [mp.mpf(float(v)) for v in rng.dirichlet(np.ones(size))]
        q = [mp.mpf(float(v)) for v in rng.dirichlet(np.ones(size))]
        big = mp.exp(k * eps)
        delta_k = mp.fsum(max(0, pi - big * qi) for pi, qi in zip(p, q))
        bound = mp.mpf(float(rng.uniform(0.5, 3)))
        for _ in range(10):
            cost = [bound * mp.mpf(float(v)) for v in rng.uniform(0, 1, size)]
            lhs = mp.fsum(c * pi for c, pi in zip(cost, p))
            assert lhs <= big * mp.fsum(c * qi for c, qi in zip(cost, q)) + bound * delta_k + mp.mpf(10) ** -25
        extreme = [bound if pi > big * qi else 0 for pi, qi in zip(p, q)]
        tight = mp.fsum(c * pi for c, pi in zip(extreme, p)) - big * mp.fsum(c * qi for c, qi in zip(extreme, q))
        assert abs(tight - bound * delta_k) < mp.mpf(10) ** -25
    # 3. the code: closed form at 30 digits, and the accuracy count equals brute force over k
    for eps, delta, k, cost in [(0.1, 1e-5, 10, 0.05), (0.5, 1e-3, 3, 0.2), (0.01, 0.0, 100, 0.1)]:
        e = mp.mpf(eps)
        exact = mp.exp(k * e) * mp.mpf(cost) + mp.mpf(delta) * mp.expm1(k * e) / mp.expm1(e)
        assert abs(expected_cost_bound(eps, delta, k, cost) - min(1, exact)) < 1e-14
    for eps, delta, acc, target in [(0.1, 1e-5, 0.95, 0.9), (0.05, 1e-6, 0.99, 0.5), (1.0, 1e-5, 0.99, 0.9)]:
        def keeps(j):
            err = mp.exp(j * mp.mpf(eps)) * (1 - mp.mpf(acc)) + mp.mpf(delta) * mp.expm1(j * mp.mpf(eps)) / mp.expm1(
                mp.mpf(eps))
            return 1 - err >= mp.mpf(target)
        brute = next(j for j in range(10 ** 5) if not keeps(j + 1))
        assert certified_poisoning_size_for_accuracy(eps, delta, acc, target) == brute, (eps, delta, acc, target)
    assert math.isinf(certified_poisoning_size_for_accuracy(0.1, 0.0, 1.0, 0.9))
    return "hockey-stick step linear in J (sympy); 30-digit bound holds on 400 costs, attained; counts = brute force"
