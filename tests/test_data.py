"""dlcourse.data: loader, splits, generators, augmentation and the bundled datasets."""
from __future__ import annotations

import hashlib
import importlib.resources
import importlib.util
import sys
import time
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.optimize import linprog

import dlcourse
from dlcourse.data import (BrightnessContrast, CenterCrop, Compose, DataLoader, FiveCrop, RandomCrop,
                           RandomHorizontalFlip, crop, hflip, load_digits, load_fashion_mnist, make_blobs,
                           make_circles, make_moons, make_spirals, predict_with_crops, train_val_test_split)
from dlcourse.data import datasets as ds_module

pytestmark = pytest.mark.data

REPO = Path(__file__).resolve().parents[1]
SETTINGS = settings(max_examples=20, deadline=None)


def _collect(loader):
    return [(xb.copy(), yb.copy()) for xb, yb in loader]


# ------------------------------------------------------------------ DataLoader (Seed 4.3.3)
@SETTINGS
@given(n=st.integers(1, 200), batch_size=st.integers(1, 70), shuffle=st.booleans(), seed=st.integers(0, 99))
def test_loader_covers_every_sample_once_per_epoch(n, batch_size, shuffle, seed):
    X = np.arange(n, dtype=np.float64)[:, None] * np.array([1.0, -1.0])  # (n, 2), row i encodes i
    y = np.arange(n)
    loader = DataLoader(X, y, batch_size=batch_size, shuffle=shuffle, rng=seed)
    for _ in range(2):
        batches = list(loader)
        assert len(batches) == len(loader) == -(-n // batch_size)
        seen = np.concatenate([yb for _, yb in batches])
        np.testing.assert_array_equal(np.sort(seen), y)
        for xb, yb in batches:
            assert xb.shape[1:] == (2,) and xb.shape[0] == yb.shape[0] <= batch_size
            np.testing.assert_array_equal(xb[:, 0], yb)  # samples stay paired with their targets
        assert all(len(yb) == batch_size for _, yb in batches[:-1])
        if not shuffle:
            np.testing.assert_array_equal(seen, y)


@SETTINGS
@given(n=st.integers(1, 200), batch_size=st.integers(1, 70))
def test_loader_drop_last(n, batch_size):
    if batch_size > n:
        with pytest.raises(ValueError, match="drop_last"):
            DataLoader(np.zeros((n, 3)), np.zeros(n), batch_size=batch_size, drop_last=True)
        return
    y = np.arange(n)
    loader = DataLoader(np.zeros((n, 3)), y, batch_size=batch_size, shuffle=True, drop_last=True, rng=1)
    batches = list(loader)
    assert len(batches) == len(loader) == n // batch_size
    assert all(xb.shape == (batch_size, 3) and yb.shape == (batch_size,) for xb, yb in batches)
    seen = np.concatenate([yb for _, yb in batches]) if batches else np.array([], int)
    assert len(np.unique(seen)) == len(seen) == (n // batch_size) * batch_size


def test_loader_image_shapes_and_dtype_kept():
    X = np.random.default_rng(0).random((50, 1, 8, 8)).astype(np.float32)
    y = np.arange(50)
    xb, yb = next(iter(DataLoader(X, y, batch_size=16)))
    assert xb.shape == (16, 1, 8, 8) and xb.dtype == np.float32 and yb.shape == (16,)


def test_loader_deterministic_after_seed_and_reshuffles_each_epoch():
    X, y = np.arange(100.0)[:, None], np.arange(100)
    dlcourse.seed(0)
    a = DataLoader(X, y, batch_size=10, shuffle=True)
    dlcourse.seed(0)
    b = DataLoader(X, y, batch_size=10, shuffle=True)
    a1, a2 = _collect(a), _collect(a)
    b1, b2 = _collect(b), _collect(b)
    for (xa, ya), (xb, yb) in zip(a1 + a2, b1 + b2):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    order1 = np.concatenate([yb for _, yb in a1])
    order2 = np.concatenate([yb for _, yb in a2])
    assert not np.array_equal(order1, order2), "a new epoch must draw a new order"
    assert not np.array_equal(order1, y), "shuffle=True must shuffle"


def test_loader_order_independent_of_later_global_draws():
    X, y = np.arange(64.0)[:, None], np.arange(64)
    dlcourse.seed(3)
    a = DataLoader(X, y, batch_size=8, shuffle=True)
    ref = np.concatenate([yb for _, yb in a])
    dlcourse.seed(3)
    b = DataLoader(X, y, batch_size=8, shuffle=True)
    dlcourse.get_rng().standard_normal(1000)  # e.g. weight initialisation after building the loader
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in b]), ref)


def test_loader_int_seed_reproducible_and_distinct_seeds_differ():
    X, y = np.zeros((40, 1)), np.arange(40)
    order = lambda s: np.concatenate([yb for _, yb in DataLoader(X, y, batch_size=7, shuffle=True, rng=s)])
    np.testing.assert_array_equal(order(5), order(5))
    assert not np.array_equal(order(5), order(6))


def test_loader_accepts_tuple_and_unlabelled_data():
    X, y = np.arange(10.0)[:, None], np.arange(10)
    batches = list(DataLoader((X, y), batch_size=4))
    np.testing.assert_array_equal(batches[-1][1], [8, 9])
    only_x = list(DataLoader(X, batch_size=4))
    assert isinstance(only_x[0], np.ndarray) and only_x[0].shape == (4, 1)
    with pytest.raises(TypeError, match="tuple"):
        DataLoader((X, y), y)


def test_loader_batches_are_copies():
    X = np.zeros((8, 2))
    for xb, _ in DataLoader(X, np.arange(8), batch_size=4):
        xb += 1
    assert not X.any()


def test_loader_errors():
    with pytest.raises(ValueError, match=r"same number of samples.*10.*9"):
        DataLoader(np.zeros((10, 2)), np.zeros(9))
    for bad in (0, -3, 2.5, True, None):
        with pytest.raises(ValueError, match="batch_size"):
            DataLoader(np.zeros((10, 2)), np.zeros(10), batch_size=bad)
    with pytest.raises(TypeError, match="shuffle"):
        DataLoader(np.zeros((10, 2)), np.zeros(10), shuffle="yes")
    with pytest.raises(ValueError, match="no samples"):
        DataLoader(np.zeros((0, 2)), np.zeros(0))
    with pytest.raises(TypeError, match="transform"):
        DataLoader(np.zeros((10, 2)), transform=3)


def test_loader_transform_uses_loader_rng():
    X = np.random.default_rng(0).random((32, 1, 4, 4))
    flipped = [xb for xb, _ in DataLoader(X, np.arange(32), batch_size=8, transform=RandomHorizontalFlip(p=1.0))]
    np.testing.assert_array_equal(np.concatenate(flipped), X[..., ::-1])
    # a random transform draws from the loader's generator: same seed, same augmented batches
    aug = Compose([RandomCrop(4, padding=1), RandomHorizontalFlip()])
    run = lambda: np.concatenate([xb for xb, _ in DataLoader(X, np.arange(32), batch_size=8, transform=aug, rng=4)])
    np.testing.assert_array_equal(run(), run())
    assert not np.array_equal(run(), X)
    # a plain callable without an rng argument is called as transform(xb)
    doubled = [xb for xb, _ in DataLoader(X, np.arange(32), batch_size=8, transform=lambda a: 2 * a)]
    np.testing.assert_array_equal(np.concatenate(doubled), 2 * X)


# ------------------------------------------------------------------ splits (Seed 8.2)
fractions_st = st.tuples(st.integers(0, 10), st.integers(0, 10), st.integers(1, 10)).map(
    lambda t: tuple(v / sum(t) for v in t))


@SETTINGS
@given(n=st.integers(1, 300), fractions=fractions_st, seed=st.integers(0, 99))
def test_split_sizes_disjoint_complete(n, fractions, seed):
    X = np.arange(n, dtype=np.float64)[:, None]
    y = np.arange(n)
    parts = train_val_test_split(X, y, fractions=fractions, rng=seed)
    idx = np.concatenate([p.y for p in parts])
    np.testing.assert_array_equal(np.sort(idx), y)  # every sample in exactly one split
    for p, f in zip(parts, fractions):
        assert abs(len(p.y) - f * n) < 1
        np.testing.assert_array_equal(p.X[:, 0], p.y)


@SETTINGS
@given(counts=st.lists(st.integers(1, 60), min_size=2, max_size=5), fractions=fractions_st, seed=st.integers(0, 99))
def test_split_stratified_keeps_class_proportions(counts, fractions, seed):
    y = np.repeat(np.arange(len(counts)), counts)
    X = np.arange(len(y))
    parts = train_val_test_split(X, y, fractions=fractions, stratify=True, rng=seed)
    np.testing.assert_array_equal(np.sort(np.concatenate([p.X for p in parts])), X)
    for p, f in zip(parts, fractions):
        np.testing.assert_array_equal(y[p.X], p.y)
        per_class = np.bincount(p.y, minlength=len(counts))
        assert np.all(np.abs(per_class - f * np.array(counts)) < 1)


def test_split_default_is_60_20_20_and_named():
    X, y = np.zeros((100, 3)), np.arange(100) % 4
    s = train_val_test_split(X, y, rng=0)
    assert [len(s.train.X), len(s.val.X), len(s.test.X)] == [60, 20, 20]
    X_tr, y_tr = s.train
    assert X_tr.shape == (60, 3) and y_tr.shape == (60,)
    s2 = train_val_test_split(X, y, stratify=True, rng=0)
    assert list(np.bincount(s2.val.y)) == [5, 5, 5, 5]
    assert not np.array_equal(s2.train.y, np.sort(s2.train.y)), "splits are shuffled, not sorted by class"


def test_split_reproducible_and_errors():
    X, y = np.arange(50.0), np.arange(50)
    a, b = train_val_test_split(X, y, rng=7), train_val_test_split(X, y, rng=7)
    for pa, pb in zip(a, b):
        np.testing.assert_array_equal(pa.X, pb.X)
    with pytest.raises(ValueError, match="sum to 1"):
        train_val_test_split(X, y, fractions=(0.5, 0.2, 0.2))
    with pytest.raises(ValueError, match="three"):
        train_val_test_split(X, y, fractions=(0.5, 0.5))
    with pytest.raises(ValueError, match="same number of samples"):
        train_val_test_split(X, y[:-1])
    with pytest.raises(ValueError, match=r"shape \(N,\)"):
        train_val_test_split(X, np.zeros((50, 2), int), stratify=True)


# ------------------------------------------------------------------ generators
GENERATORS = [(make_moons, 2), (make_circles, 2), (make_spirals, 3), (make_blobs, 3)]


@pytest.mark.parametrize("make, classes", GENERATORS)
@pytest.mark.parametrize("n", [7, 200, 301])
def test_generator_shapes_labels_balance(make, classes, n):
    X, y = make(n, rng=0)
    assert X.shape == (n, 2) and X.dtype == np.float64 and y.shape == (n,) and y.dtype == np.int64
    counts = np.bincount(y, minlength=classes)
    assert len(counts) == classes and counts.max() - counts.min() <= 1
    assert np.all(np.isfinite(X))
    X2, y2 = make(n, rng=0)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    if n >= 10:
        assert np.any(np.diff(y) < 0), "samples are shuffled, not sorted by class"


def _nearest_arc_labels(X: np.ndarray) -> np.ndarray:
    """Classify by the nearer noise-free moon: the 'known curve' that separates make_moons."""
    t = np.linspace(0, np.pi, 2000)
    arcs = [np.stack([np.cos(t), np.sin(t)], 1), np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1)]
    dist = [np.min(np.linalg.norm(X[:, None, :] - a[None], axis=2), axis=1) for a in arcs]
    return (dist[1] < dist[0]).astype(np.int64)


def _linearly_separable(X: np.ndarray, y: np.ndarray) -> bool:
    """Feasibility of s_i (w.x_i + b) >= 1 as a linear programme."""
    s = np.where(y == 1, 1.0, -1.0)
    A = -s[:, None] * np.hstack([X, np.ones((len(X), 1))])
    res = linprog(np.zeros(3), A_ub=A, b_ub=-np.ones(len(X)), bounds=[(None, None)] * 3, method="highs")
    return res.status == 0


def test_moons_not_linearly_separable_but_separated_by_their_arcs():
    X, y = make_moons(400, noise=0.0, rng=0)
    assert not _linearly_separable(X, y)
    np.testing.assert_array_equal(_nearest_arc_labels(X), y)
    Xn, yn = make_moons(1000, noise=0.1, rng=1)
    assert np.mean(_nearest_arc_labels(Xn) == yn) > 0.97
    # the LP check itself can say yes: blobs far apart are linearly separable
    Xb, yb = make_blobs(200, centers=np.array([[-5.0, 0.0], [5.0, 0.0]]), std=0.5, rng=0)
    assert _linearly_separable(Xb, yb)


def test_circles_spirals_blobs_geometry():
    X, y = make_circles(300, noise=0.0, factor=0.4, rng=0)
    r = np.linalg.norm(X, axis=1)
    np.testing.assert_allclose(r[y == 0], 1.0)
    np.testing.assert_allclose(r[y == 1], 0.4)
    assert not _linearly_separable(X, y)
    X, y = make_spirals(600, classes=4, noise=0.0, rng=0)
    r = np.linalg.norm(X, axis=1)
    assert r.min() >= 0 and r.max() <= 1 + 1e-12
    assert set(np.unique(y)) == {0, 1, 2, 3}
    centers = np.array([[0.0, 0.0], [10.0, 3.0]])
    X, y = make_blobs(20000, centers=centers, std=0.7, rng=0)
    for k in range(2):
        np.testing.assert_allclose(X[y == k].mean(0), centers[k], atol=0.03)
        np.testing.assert_allclose(X[y == k].std(0), 0.7, rtol=0.03)


def test_generators_fast_and_validated():
    t = time.perf_counter()
    for make, _ in GENERATORS:
        make(10000, rng=0)
    assert time.perf_counter() - t < 0.5
    with pytest.raises(ValueError, match="noise"):
        make_moons(10, noise=-1)
    with pytest.raises(ValueError, match="smaller than the number of classes"):
        make_spirals(2, classes=3)
    with pytest.raises(ValueError, match=r"\(k, 2\)"):
        make_blobs(10, centers=np.zeros((3, 3)))


# ------------------------------------------------------------------ augmentation (Seed 4.5.8)
def _images(n=6, c=2, h=9, w=7, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).random((n, c, h, w)).astype(dtype)


def test_flip_twice_is_identity():
    x = _images()
    always = RandomHorizontalFlip(p=1.0)
    np.testing.assert_array_equal(always(x), x[..., ::-1])
    np.testing.assert_array_equal(always(always(x)), x)
    np.testing.assert_array_equal(hflip(hflip(x)), x)
    half = RandomHorizontalFlip(p=0.5)
    np.testing.assert_array_equal(half(half(x, rng=3), rng=3), x)  # same draws flip the same images back
    np.testing.assert_array_equal(RandomHorizontalFlip(p=0.0)(x), x)


def test_flip_probability():
    x = _images(n=4000, c=1, h=1, w=2)
    out = RandomHorizontalFlip(p=0.3)(x, rng=0)
    flipped = np.all(out == x[..., ::-1], axis=(1, 2, 3)) & ~np.all(x == x[..., ::-1], axis=(1, 2, 3))
    assert 0.27 < flipped.mean() < 0.33


@SETTINGS
@given(h=st.integers(1, 12), w=st.integers(1, 12), pad=st.integers(0, 3), data=st.data())
def test_random_crop_is_a_window_of_the_padded_image(h, w, pad, data):
    x = _images(n=4, c=2, h=h, w=w, seed=h * 13 + w)
    ch = data.draw(st.integers(1, h + 2 * pad))
    cw = data.draw(st.integers(1, w + 2 * pad))
    out = RandomCrop((ch, cw), padding=pad)(x, rng=data.draw(st.integers(0, 99)))
    assert out.shape == (4, 2, ch, cw) and out.dtype == x.dtype
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    for i in range(len(x)):
        assert any(np.array_equal(out[i], padded[i, :, t:t + ch, l:l + cw])
                   for t in range(h + 2 * pad - ch + 1) for l in range(w + 2 * pad - cw + 1))


def test_random_crop_offsets_cover_all_positions():
    x = np.zeros((3000, 1, 5, 5))
    x[:, :, 0, 0] = 1.0  # the marker's position in the crop reveals the offset
    out = RandomCrop(3, padding=1)(x, rng=0)
    pos = np.argwhere(out[:, 0] == 1.0)[:, 1:]
    found = {tuple(p) for p in pos}
    assert found == {(0, 0), (0, 1), (1, 0), (1, 1)}  # marker visible only at offsets 0 and 1 in each axis
    assert abs(len(pos) / 3000 - 4 / 25) < 0.03  # offsets uniform over 0..4 in each axis of the padded 7 x 7


def test_center_and_five_crops_are_fixed():
    x = _images(h=28, w=28, c=1, n=3)
    np.testing.assert_array_equal(CenterCrop(24)(x), x[:, :, 2:26, 2:26])
    np.testing.assert_array_equal(CenterCrop((3, 5))(_images(h=6, w=8))[0], _images(h=6, w=8)[0, :, 2:5, 2:7])
    five = FiveCrop(20)
    views = five(x, rng=0)
    again = five(x, rng=123)
    assert len(views) == len(five) == 5
    for a, b in zip(views, again):
        np.testing.assert_array_equal(a, b)
    expected = [x[:, :, :20, :20], x[:, :, :20, 8:], x[:, :, 8:, :20], x[:, :, 8:, 8:], x[:, :, 4:24, 4:24]]
    for v, e in zip(views, expected):
        np.testing.assert_array_equal(v, e)
    ten = FiveCrop(20, hflip=True)(x)
    assert len(ten) == 10
    np.testing.assert_array_equal(ten[7], expected[2][..., ::-1])
    np.testing.assert_array_equal(crop(x, 1, 2, 3, 4), x[:, :, 1:4, 2:6])


def test_predict_with_crops_averages_scores():
    x = _images(h=10, w=10, c=1, n=4)
    W = np.random.default_rng(1).standard_normal((64, 3))
    predict = lambda v: v.reshape(len(v), -1) @ W
    expected = np.mean([predict(v) for v in FiveCrop(8)(x)], axis=0)
    np.testing.assert_allclose(predict_with_crops(predict, x, FiveCrop(8)), expected)
    pair = [CenterCrop(8), Compose([hflip, CenterCrop(8)])]
    expected = (predict(x[:, :, 1:9, 1:9]) + predict(x[:, :, 1:9, 1:9][..., ::-1])) / 2
    np.testing.assert_allclose(predict_with_crops(predict, x, pair), expected)
    np.testing.assert_allclose(predict_with_crops(predict, x, CenterCrop(8)), predict(x[:, :, 1:9, 1:9]))


def test_brightness_contrast_statistics():
    x = 0.25 + 0.5 * _images(n=3000, c=1, h=4, w=4)  # in [0.25, 0.75]
    mean = x.mean(axis=(1, 2, 3))
    std = x.std(axis=(1, 2, 3))
    out = BrightnessContrast(brightness=0.0, contrast=0.4, clip=None)(x, rng=0)
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), mean, atol=1e-12)  # contrast keeps the mean
    ratio = out.std(axis=(1, 2, 3)) / std
    assert ratio.min() >= 0.6 - 1e-9 and ratio.max() <= 1.4 + 1e-9
    assert abs(ratio.mean() - 1.0) < 0.02 and abs(ratio.std() - 0.8 / np.sqrt(12)) < 0.02  # U[0.6, 1.4]
    out = BrightnessContrast(brightness=0.2, contrast=0.0, clip=None)(x, rng=0)
    b = out.mean(axis=(1, 2, 3)) / mean
    assert b.min() >= 0.8 - 1e-9 and b.max() <= 1.2 + 1e-9 and abs(b.mean() - 1) < 0.01
    np.testing.assert_allclose(out, b[:, None, None, None] * x)  # brightness is a per-image scale
    clipped = BrightnessContrast(0.9, 0.9)(_images(n=200, dtype=np.float32), rng=1)
    assert clipped.dtype == np.float32 and clipped.min() >= 0.0 and clipped.max() <= 1.0
    np.testing.assert_allclose(BrightnessContrast(0.0, 0.0)(x), x, rtol=1e-12)


def test_compose_applies_in_order_with_one_generator():
    x = _images(h=8, w=8)
    steps = [RandomCrop(6, padding=1), RandomHorizontalFlip(), BrightnessContrast()]
    g = np.random.default_rng(5)
    manual = x
    for t in steps:
        manual = t(manual, rng=g)
    np.testing.assert_array_equal(Compose(steps)(x, rng=5), manual)
    assert Compose(steps)(x, rng=5).shape == (6, 2, 6, 6)


def test_augmentations_do_not_modify_input_and_check_layout():
    x = _images()
    before = x.copy()
    for t in (RandomHorizontalFlip(1.0), RandomCrop(5, padding=2), BrightnessContrast(), CenterCrop(3)):
        t(x, rng=0)
    np.testing.assert_array_equal(x, before)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        RandomHorizontalFlip()(x[0])
    with pytest.raises(TypeError, match="floating-point"):
        RandomCrop(2)(np.zeros((1, 1, 4, 4), dtype=np.uint8))
    with pytest.raises(ValueError, match="does not fit"):
        CenterCrop(10)(x)
    with pytest.raises(ValueError, match="p must lie"):
        RandomHorizontalFlip(1.5)


# ------------------------------------------------------------------ bundled datasets
@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.fixture(scope="module")
def fashion():
    return load_fashion_mnist()


def _hashes(X: np.ndarray) -> set[bytes]:
    return {hashlib.sha1(row.tobytes()).digest() for row in X.reshape(len(X), -1)}


@pytest.mark.parametrize("name, shape, n_train, n_test", [("digits", (1, 8, 8), 1437, 360),
                                                          ("fashion", (1, 28, 28), 10000, 2000)])
def test_dataset_shapes_dtypes_range(name, shape, n_train, n_test, request):
    d = request.getfixturevalue(name)
    assert d.X_train.shape == (n_train, *shape) and d.X_test.shape == (n_test, *shape)
    for X, y in ((d.X_train, d.y_train), (d.X_test, d.y_test)):
        assert X.dtype == np.float32 and y.dtype == np.int64 and y.shape == (len(X),)
        assert X.min() == 0.0 and X.max() == 1.0
        assert y.min() == 0 and y.max() == len(d.classes) - 1 == 9
    assert d.num_classes == 10 and d.description


def test_dataset_class_balance(digits, fashion):
    assert np.all(np.bincount(fashion.y_train) == 1000) and np.all(np.bincount(fashion.y_test) == 200)
    assert np.all(np.bincount(digits.y_test) == 36)
    counts = np.bincount(digits.y_train)
    assert counts.sum() == 1437 and counts.min() >= 138 and counts.max() <= 147
    assert fashion.classes[9] == "Ankle boot" and digits.classes[3] == "3"


def test_train_and_test_share_no_image(digits, fashion):
    for d in (digits, fashion):
        assert not _hashes(d.X_train) & _hashes(d.X_test)
        assert len(_hashes(d.X_test)) == len(d.X_test)
        assert not np.array_equal(np.sort(d.y_train[:50]), d.y_train[:50]), "training set is shuffled"


def test_dataset_flatten_and_unpack():
    X_tr, y_tr, X_te, y_te = load_digits(flatten=True)
    assert X_tr.shape == (1437, 64) and X_te.shape == (360, 64)
    np.testing.assert_array_equal(X_tr.reshape(-1, 1, 8, 8), load_digits().X_train)
    # pixels were 0..16 counts: scaled values are exact multiples of 1/16
    np.testing.assert_allclose(X_tr * 16, np.round(X_tr * 16), atol=1e-5)


def test_dataset_returns_copies_and_loads_fast():
    load_fashion_mnist()  # warm the cache
    t = time.perf_counter()
    d = load_fashion_mnist()
    load_digits()
    assert time.perf_counter() - t < 0.5
    d.X_train[:] = 7.0
    d.y_train[:] = -1
    fresh = load_fashion_mnist()
    assert fresh.X_train.max() == 1.0 and fresh.y_train.min() == 0


def test_missing_file_error_says_how_to_rebuild(tmp_path, monkeypatch):
    monkeypatch.setattr(ds_module, "DATA_DIR", tmp_path)
    ds_module._read.cache_clear()
    try:
        with pytest.raises(FileNotFoundError, match="build_datasets.py"):
            load_digits()
    finally:
        monkeypatch.undo()
        ds_module._read.cache_clear()
    assert load_digits().X_train.shape == (1437, 1, 8, 8)


def test_data_files_are_package_data():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["dlcourse.data"]
    files_dir = importlib.resources.files("dlcourse.data") / "files"
    shipped = {"digits.npz", "fashion_mnist_subset.npz", "LICENSES.md"}
    present = {p.name for p in files_dir.iterdir()}
    assert shipped <= present
    for name in shipped:
        assert any(fnmatch(f"files/{name}", pat) for pat in patterns), f"{name} not in package-data {patterns}"
    assert (files_dir / "fashion_mnist_subset.npz").stat().st_size < 8e6
    licences = (files_dir / "LICENSES.md").read_text()
    for word in ("MIT", "Zalando", "BSD", "UCI", "scikit-learn", "seed"):
        assert word in licences


def _build_script():
    spec = importlib.util.spec_from_file_location("build_datasets", REPO / "scripts" / "build_datasets.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_datasets"] = module
    spec.loader.exec_module(module)
    return module


def test_digits_split_is_reproduced_by_the_build_script():
    build = _build_script()
    with np.load(ds_module.DATA_DIR / "digits.npz") as z:
        shipped = {k: z[k] for k in z.files}
    # put the source file back together from the stored indices, then redo the seeded split
    n = len(shipped["train_index"]) + len(shipped["test_index"])
    images = np.empty((n, 8, 8), np.uint8)
    labels = np.empty(n, np.uint8)
    for part in ("train", "test"):
        images[shipped[f"{part}_index"]] = shipped[f"X_{part}"]
        labels[shipped[f"{part}_index"]] = shipped[f"y_{part}"]
    rebuilt = build.build_digits(images, labels, np.random.default_rng([build.SEED, 2]))
    for k, v in rebuilt.items():
        np.testing.assert_array_equal(v, shipped[k], err_msg=k)


@pytest.mark.skipif(not Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").exists(),
                    reason="Debian package dataset-fashion-mnist not installed")
def test_fashion_subset_matches_its_source():
    build = _build_script()
    src = Path("/usr/share/datasets/fashion-mnist")
    with np.load(ds_module.DATA_DIR / "fashion_mnist_subset.npz") as z:
        shipped = {k: z[k] for k in z.files}
    x_te, y_te = build.read_idx(src / "t10k-images-idx3-ubyte.gz"), build.read_idx(src / "t10k-labels-idx1-ubyte.gz")
    np.testing.assert_array_equal(x_te[shipped["test_index"]], shipped["X_test"])
    np.testing.assert_array_equal(y_te[shipped["test_index"]], shipped["y_test"])
    y_tr = build.read_idx(src / "train-labels-idx1-ubyte.gz")
    np.testing.assert_array_equal(y_tr[shipped["train_index"]], shipped["y_train"])
