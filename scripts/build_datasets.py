#!/usr/bin/env python3
"""Rebuild the datasets bundled in ``dlcourse/data/files/`` from their public sources, reproducibly.

    python scripts/build_datasets.py                 # both files
    python scripts/build_datasets.py --only fashion  # one of them

Sources (no network beyond pip's ordinary package download is needed):

* ``fashion_mnist_subset.npz``: the original Fashion-MNIST idx files as installed by Debian's
  ``dataset-fashion-mnist`` package (``apt-get install dataset-fashion-mnist``; files in
  ``/usr/share/datasets/fashion-mnist``).  A seeded, class-balanced subset: 1,000 images per class from
  the 60,000 training images (10,000) and 200 per class from the 10,000 test images (2,000).
* ``digits.npz``: ``sklearn/datasets/data/digits.csv.gz`` read straight out of scikit-learn's wheel
  (``pip download --no-deps scikit-learn``; scikit-learn is *not* installed).  All 1,797 8x8 images,
  split with a seeded, stratified draw of 36 test images per class (360 test, 1,437 train).

Both splits exclude from the test side any image that is byte-identical to a training image (there
are none in either source today; the check keeps it so).  Arrays are stored as uint8 together with the
indices of the chosen samples in the source files.  The ``.npz`` is written like
``np.savez_compressed`` but with fixed zip timestamps, so two runs give identical arrays and (with the
same zlib) byte-identical files; the script prints the SHA-256 of every file and array.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import os
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

SEED = 20170825  # the Fashion-MNIST release date; any fixed value works
REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / "dlcourse" / "data" / "files"
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_TRAIN_PER_CLASS, FASHION_TEST_PER_CLASS = 1000, 200
DIGITS_TEST_PER_CLASS = 36
DIGITS_MEMBER = "sklearn/datasets/data/digits.csv.gz"


# ---------------------------------------------------------------- reading the sources
def read_idx(path: Path) -> np.ndarray:
    """Read a (gzipped) idx file of unsigned bytes, the format of MNIST and Fashion-MNIST."""
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte idx file (header {raw[:4]!r})")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: header says {dims}, file holds {data.size} values")
    return data.reshape(dims)


def find_sklearn_wheel(wheel: str | None, workdir: Path) -> Path:
    """The given wheel, or one fetched with ``pip download --no-deps scikit-learn`` into ``workdir``."""
    if wheel:
        return Path(wheel)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                    "scikit-learn", "-d", str(workdir), "-q"], check=True)
    wheels = sorted(workdir.glob("scikit_learn-*.whl"))
    if not wheels:
        raise SystemExit("pip download did not produce a scikit-learn wheel")
    return wheels[-1]


def read_digits(wheel: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(1797, 8, 8)`` uint8 in 0..16 and labels ``(1797,)`` from the csv inside the wheel."""
    with zipfile.ZipFile(wheel) as zf:
        raw = gzip.decompress(zf.read(DIGITS_MEMBER))
    table = np.loadtxt(io.BytesIO(raw), delimiter=",")
    if table.shape != (1797, 65) or table.min() < 0 or table[:, :64].max() > 16:
        raise ValueError(f"{wheel}:{DIGITS_MEMBER} has unexpected content, shape {table.shape}")
    return table[:, :64].astype(np.uint8).reshape(-1, 8, 8), table[:, 64].astype(np.uint8)


# ---------------------------------------------------------------- drawing the subsets
def image_keys(images: np.ndarray) -> list[bytes]:
    return [im.tobytes() for im in images]


def balanced_draw(labels: np.ndarray, per_class: int, rng: np.random.Generator,
                  allowed: np.ndarray | None = None) -> np.ndarray:
    """``per_class`` indices of every class without replacement, in a seeded random order."""
    ok = np.ones(len(labels), bool) if allowed is None else allowed
    chosen = []
    for cls in np.unique(labels):
        pool = np.flatnonzero((labels == cls) & ok)
        if len(pool) < per_class:
            raise ValueError(f"class {cls} has only {len(pool)} eligible samples, {per_class} requested")
        chosen.append(rng.choice(pool, size=per_class, replace=False))
    return rng.permutation(np.concatenate(chosen))


def build_fashion(src: Path, rng: np.random.Generator) -> dict[str, np.ndarray]:
    x_tr, y_tr = read_idx(src / "train-images-idx3-ubyte.gz"), read_idx(src / "train-labels-idx1-ubyte.gz")
    x_te, y_te = read_idx(src / "t10k-images-idx3-ubyte.gz"), read_idx(src / "t10k-labels-idx1-ubyte.gz")
    assert x_tr.shape == (60000, 28, 28) and x_te.shape == (10000, 28, 28), (x_tr.shape, x_te.shape)
    train_idx = balanced_draw(y_tr, FASHION_TRAIN_PER_CLASS, rng)
    seen = set(image_keys(x_tr))  # the whole training file, so no test image repeats any training image
    test_ok = np.array([k not in seen for k in image_keys(x_te)])
    test_idx = balanced_draw(y_te, FASHION_TEST_PER_CLASS, rng, allowed=test_ok)
    return {"X_train": x_tr[train_idx], "y_train": y_tr[train_idx], "X_test": x_te[test_idx],
            "y_test": y_te[test_idx], "train_index": train_idx.astype(np.int32),
            "test_index": test_idx.astype(np.int32), "pixel_max": np.array(255, np.uint8)}


def build_digits(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    keys = image_keys(images)
    counts: dict[bytes, int] = {}
    for k in keys:
        counts[k] = counts.get(k, 0) + 1
    unique = np.array([counts[k] == 1 for k in keys])  # a repeated image may only go to training
    test_idx = balanced_draw(labels, DIGITS_TEST_PER_CLASS, rng, allowed=unique)
    rest = np.setdiff1d(np.arange(len(labels)), test_idx)
    train_idx = rng.permutation(rest)
    return {"X_train": images[train_idx], "y_train": labels[train_idx], "X_test": images[test_idx],
            "y_test": labels[test_idx], "train_index": train_idx.astype(np.int32),
            "test_index": test_idx.astype(np.int32), "pixel_max": np.array(16, np.uint8)}


# ---------------------------------------------------------------- writing
def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez_compressed`` with a fixed timestamp per member (byte-reproducible), written atomically."""
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(arrays[name], order="C"), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buf.getvalue(), compresslevel=9)
    os.replace(tmp, path)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def report(path: Path) -> None:
    print(f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}  {path.stat().st_size / 1e6:.2f} MB  "
          f"sha256 {sha256(path.read_bytes())}")
    with np.load(path) as z:
        for name in sorted(z.files):
            a = z[name]
            print(f"    {name:12s} {str(a.shape):18s} {a.dtype}  sha256 {sha256(a.tobytes())[:16]}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=["digits", "fashion"], help="build one file only")
    ap.add_argument("--fashion-dir", default=str(FASHION_DIR), help="folder with the Fashion-MNIST idx .gz files")
    ap.add_argument("--sklearn-wheel", help="a scikit-learn wheel to read digits from (else pip downloads one)")
    ap.add_argument("--out", default=str(OUT_DIR), help="output folder")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.only in (None, "fashion"):
        src = Path(args.fashion_dir)
        if not (src / "train-images-idx3-ubyte.gz").exists():
            raise SystemExit(f"Fashion-MNIST idx files not found in {src}: apt-get install dataset-fashion-mnist "
                             f"or pass --fashion-dir")
        # separate generators per dataset, so rebuilding one never changes the other
        write_npz(out / "fashion_mnist_subset.npz", build_fashion(src, np.random.default_rng([SEED, 1])))
        report(out / "fashion_mnist_subset.npz")
    if args.only in (None, "digits"):
        with tempfile.TemporaryDirectory() as tmp:
            images, labels = read_digits(find_sklearn_wheel(args.sklearn_wheel, Path(tmp)))
        write_npz(out / "digits.npz", build_digits(images, labels, np.random.default_rng([SEED, 2])))
        report(out / "digits.npz")


if __name__ == "__main__":
    main()
