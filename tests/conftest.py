"""Shared test configuration: hypothesis profiles and the gpu marker."""
import os

import pytest
from hypothesis import HealthCheck, settings

# CI: reproducible (derandomized, no example database), no per-example deadline.
settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
# Development: random exploration with a local example database (HYPOTHESIS_PROFILE=dev). The default is
# "ci", so the README's test command is reproducible wherever it runs (.ci/run sets no CI variable).
settings.register_profile("dev", deadline=None, max_examples=60)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_collection_modifyitems(config, items):
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if not gpu_items:
        return
    import torch

    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason="needs a CUDA device")
        for item in gpu_items:
            item.add_marker(skip)
