"""Model files ("privrobust.model/1"): what ``privrobust train`` writes and ``privrobust certify`` reads.

``torch.save`` of a dict
    {"format": "privrobust.model/1",
     "layers": [[class name, {constructor arguments}], ...],   # a flat nn.Sequential of LAYERS
     "state_dict": model.state_dict(),
     "meta": {"sigma": 0.5, "noise": "gaussian", "dataset": "mnist5k", ...}}   # optional defaults
read back with ``torch.load(weights_only=True)``: no pickled code is executed. Nested nn.Sequential
containers are flattened when saving (the forward pass is the same composition of layers).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from mechanisms.noise_layers import NoiseLayer

FORMAT = "privrobust.model/1"

#: class name -> (class, constructor arguments of an instance)
LAYERS = {
    "Linear": (nn.Linear, lambda m: {"in_features": m.in_features, "out_features": m.out_features,
                                     "bias": m.bias is not None}),
    "Conv2d": (nn.Conv2d, lambda m: {"in_channels": m.in_channels, "out_channels": m.out_channels,
                                     "kernel_size": list(m.kernel_size), "stride": list(m.stride),
                                     "padding": list(m.padding), "bias": m.bias is not None}),
    "ReLU": (nn.ReLU, lambda m: {}),
    "Tanh": (nn.Tanh, lambda m: {}),
    "Flatten": (nn.Flatten, lambda m: {"start_dim": m.start_dim, "end_dim": m.end_dim}),
    "AvgPool2d": (nn.AvgPool2d, lambda m: {"kernel_size": m.kernel_size, "stride": m.stride}),
    "MaxPool2d": (nn.MaxPool2d, lambda m: {"kernel_size": m.kernel_size, "stride": m.stride}),
    "BatchNorm2d": (nn.BatchNorm2d, lambda m: {"num_features": m.num_features, "eps": m.eps}),
    "BatchNorm1d": (nn.BatchNorm1d, lambda m: {"num_features": m.num_features, "eps": m.eps}),
    "GroupNorm": (nn.GroupNorm, lambda m: {"num_groups": m.num_groups, "num_channels": m.num_channels,
                                           "eps": m.eps, "affine": m.affine}),
    "Dropout": (nn.Dropout, lambda m: {"p": m.p}),
    "NoiseLayer": (NoiseLayer, lambda m: {"scale": m.scale, "distribution": m.distribution}),
}


def _flat_layers(model: nn.Module) -> list[nn.Module]:
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be an nn.Sequential of {', '.join(LAYERS)}, got {type(model).__name__}")
    flat: list[nn.Module] = []
    for module in model:
        flat += _flat_layers(module) if isinstance(module, nn.Sequential) else [module]
    return flat


def save_model(path, model: nn.Module, **meta) -> Path:
    """Write ``model`` (an nn.Sequential of LAYERS, possibly nested) with ``meta``; refuses to overwrite."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"refusing to overwrite {path}")
    flat = nn.Sequential(*_flat_layers(model))
    layers = []
    for module in flat:
        name = type(module).__name__
        if name not in LAYERS or not isinstance(module, LAYERS[name][0]):
            raise TypeError(f"cannot save layer {name}: supported layers are {', '.join(LAYERS)}")
        layers.append([name, LAYERS[name][1](module)])
    torch.save({"format": FORMAT, "layers": layers, "state_dict": flat.state_dict(), "meta": meta}, path)
    return path


def load_model(path) -> tuple[nn.Sequential, dict]:
    """(nn.Sequential in eval mode, meta dict) from a "privrobust.model/1" file (weights_only loading)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises UnpicklingError/RuntimeError for other formats
        raise ValueError(f"{path} is not a {FORMAT} file (saved with weights only): {err}") from err
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        raise ValueError(f"{path} is not a {FORMAT} file (see verify/model_io.py)")
    layers = []
    for name, kwargs in saved["layers"]:
        if name not in LAYERS:
            raise ValueError(f"{path}: unknown layer {name!r}")
        layers.append(LAYERS[name][0](**kwargs))
    model = nn.Sequential(*layers)
    model.load_state_dict(saved["state_dict"])
    return model.eval(), dict(saved.get("meta", {}))
