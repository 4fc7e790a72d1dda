"""``privrobust train``: a DP-SGD run with the default recipe, optionally noise-augmented or adversarial.

The run directory (``--out``) holds config.json, one checkpoint per epoch, metrics.json and ``model.pt``,
the evaluation model in the privrobust.model/1 format (verify/model_io.py) with the dataset and the
smoothing σ in its meta, ready for ``privrobust certify DIR/model.pt``.
"""
from __future__ import annotations

import json
from pathlib import Path

NAME = "train"
HELP = "train a private (DP-SGD) and optionally robust model; certified epsilon bracket"
MODEL_FILE = "model.pt"


def add_arguments(parser) -> None:
    parser.add_argument("--dataset", required=True, choices=("mnist5k", "digits", "mnist", "fashion-mnist"))
    parser.add_argument("--data-dir", help="folder with the IDX files (mnist, fashion-mnist)")
    privacy = parser.add_mutually_exclusive_group(required=True)
    privacy.add_argument("--epsilon", type=float, help="target ε: σ is calibrated before training")
    privacy.add_argument("--noise-multiplier", type=float, help="fixed σ: ε is reported")
    parser.add_argument("--delta", type=float, default=1e-5, help="δ in (0, 1) (default 1e-5)")
    robust = parser.add_mutually_exclusive_group()
    robust.add_argument("--noise-aug", type=float, metavar="SIGMA",
                        help="Gaussian noise augmentation σ (DP-CERT; certify with smoothing at this σ)")
    robust.add_argument("--adversarial", metavar="NORM:EPS", help="private PGD training, e.g. linf:0.1 or l2:1")
    robust.add_argument("--noise-layer", metavar="EPS:DELTA:L[:ROUTE]",
                        help="PixelDP network: noise after the first layer, (EPS, DELTA)-DP at input distance L "
                             "(route l2-l2 (default), l1-l2 or l1-l1), e.g. 1:0.05:0.3")
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs")
    parser.add_argument("--batch-size", type=int, help="override the recipe's expected logical batch")
    parser.add_argument("--lr", type=float, help="override the recipe's learning rate")
    parser.add_argument("--clip-norm", type=float, help="override the recipe's clip norm C")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default cpu); under torchrun each "
                        "process uses gloo (cpu) or NCCL with cuda:LOCAL_RANK")
    parser.add_argument("--out", required=True, help="run directory (never overwritten)")
    parser.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--json", action="store_true", help="print the final metrics as one JSON object")


def run(args) -> int:
    from training.data import load_dataset
    from training.distributed import init_from_environment
    from training.recipes import train_with_recipe
    from training.pixeldp import PixelDPSpec
    from training.views import Adversarial
    from verify.model_io import save_model

    workers, device = init_from_environment(args.device)  # torchrun: data-parallel workers
    dataset = load_dataset(args.dataset, data_dir=args.data_dir)
    overrides = {k: v for k, v in (("epochs", args.epochs), ("batch_size", args.batch_size), ("lr", args.lr),
                                   ("clip_norm", args.clip_norm)) if v is not None}
    result = train_with_recipe(
        dataset, epsilon=args.epsilon, noise_multiplier=args.noise_multiplier, delta=args.delta,
        noise_aug=args.noise_aug, adversarial=Adversarial.parse(args.adversarial) if args.adversarial else None,
        noise_layer=PixelDPSpec.parse(args.noise_layer) if args.noise_layer else None,
        overrides=overrides, seed=args.seed, device=device, out=args.out, resume=args.resume,
        progress=not (args.no_progress or args.json))
    if not workers.is_main:
        return 0
    meta = {"dataset": dataset.name, "epsilon_upper": result.epsilon.upper, "delta": result.delta}
    if result.smoothing_sigma is not None:
        meta.update(sigma=result.smoothing_sigma, noise="gaussian")
    save_model(Path(args.out) / MODEL_FILE, result.model.cpu(), **meta)
    metrics = result.metrics()
    if args.json:
        print(json.dumps(metrics))
        return 0
    eps = result.epsilon
    print(f"{dataset.name}: test accuracy {result.test_accuracy:.4f}   ε in [{eps.lower:.4f}, {eps.upper:.4f}] "
          f"at δ = {result.delta:g}   (σ = {result.noise_multiplier:.4f}, q = {result.sample_rate:.4g}, "
          f"T = {result.steps}, {result.wall_time_s:.1f} s)   run saved in {args.out}")
    return 0
