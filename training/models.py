"""Networks for private training, and the BatchNorm check DP-SGD needs.

BatchNorm mixes the examples of a batch, so a per-example gradient is not a function of one example and
clipping no longer bounds the sensitivity (Abadi et al. 2016 assume per-example losses). DP-SGD therefore
refuses it (``reject_batchnorm``) and ``replace_batchnorm`` swaps it for GroupNorm, which normalises each
example on its own (Wu & He 2018; used for DP-SGD by De et al. 2022).

The architectures: Opacus' MNIST ``SampleConvNet`` (the throughput reference), a 5x5 LeNet-style CNN, an
MLP for 8x8 digits, and ``TanhCNN``, the recipe network: tempered (tanh) activations, which keep
activations bounded under clipping (Papernot et al. 2021), and GroupNorm.
"""
from __future__ import annotations

import math

from torch import nn

from mechanisms.validate import integer

BATCHNORM = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


def reject_batchnorm(model: nn.Module) -> None:
    """Raise ValueError naming the first BatchNorm layer: DP-SGD needs per-example losses."""
    for name, module in model.named_modules():
        if isinstance(module, BATCHNORM):
            raise ValueError(f"model layer {name!r} is {type(module).__name__}, which mixes the examples of a "
                             "batch and breaks per-example clipping: use GroupNorm or LayerNorm instead "
                             "(training.models.replace_batchnorm(model) swaps them)")


def replace_batchnorm(model: nn.Module, groups: int = 8) -> nn.Module:
    """The model with every BatchNorm replaced, in place, by GroupNorm(gcd(groups, channels), channels)."""
    groups = integer("groups", groups, minimum=1)
    for name, child in model.named_children():
        if isinstance(child, BATCHNORM):
            channels = child.num_features
            setattr(model, name, nn.GroupNorm(math.gcd(groups, channels), channels, affine=child.affine))
        else:
            replace_batchnorm(child, groups)
    return model


class SampleConvNet(nn.Sequential):
    """Opacus' MNIST example network (examples/mnist.py): two strided convolutions, two linear layers."""

    def __init__(self, num_classes: int = 10):
        super().__init__(
            nn.Conv2d(1, 16, 8, 2, padding=3), nn.ReLU(), nn.MaxPool2d(2, 1),
            nn.Conv2d(16, 32, 4, 2), nn.ReLU(), nn.MaxPool2d(2, 1),
            nn.Flatten(), nn.Linear(32 * 4 * 4, 32), nn.ReLU(), nn.Linear(32, num_classes))


class LeNet(nn.Sequential):
    """LeNet-style CNN with 5x5 convolutions (LeCun et al. 1998) for 28x28 inputs."""

    def __init__(self, num_classes: int = 10):
        super().__init__(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, num_classes))


class MLP(nn.Sequential):
    """Flatten, then Linear-activation layers of the given widths, then a linear classifier."""

    def __init__(self, in_features: int = 64, hidden=(128, 64), num_classes: int = 10,
                 activation: type[nn.Module] = nn.ReLU):
        layers: list[nn.Module] = [nn.Flatten()]
        width = integer("in_features", in_features, minimum=1)
        for h in hidden:
            layers += [nn.Linear(width, integer("hidden", h, minimum=1)), activation()]
            width = h
        super().__init__(*layers, nn.Linear(width, num_classes))


class TanhCNN(nn.Sequential):
    """The recipe CNN: conv-GroupNorm-tanh blocks with average pooling, then a linear classifier.

    ``channels`` are the widths of the convolution blocks (3x3, padding 1), each followed by 2x2 average
    pooling; ``side`` is the input's height = width; ``downsample`` > 1 average-pools the input first (fewer
    parameters and less compute: DP-SGD's noise grows with the parameter count).
    """

    def __init__(self, channels=(16, 32), side: int = 28, num_classes: int = 10, groups: int = 4,
                 downsample: int = 1):
        downsample = integer("downsample", downsample, minimum=1)
        layers: list[nn.Module] = [nn.AvgPool2d(downsample)] if downsample > 1 else []
        width, side = 1, integer("side", side, minimum=2) // downsample
        for c in channels:
            c = integer("channels", c, minimum=1)
            layers += [nn.Conv2d(width, c, 3, padding=1), nn.GroupNorm(math.gcd(groups, c), c), nn.Tanh(),
                       nn.AvgPool2d(2)]
            width, side = c, side // 2
        super().__init__(*layers, nn.Flatten(), nn.Linear(width * side * side, num_classes))
