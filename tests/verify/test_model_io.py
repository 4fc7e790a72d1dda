"""The privrobust.model/1 format: weights-only round trips give the same function, nested Sequentials
(PixelDP networks, the recipe CNN) are flattened, nothing is overwritten, foreign files are refused."""
import pytest
import torch
from torch import nn

from mechanisms.noise_layers import NoiseLayer
from training.models import TanhCNN
from training.pixeldp import PixelDPSpec, after_first_layer
from verify.model_io import load_model, save_model


def noise_off(model):
    for m in model.modules():
        if isinstance(m, NoiseLayer):
            m.active = False
    return model


def test_round_trip_keeps_function_and_meta(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), NoiseLayer(0.5), nn.ReLU(), nn.Linear(32, 10))
    path = save_model(tmp_path / "m.pt", model, sigma=0.25, dataset="digits")
    loaded, meta = load_model(path)
    assert meta == {"sigma": 0.25, "dataset": "digits"}
    x = torch.rand(3, 1, 8, 8)
    assert torch.equal(noise_off(loaded)(x), noise_off(model)(x))
    with pytest.raises(FileExistsError):
        save_model(path, model)
    torch.save({"anything": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="privrobust.model/1"):
        load_model(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.pt")


def test_nested_pixeldp_recipe_network_is_flattened(tmp_path):
    torch.manual_seed(1)
    model = after_first_layer(TanhCNN((4, 8), side=28, downsample=2), PixelDPSpec(1.0, 0.05, 0.3))
    x = torch.rand(5, 1, 28, 28)
    loaded, _ = load_model(save_model(tmp_path / "m.pt", model))
    assert not any(isinstance(m, nn.Sequential) for m in loaded)
    assert sum(isinstance(m, NoiseLayer) for m in loaded) == 1
    assert torch.equal(noise_off(loaded)(x), noise_off(model)(x))


def test_unsupported_layer_is_named(tmp_path):
    with pytest.raises(TypeError, match="GELU"):
        save_model(tmp_path / "m.pt", nn.Sequential(nn.Linear(2, 2), nn.GELU()))
    with pytest.raises(TypeError, match="nn.Sequential"):
        save_model(tmp_path / "m.pt", nn.Linear(2, 2))
