"""``privrobust audit``: empirical lower bounds on ε and membership-inference metrics (verify/audit.py,
verify/membership.py).

    privrobust audit counts --tp 480 --positives 500 --fp 3 --negatives 500 [--delta 1e-5] [--alpha 0.05]
    privrobust audit ceiling --trials 500                    # the largest ε_LB such an audit can show
    privrobust audit one-run --canaries 1000 --guesses 100 --correct 90 [--delta] [--beta]
    privrobust audit mechanism --variant no-clipping --eps 4 --trials 500   # the reference Gaussian mean
    privrobust audit dpsgd --variant no-clipping --eps 4 --trials 1000     # real DP-SGD runs on digits
    privrobust audit mia SCORES.npz [--lira online|offline]   # ROC, AUC, TPR at 0.1 % and 1 % FPR

For ``mia`` the .npz holds "is_member" [N] (bool) and either "scores" [N] (larger = member), "losses" [N]
(loss threshold, Yeom et al. 2018), or, with --lira, "target" [N], "shadow" [K, N] and "in_mask" [K, N]
(logit-scaled confidences, Carlini et al. 2022).
"""
from __future__ import annotations

import json

NAME = "audit"
HELP = "audit a DP claim: epsilon lower bounds (Jagielski et al.; one run, Steinke et al.) and MIA metrics"


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="kind", metavar="KIND", required=True)
    counts = sub.add_parser("counts", help="epsilon lower bound from a distinguishing test's counts")
    counts.add_argument("--tp", type=int, required=True, help="'canary' guesses in the runs with the canary")
    counts.add_argument("--positives", type=int, required=True, help="runs with the canary")
    counts.add_argument("--fp", type=int, required=True, help="'canary' guesses in the runs without it")
    counts.add_argument("--negatives", type=int, required=True, help="runs without the canary")
    ceiling = sub.add_parser("ceiling", help="largest epsilon lower bound an audit of this size can show")
    ceiling.add_argument("--trials", type=int, required=True, help="runs per world")
    one_run = sub.add_parser("one-run", help="epsilon lower bound of a one-run audit (Steinke et al. 2023)")
    one_run.add_argument("--canaries", type=int, required=True)
    one_run.add_argument("--guesses", type=int, required=True)
    one_run.add_argument("--correct", type=int, required=True)
    one_run.add_argument("--beta", type=float, default=0.05, help="level of the test (default 0.05)")
    mechanism = sub.add_parser("mechanism", help="audit the reference Gaussian-mean mechanism (correct or broken)")
    mechanism.add_argument("--variant", choices=("correct", "no-clipping", "noise-over-sqrt-n"), default="correct")
    mechanism.add_argument("--eps", type=float, required=True, help="claimed epsilon")
    mechanism.add_argument("--trials", type=int, default=500, help="runs per world (default 500)")
    mechanism.add_argument("--n", type=int, default=100, help="records in the dataset (default 100)")
    mechanism.add_argument("--seed", type=int, default=0)
    dpsgd = sub.add_parser("dpsgd", help="audit real DP-SGD runs on digits (correct or broken), "
                                         "training.audit.digits_dpsgd_audit")
    dpsgd.add_argument("--variant", choices=("correct", "no-clipping", "noise-over-sqrt-n"), default="correct")
    dpsgd.add_argument("--eps", type=float, required=True, help="claimed epsilon (sigma is calibrated to it)")
    dpsgd.add_argument("--trials", type=int, default=1000, help="trainings per world (default 1000)")
    dpsgd.add_argument("--steps", type=int, default=3, help="full-batch DP-SGD steps (default 3)")
    dpsgd.add_argument("--seed", type=int, default=0)
    dpsgd.add_argument("--delta", type=float, default=1e-5, help="delta of the claim (default 1e-5)")
    mia = sub.add_parser("mia", help="ROC, AUC and TPR at low FPR of membership scores")
    mia.add_argument("scores", help=".npz with is_member and scores / losses / target, shadow, in_mask")
    mia.add_argument("--lira", choices=("online", "offline"), help="LiRA from shadow-model confidences")
    mia.add_argument("--global-variance", action="store_true", help="LiRA: pool the variance over examples")
    for p in (counts, ceiling, one_run, mechanism):
        p.add_argument("--delta", type=float, default=0.0, help="delta of the claim (default 0)")
    for p in (counts, ceiling, mechanism, dpsgd):
        p.add_argument("--alpha", type=float, default=0.05, help="1 - confidence (default 0.05)")
    for p in (counts, ceiling, one_run, mechanism, dpsgd, mia):
        p.add_argument("--json", action="store_true", help="print one JSON object")


def _mia(args) -> dict:
    from pathlib import Path

    import numpy as np

    from verify import membership

    path = Path(args.scores)
    if not path.is_file():
        raise FileNotFoundError(f"scores file {path} does not exist")
    data = np.load(path)
    if "is_member" not in data:
        raise ValueError(f"{path} must hold 'is_member'")
    if args.lira:
        missing = [k for k in ("target", "shadow", "in_mask") if k not in data]
        if missing:
            raise ValueError(f"--lira needs {', '.join(missing)} in {path}")
        fit = membership.lira_online if args.lira == "online" else membership.lira_offline
        scores, attack = fit(data["target"], data["shadow"], data["in_mask"],
                             global_variance=args.global_variance), f"lira-{args.lira}"
    elif "scores" in data:
        scores, attack = data["scores"], "scores"
    elif "losses" in data:
        scores, attack = membership.loss_threshold_scores(data["losses"]), "loss-threshold"
    else:
        raise ValueError(f"{path} must hold 'scores', 'losses' or (with --lira) target/shadow/in_mask")
    curve = membership.roc(scores, data["is_member"].astype(bool))
    return {"attack": attack, "examples": int(len(scores)), "auc": curve.auc,
            "tpr_at_0.1%_fpr": curve.tpr_at(0.001), "tpr_at_1%_fpr": curve.tpr_at(0.01)}


def run(args) -> int:
    from verify import audit

    if args.kind == "counts":
        b = audit.epsilon_lower_bound(args.tp, args.positives, args.fp, args.negatives, delta=args.delta,
                                      alpha=args.alpha)
        result = {"epsilon_lower_bound": b.epsilon, "tpr_lower": b.tpr_lower, "fpr_upper": b.fpr_upper,
                  "max_certifiable": audit.max_certifiable_epsilon(args.positives, args.negatives,
                                                                   delta=args.delta, alpha=args.alpha)}
    elif args.kind == "ceiling":
        result = {"trials": args.trials, "max_certifiable": audit.max_certifiable_epsilon(
            args.trials, delta=args.delta, alpha=args.alpha)}
    elif args.kind == "one-run":
        result = {"epsilon_lower_bound": audit.one_run_epsilon_lower_bound(
            args.canaries, args.guesses, args.correct, delta=args.delta, beta=args.beta)}
    elif args.kind == "mechanism":
        trial = audit.gaussian_mean(args.eps, args.delta, n=args.n, variant=args.variant)
        r = audit.distinguishing_audit(trial, args.trials, delta=args.delta, alpha=args.alpha, seed=args.seed)
        result = {"variant": args.variant, "claimed_epsilon": args.eps, "epsilon_lower_bound": r.epsilon,
                  "violation": r.violates(args.eps), "threshold": r.threshold,
                  "counted_trials": r.bound.positives, "max_certifiable": r.max_certifiable}
    elif args.kind == "dpsgd":
        from training.audit import digits_dpsgd_audit

        r, accounted = digits_dpsgd_audit(args.eps, variant=args.variant, trials=args.trials, steps=args.steps,
                                          delta=args.delta, alpha=args.alpha, seed=args.seed)
        result = {"variant": args.variant, "claimed_epsilon": args.eps, "accounted_epsilon_upper": accounted.upper,
                  "epsilon_lower_bound": r.epsilon, "violation": r.violates(args.eps), "threshold": r.threshold,
                  "counted_trials": r.bound.positives, "max_certifiable": r.max_certifiable}
    else:
        result = _mia(args)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>22}: {value:.6g}" if isinstance(value, float) else f"{key:>22}: {value}")
    return 0
