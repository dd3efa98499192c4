"""The shapes segmentation generator (dlcourse.data.shapes) for U-Net (seed 6.10.2)."""
import time

import numpy as np
import pytest

from dlcourse.data.shapes import SHAPE_CLASSES, make_shapes

pytestmark = [pytest.mark.conv, pytest.mark.data]


def bounding_box_fill(mask: np.ndarray) -> float:
    """Fraction of the shape's axis-aligned bounding box that the shape covers."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return mask.sum() / ((rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1))


def test_shapes_dtypes_and_classes():
    images, masks = make_shapes(50, size=24, rng=0)
    assert images.shape == (50, 1, 24, 24) and images.dtype == np.float32
    assert masks.shape == (50, 24, 24) and masks.dtype == np.int64
    assert SHAPE_CLASSES == ("background", "circle", "square", "triangle")
    assert set(np.unique(masks)) == {0, 1, 2, 3}
    assert np.all((masks > 0).any(axis=(1, 2)))  # every image shows at least one shape
    colour, _ = make_shapes(4, rng=0, channels=3)
    assert colour.shape == (4, 3, 32, 32)


def test_images_agree_with_masks_without_noise():
    images, masks = make_shapes(100, rng=1, noise=0.0, channels=3)
    background = masks == 0
    assert np.all(images.transpose(0, 2, 3, 1)[background] == 0)
    assert np.all(images.transpose(0, 2, 3, 1)[~background] >= 0.4)  # shapes are painted in [0.4, 1)
    noisy, noisy_masks = make_shapes(100, rng=1, noise=0.2, channels=3)
    np.testing.assert_array_equal(noisy_masks, masks)
    assert (noisy - images).std() == pytest.approx(0.2, rel=0.05)


def test_reproducible_with_a_seed():
    a, ma = make_shapes(20, rng=5)
    b, mb = make_shapes(20, rng=5)
    c, mc = make_shapes(20, rng=6)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ma, mb)
    assert not np.array_equal(ma, mc)


def test_the_class_is_the_geometry():
    """Single shapes: a circle fills π/4 of its bounding box; a triangle at most half (plus pixel rounding);
    a square between 1/2 (45°) and 1 (axis-aligned).  Colour is independent of the class."""
    images, masks = make_shapes(300, rng=2, max_shapes=1, noise=0.0, radius_range=(0.25, 0.35))
    fills = {k: [] for k in (1, 2, 3)}
    colours = {k: [] for k in (1, 2, 3)}
    for image, mask in zip(images, masks):
        kind = int(mask.max())
        fills[kind].append(bounding_box_fill(mask == kind))
        colours[kind].append(image[0][mask == kind].mean())
    assert all(len(f) > 60 for f in fills.values())
    assert 0.72 < np.min(fills[1]) and np.max(fills[1]) < 0.86
    assert np.max(fills[3]) < 0.62 and np.mean(fills[3]) < 0.55
    assert np.min(fills[2]) > 0.45 and np.mean(fills[2]) > np.mean(fills[3]) + 0.1
    means = [np.mean(colours[k]) for k in (1, 2, 3)]
    assert max(means) - min(means) < 0.1  # no class can be read off the brightness


def test_vectorised_speed():
    make_shapes(50, rng=0)
    start = time.perf_counter()
    make_shapes(1000, size=32, rng=0)
    assert time.perf_counter() - start < 2.0  # ~0.07 s on 2 cores; generous for a shared machine


def test_errors():
    with pytest.raises(ValueError, match="channels"):
        make_shapes(2, channels=2)
    with pytest.raises(ValueError, match="size"):
        make_shapes(2, size=4)
    with pytest.raises(ValueError, match="n"):
        make_shapes(0)
    with pytest.raises(ValueError, match="noise"):
        make_shapes(2, noise=-1.0)
    with pytest.raises(ValueError, match="radius_range"):
        make_shapes(2, radius_range=(0.3, 0.1))
