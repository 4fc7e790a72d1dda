"""Membership-inference statistics against independent references: sklearn's roc_auc_score, the closed forms of
a Gaussian shift (AUC = Φ(μ/√2), TPR at FPR f = Φ̄(Φ̄⁻¹(f) - μ)), scipy's normal log-density for LiRA's
likelihood ratio, and the direct formula log(p/(1 - p)) for the logit-scaled confidence."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import special, stats
from sklearn.metrics import roc_auc_score

from verify.membership import (lira_offline, lira_online, logit_confidence, loss_threshold_predict,
                               loss_threshold_scores, roc)


@settings(max_examples=40)
@given(seed=st.integers(0, 10_000), ties=st.booleans())
def test_auc_equals_sklearn(seed, ties):
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=60)
    scores = np.round(scores, 0) if ties else scores
    truth = rng.random(60) < 0.5
    truth[:2] = [True, False]
    curve = roc(scores, truth)
    assert curve.auc == pytest.approx(roc_auc_score(truth, scores), abs=1e-12)
    assert curve.fpr[0] == curve.tpr[0] == 0 and curve.fpr[-1] == curve.tpr[-1] == 1


def test_gaussian_shift_closed_forms():
    rng = np.random.default_rng(0)
    mu, n = 1.0, 200_000
    scores = np.r_[rng.normal(mu, 1, n), rng.normal(0, 1, n)]
    truth = np.r_[np.ones(n, bool), np.zeros(n, bool)]
    curve = roc(scores, truth)
    assert curve.auc == pytest.approx(stats.norm.cdf(mu / np.sqrt(2)), abs=3e-3)
    for fpr in (0.001, 0.01, 0.1):
        assert curve.tpr_at(fpr) == pytest.approx(stats.norm.sf(stats.norm.isf(fpr) - mu), abs=0.01)


def test_logit_confidence_is_log_odds_of_the_softmax():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(20, 5)) * 4
    labels = rng.integers(0, 5, 20)
    p = special.softmax(logits, axis=1)[np.arange(20), labels]
    assert np.allclose(logit_confidence(logits, labels), np.log(p) - np.log1p(-p), atol=1e-9)
    with pytest.raises(ValueError, match="labels"):
        logit_confidence(logits, labels + 5)


def test_lira_scores_are_the_gaussian_likelihood_ratio():
    rng = np.random.default_rng(2)
    shadow = rng.normal(size=(8, 6))
    in_mask = np.zeros((8, 6), bool)
    in_mask[::2] = True
    target = rng.normal(size=6)
    online = lira_online(target, shadow, in_mask)
    for n in range(6):
        ins, outs = shadow[in_mask[:, n], n], shadow[~in_mask[:, n], n]
        expected = (stats.norm.logpdf(target[n], ins.mean(), ins.std(ddof=1))
                    - stats.norm.logpdf(target[n], outs.mean(), outs.std(ddof=1)))
        assert online[n] == pytest.approx(expected, rel=1e-10)
        assert lira_offline(target, shadow, in_mask)[n] == pytest.approx(
            stats.norm.logcdf(target[n], outs.mean(), outs.std(ddof=1)), rel=1e-10)


def test_lira_beats_the_loss_threshold_on_heterogeneous_examples():
    """Per-example difficulty (a random offset per example) hides membership from a global threshold but not
    from a per-example likelihood ratio (Carlini et al. 2022, Sec. IV): the ratio is the optimal test here."""
    rng = np.random.default_rng(3)
    n, k, shift = 2000, 16, 1.0
    offset = rng.normal(0, 3, n)
    in_mask = rng.random((k, n)) < 0.5
    shadow = offset + shift * in_mask + rng.normal(0, 0.5, (k, n))
    member = rng.random(n) < 0.5
    target = offset + shift * member + rng.normal(0, 0.5, n)
    lira = roc(lira_online(target, shadow, in_mask), member)
    offline = roc(lira_offline(target, shadow, in_mask), member)
    loss = roc(loss_threshold_scores(-target), member)  # loss = -confidence
    oracle = stats.norm.cdf(shift / 0.5 / np.sqrt(2))  # AUC of the exact per-example ratio
    assert loss.auc < 0.65 < offline.auc and lira.auc > 0.8
    assert lira.auc == pytest.approx(oracle, abs=0.05)
    assert lira.tpr_at(0.01) > 5 * loss.tpr_at(0.01)


def test_loss_threshold_predicts_below_the_mean_training_loss():
    assert loss_threshold_predict([0.1, 0.5, 0.9], [0.2, 0.8]).tolist() == [True, True, False]
    with pytest.raises(ValueError, match="losses"):
        loss_threshold_scores([np.nan])
    with pytest.raises(ValueError, match="members and non-members"):
        roc([0.1, 0.2], np.array([True, True]))
    with pytest.raises(ValueError, match="in_mask"):
        lira_online(np.zeros(3), np.zeros((2, 3)), None)
