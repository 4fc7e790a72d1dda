"""Dataset loaders: IDX files written byte by byte here, the fixed splits of the embedded sets, and torchvision
sets through a stand-in module (torchvision has no CPU wheel here)."""
import gzip
import struct
import sys
import types

import numpy as np
import pytest

from training.data import load_dataset, read_idx


def write_idx(path, array, type_code=0x08, fmt="B"):
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    body = struct.pack(f">{array.size}{fmt}", *array.ravel().tolist())
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as handle:
        handle.write(header + body)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_read_idx_round_trip(tmp_path, suffix):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / f"a{suffix}", images)
    np.testing.assert_array_equal(read_idx(tmp_path / f"a{suffix}"), images)
    values = np.array([-1.5, 2.25], dtype=np.float64)
    write_idx(tmp_path / "b", values, 0x0E, "d")
    np.testing.assert_array_equal(read_idx(tmp_path / "b"), values)


def test_read_idx_rejects_bad_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x00\x08\x01\x00\x00\x00\x02\x00\x00")
    with pytest.raises(ValueError, match="magic"):
        read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", 5) + b"\x00\x01")
    with pytest.raises(ValueError, match="shape"):
        read_idx(tmp_path / "short")


def test_mnist_from_an_idx_folder(tmp_path):
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, size=(6, 28, 28), dtype=np.uint8)
    test = rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", train)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.arange(6, dtype=np.uint8))
    write_idx(tmp_path / "t10k-images-idx3-ubyte", test)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.array([9, 8, 7], dtype=np.uint8))
    data = load_dataset("mnist", data_dir=tmp_path)
    assert data.x_train.shape == (6, 1, 28, 28) and data.x_train.dtype == np.float32
    np.testing.assert_allclose(data.x_test[:, 0] * 255, test, atol=1e-4)
    np.testing.assert_array_equal(data.y_test, [9, 8, 7])


def test_mnist_needs_a_folder(tmp_path):
    with pytest.raises(ValueError, match="data_dir"):
        load_dataset("mnist")
    with pytest.raises(FileNotFoundError, match="train-images"):
        load_dataset("fashion-mnist", data_dir=tmp_path)
    with pytest.raises(ValueError, match="name must be one of"):
        load_dataset("cifar")


@pytest.mark.parametrize("name, per_class, total", [("mnist5k", 100, 5000), ("digits", 36, 1797)])
def test_embedded_splits_are_fixed_stratified_and_disjoint(name, per_class, total):
    data = load_dataset(name)
    assert len(data.y_train) + len(data.y_test) == total
    np.testing.assert_array_equal(np.bincount(data.y_test), [per_class] * 10)
    assert 0.0 <= data.x_train.min() and data.x_train.max() == 1.0
    train_rows = {row.tobytes() for row in data.x_train.reshape(len(data.x_train), -1)}
    test_rows = [row.tobytes() for row in data.x_test.reshape(len(data.x_test), -1)]
    # The embedded sets contain a few exact duplicate images; a leaked split would share hundreds.
    assert sum(row in train_rows for row in test_rows) <= 5
    again = load_dataset(name)
    np.testing.assert_array_equal(again.y_train, data.y_train)


def test_binary_subset_labels():
    data = load_dataset("digits").binary(1, 7)
    full = load_dataset("digits")
    assert set(np.unique(data.y_train)) == {-1, 1}
    assert len(data.y_train) == np.isin(full.y_train, [1, 7]).sum()
    assert (data.y_train == 1).sum() == (full.y_train == 7).sum()


class _FakeSet:
    """The part of a torchvision dataset the loader reads: data and targets, built with download=False."""

    def __init__(self, root, train, download):
        assert download is False
        rng = np.random.default_rng(0 if train else 1)
        n = 6 if train else 4
        self.data = rng.integers(0, 256, size=(n,) + self.SHAPE, dtype=np.uint8)
        self.targets = list(rng.integers(0, 3, size=n))


def _fake_torchvision(monkeypatch, **classes):
    package, datasets = types.ModuleType("torchvision"), types.ModuleType("torchvision.datasets")
    for name, shape in classes.items():
        setattr(datasets, name, type(name, (_FakeSet,), {"SHAPE": shape}))
    package.datasets = datasets
    monkeypatch.setitem(sys.modules, "torchvision", package)
    monkeypatch.setitem(sys.modules, "torchvision.datasets", datasets)
    return datasets


def test_torchvision_sets_are_read_without_download(monkeypatch, tmp_path):
    datasets = _fake_torchvision(monkeypatch, Gray=(5, 5), Colour=(4, 4, 3))
    gray = load_dataset("torchvision:Gray", data_dir=tmp_path)
    raw = datasets.Gray(str(tmp_path), train=True, download=False)
    assert gray.x_train.shape == (6, 1, 5, 5) and gray.x_test.shape == (4, 1, 5, 5)
    np.testing.assert_array_equal(gray.x_train[:, 0] * 255, raw.data.astype(np.float32))
    assert gray.y_train.dtype == np.int64 and list(gray.y_train) == raw.targets
    colour = load_dataset("torchvision:Colour", data_dir=tmp_path)
    raw = datasets.Colour(str(tmp_path), train=False, download=False)
    assert colour.x_test.shape == (4, 3, 4, 4)
    np.testing.assert_array_equal(colour.x_test[2, 1] * 255, raw.data[2, :, :, 1].astype(np.float32))
    with pytest.raises(ValueError, match="no dataset class"):
        load_dataset("torchvision:Missing", data_dir=tmp_path)
    with pytest.raises(ValueError, match="root folder"):
        load_dataset("torchvision:Gray", data_dir=tmp_path / "absent")


def test_torchvision_missing_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torchvision", None)
    with pytest.raises(ValueError, match="needs torchvision"):
        load_dataset("torchvision:MNIST", data_dir=tmp_path)
