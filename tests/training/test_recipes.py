"""Recipe tiers: the largest tuned ε not above the request; every recipe builds a network for its data."""
import pytest
import torch

from training.recipes import RECIPES, recipe


def test_tier_selection():
    assert recipe("mnist5k", 1.0) is RECIPES[("mnist", 1.0)]
    assert recipe("mnist5k", 2.5) is RECIPES[("mnist", 1.0)]
    assert recipe("mnist", 8.0) is RECIPES[("mnist", 3.0)]
    assert recipe("digits", 0.5) is RECIPES[("digits", 1.0)]
    assert recipe("fashion-mnist", None) is RECIPES[("mnist", 3.0)]


@pytest.mark.parametrize("key", sorted(RECIPES))
def test_recipe_networks_fit_their_inputs(key):
    side = 28 if key[0] == "mnist" else 8
    out = RECIPES[key].build(side, 10)(torch.rand(2, 1, side, side))
    assert out.shape == (2, 10)


def test_unknown_dataset():
    with pytest.raises(ValueError, match="dataset must be one of"):
        recipe("cifar10", 1.0)
