"""Membership inference: the loss-threshold attack, LiRA, and their ROC.

The statistics take arrays (per-example losses, logits or confidences of a target model and of shadow
models), so they are testable without training and work with any trainer. Scores are oriented so that a
larger score means "member".

- Loss threshold (Yeom, Giacomelli, Fredrikson & Jha 2018, Sec. 3.2, the "bounded loss" adversary): member
  iff ℓ(x, y) <= τ; score = -loss, τ = the mean training loss by default.
- LiRA (Carlini, Chien, Nasr, Song, Terzis & Tramèr 2022, Sec. IV, Alg. 1): the target model's
  logit-scaled confidence φ = log(p_y / (1 - p_y)) (eq. (4)) is compared with its distribution over K shadow
  models trained with (IN) and without (OUT) the example, each fitted by a Gaussian:
  online score = log N(φ; μ_in, σ²_in) - log N(φ; μ_out, σ²_out), a per-example likelihood ratio;
  offline score = log P[Z <= φ], Z ~ N(μ_out, σ²_out) (one-sided test against OUT only, Sec. VI.C).
  With few shadows the variances are better pooled across examples (``global_variance``, Sec. VI.B).
- ROC, AUC and TPR at a fixed FPR (the paper's headline metric, at 0.1 % and 1 %).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from mechanisms.validate import probability


def _vector(name: str, values) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-d array, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite")
    return array


def logit_confidence(logits, labels) -> np.ndarray:
    """φ = log p_y - log(1 - p_y) from logits [N, K] (Carlini et al. 2022, eq. (4)), computed stably as
    z_y - logsumexp_{j≠y} z_j."""
    logits = np.asarray(logits, dtype=float)
    labels = np.asarray(labels)
    if logits.ndim != 2 or labels.shape != (logits.shape[0],):
        raise ValueError("logits must be [N, K] and labels [N]")
    if not np.issubdtype(labels.dtype, np.integer) or (labels < 0).any() or (labels >= logits.shape[1]).any():
        raise ValueError(f"labels must be integers in [0, {logits.shape[1] - 1}]")
    rows = np.arange(len(labels))
    others = logits.copy()
    others[rows, labels] = -np.inf
    return logits[rows, labels] - special.logsumexp(others, axis=1)


def loss_threshold_scores(losses) -> np.ndarray:
    """Yeom et al. 2018's membership score: -loss (a member is predicted when the loss is small)."""
    return -_vector("losses", losses)


def loss_threshold_predict(losses, train_losses) -> np.ndarray:
    """Yeom et al. 2018, Sec. 3.2: member iff loss <= τ, τ = the average training loss."""
    return _vector("losses", losses) <= _vector("train_losses", train_losses).mean()


def _shadow_arrays(target, shadow, in_mask):
    target = _vector("target", target)
    shadow = np.asarray(shadow, dtype=float)
    if shadow.ndim != 2 or shadow.shape[1] != target.size:
        raise ValueError(f"shadow must be [K, N] with N = {target.size}, got shape {shadow.shape}")
    if not np.isfinite(shadow).all():
        raise ValueError("shadow must be finite")
    if in_mask is None:
        return target, shadow, None
    in_mask = np.asarray(in_mask)
    if in_mask.shape != shadow.shape or in_mask.dtype != bool:
        raise ValueError(f"in_mask must be a boolean array of shape {shadow.shape}")
    return target, shadow, in_mask


def _gaussian_fit(values, mask, global_variance, min_std=1e-6):
    """Per-example mean and std of values[k, n] over the k with mask[k, n] (NaN where no k); the std pooled
    over all examples when ``global_variance``."""
    count = mask.sum(0)
    if (count == 0).any():
        raise ValueError("every example needs at least one shadow model on each side (IN and OUT)")
    mean = np.where(mask, values, 0.0).sum(0) / count
    residual = np.where(mask, values - mean, 0.0)
    if global_variance:
        std = np.full(values.shape[1], np.sqrt((residual ** 2).sum() / max(1, mask.sum() - 1)))
    else:
        std = np.sqrt((residual ** 2).sum(0) / np.maximum(1, count - 1))
    return mean, np.maximum(std, min_std)


def lira_online(target, shadow, in_mask, *, global_variance: bool = False) -> np.ndarray:
    """Online LiRA (Carlini et al. 2022, Alg. 1): log N(φ; μ_in, σ_in²) - log N(φ; μ_out, σ_out²) per example.

    target: φ of the target model [N]; shadow: φ of K shadow models [K, N]; in_mask [K, N]: whether example n
    was in shadow k's training set."""
    target, shadow, in_mask = _shadow_arrays(target, shadow, in_mask)
    if in_mask is None:
        raise ValueError("in_mask is required for online LiRA")
    mu_in, sd_in = _gaussian_fit(shadow, in_mask, global_variance)
    mu_out, sd_out = _gaussian_fit(shadow, ~in_mask, global_variance)
    return stats.norm.logpdf(target, mu_in, sd_in) - stats.norm.logpdf(target, mu_out, sd_out)


def lira_offline(target, shadow, in_mask=None, *, global_variance: bool = False) -> np.ndarray:
    """Offline LiRA (Carlini et al. 2022, Sec. VI.C): log Φ((φ - μ_out)/σ_out) from OUT shadows only
    (in_mask None: every shadow is OUT)."""
    target, shadow, in_mask = _shadow_arrays(target, shadow, in_mask)
    out_mask = np.ones(shadow.shape, dtype=bool) if in_mask is None else ~in_mask
    mu_out, sd_out = _gaussian_fit(shadow, out_mask, global_variance)
    return special.log_ndtr((target - mu_out) / sd_out)


@dataclass(frozen=True)
class Roc:
    """ROC of a membership score: (fpr[i], tpr[i]) when predicting "member" for score >= thresholds[i],
    from (0, 0) (threshold +inf) to (1, 1); ``auc`` the area under it (ties counted half)."""
    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    auc: float

    def tpr_at(self, fpr) -> float:
        """The largest TPR reached at a false-positive rate <= ``fpr`` (Carlini et al. 2022's metric)."""
        fpr = probability("fpr", fpr)
        return float(self.tpr[self.fpr <= fpr].max())


def roc(scores, is_member) -> Roc:
    """The exact empirical ROC of ``scores`` against the boolean truth ``is_member``."""
    scores = _vector("scores", scores)
    is_member = np.asarray(is_member)
    if is_member.shape != scores.shape or is_member.dtype != bool:
        raise ValueError("is_member must be a boolean array of the same shape as scores")
    positives, negatives = int(is_member.sum()), int((~is_member).sum())
    if positives == 0 or negatives == 0:
        raise ValueError("is_member must contain both members and non-members")
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_truth = scores[order], is_member[order]
    last = np.r_[np.nonzero(np.diff(sorted_scores))[0], scores.size - 1]  # last index of each distinct score
    tp = np.cumsum(sorted_truth)[last]
    fp = (last + 1) - tp
    tpr = np.r_[0.0, tp / positives]
    fpr = np.r_[0.0, fp / negatives]
    return Roc(fpr, tpr, np.r_[np.inf, sorted_scores[last]], float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2)))
