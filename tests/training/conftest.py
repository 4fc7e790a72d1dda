"""Shared fixtures of the training tests."""
import pytest
import torch


@pytest.fixture
def one_thread():
    """torch on one thread: hundreds of tiny trainings only contend with the other test worker otherwise."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
