"""Training that realises the guarantees: DP-SGD (Abadi et al. 2016) with per-example gradients by
torch.func or ghost clipping and accounting from bounds/, noise augmentation for randomized smoothing,
PGD adversarial training, PixelDP noise-layer networks, and their private-and-robust combinations.

Torch-backed. The main entries: ``train_dpsgd`` (a whole private run), ``DPSGD`` (one private step),
``train_with_recipe`` (the default network and hyper-parameters per dataset and ε, optionally with noise
augmentation or adversarial views), ``train_robust`` (non-private robust training), ``audit_dpsgd`` (an empirical ε lower bound of a DP-SGD run), ``lira_attack`` (LiRA with trained shadow models).
"""
from training.audit import audit_dpsgd
from training.data import Dataset, load_dataset
from training.dpsgd import DPSGD, StepStats
from training.lira import LiraResult, lira_attack
from training.loop import DPConfig, EpochRecord, TrainResult, accuracy, train_dpsgd
from training.models import LeNet, MLP, SampleConvNet, TanhCNN, reject_batchnorm, replace_batchnorm
from training.per_sample import ClippedBatch, clipped_grad_sum
from training.pixeldp import PixelDPSpec, after_first_layer, pixeldp_network, sensitivity
from training.privacy import PrivacyPlan, plan_privacy
from training.recipes import Recipe, recipe, train_with_recipe
from training.robust import RobustConfig, RobustResult, consistency, train_robust
from training.views import Adversarial, Views

__all__ = [
    "audit_dpsgd", "Dataset", "load_dataset", "DPSGD", "StepStats", "DPConfig", "EpochRecord", "TrainResult", "accuracy",
    "train_dpsgd", "LiraResult", "lira_attack", "LeNet", "MLP", "SampleConvNet", "TanhCNN", "reject_batchnorm", "replace_batchnorm",
    "ClippedBatch", "clipped_grad_sum", "PixelDPSpec", "after_first_layer", "pixeldp_network", "sensitivity",
    "PrivacyPlan",
    "plan_privacy", "Recipe", "recipe", "train_with_recipe", "RobustConfig", "RobustResult", "consistency",
    "train_robust", "Adversarial", "Views",
]
