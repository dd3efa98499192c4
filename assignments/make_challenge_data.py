#!/usr/bin/env python
"""Build the held-out data of assignment 08_challenge: ``python assignments/make_challenge_data.py``.

The training challenge is graded on Fashion-MNIST test images the students never get labels for
(seed 8.2: the test set is used once, at the end).  They come from the official 10,000 test images
(``t10k-*`` idx files of Debian's ``dataset-fashion-mnist`` package, ``/usr/share/datasets/fashion-mnist``)
**minus** the 2,000 already bundled in ``dlcourse/data/files/fashion_mnist_subset.npz`` (its
``test_index``) and minus any image byte-identical to a bundled or official training image, so no
held-out image can be in what students train or validate on.  A seeded, class-balanced draw gives

* ``heldout``: 200 images of each of the 10 classes (2,000) for part 1, the classifier;
* ``heldout_transfer``: 200 *other* images of each of the four new-task classes of
  ``dlcourse.transfer`` (Shirt, Sneaker, Bag, Ankle boot; 800), labels renumbered 0..3 in the order of
  ``dlcourse.transfer.NEW_TASK_CLASSES``, for the transfer-learning part.

Written files (each .npz has fixed zip timestamps, so a rebuild gives identical arrays and, with the same
zlib, identical bytes):

* ``assignments/source/08_challenge/heldout_inputs.npz`` — the **inputs only**: ``X`` (2000, 28, 28) and
  ``X_transfer`` (800, 28, 28), uint8 pixels 0..255.  Released with the notebook and copied next to it
  when grading; the hidden tests predict on them.
* ``solutions/08_challenge/grading/heldout.npz`` and ``heldout_transfer.npz`` — ``labels`` (int64),
  ``target`` (the minimum accuracy for the points) and ``index`` (position in the ``t10k`` files).
  Instructor-only: the grader (``HardenedExecute.heldout_root``) scores the predictions a hidden test
  hands over against these labels outside the student's kernel, which cannot read ``solutions/``
  (see ``assignments/AUTHORING.md``, section 4).

``--check`` rebuilds in memory and exits 1 if the stored files hold different arrays.
"""
from __future__ import annotations

import argparse
import gzip
import io
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np

SEED = 20250808
ROOT = Path(__file__).resolve().parents[1]
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
BUNDLED = ROOT / "dlcourse" / "data" / "files" / "fashion_mnist_subset.npz"
INPUTS = ROOT / "assignments" / "source" / "08_challenge" / "heldout_inputs.npz"
GRADING = ROOT / "solutions" / "08_challenge" / "grading"
PER_CLASS = 200
#: Fashion-MNIST labels of the transfer task, in the order of dlcourse.transfer.NEW_TASK_CLASSES
NEW_TASK_CLASSES = (6, 7, 8, 9)
#: minimum held-out accuracy for the points: a two-layer MLP trained for a few epochs on the bundled
#: 10,000 images reaches ~0.84, a linear softmax classifier ~0.80
TARGET_CLASSIFIER = 0.82
#: fine-tuning the pretrained CNN on 20 images per class reaches ~0.93 on these four classes
TARGET_TRANSFER = 0.90


def read_idx(path: Path) -> np.ndarray:
    """An idx file of unsigned bytes (the MNIST format), gzipped or not."""
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    zero, code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte idx file")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like ``np.savez_compressed``, with sorted members and fixed timestamps (reproducible bytes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            member = io.BytesIO()
            array = np.asarray(arrays[name])
            # ascontiguousarray would turn a 0-d array (the target) into shape (1,)
            array = np.ascontiguousarray(array) if array.ndim else array
            np.lib.format.write_array(member, array, allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, member.getvalue())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())


def candidates() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(images, labels, index)`` of the official test images that students can never have seen."""
    images = read_idx(FASHION_DIR / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(FASHION_DIR / "t10k-labels-idx1-ubyte.gz").astype(np.int64)
    with np.load(BUNDLED) as bundled:
        used = set(bundled["test_index"].tolist())
        seen = {img.tobytes() for img in bundled["X_train"]} | {img.tobytes() for img in bundled["X_test"]}
    seen |= {img.tobytes() for img in read_idx(FASHION_DIR / "train-images-idx3-ubyte.gz")}
    keep = np.array([i not in used and images[i].tobytes() not in seen for i in range(len(images))])
    index = np.flatnonzero(keep)
    return images[index], labels[index], index


def build() -> dict[Path, dict[str, np.ndarray]]:
    images, labels, index = candidates()
    rng = np.random.default_rng(SEED)
    order = rng.permutation(len(labels))  # one shuffle, then the first PER_CLASS of each class per set
    taken: set[int] = set()

    def draw(classes) -> np.ndarray:
        picks = []
        for c in classes:
            pool = [i for i in order if labels[i] == c and i not in taken][:PER_CLASS]
            if len(pool) < PER_CLASS:
                raise RuntimeError(f"only {len(pool)} unused test images of class {c}")
            taken.update(pool)
            picks += pool
        picks = np.array(picks)
        return picks[rng.permutation(len(picks))]

    main = draw(range(10))
    transfer = draw(NEW_TASK_CLASSES)
    remap = np.full(10, -1)
    remap[list(NEW_TASK_CLASSES)] = np.arange(len(NEW_TASK_CLASSES))
    assert not set(index[main]) & set(index[transfer])
    return {
        INPUTS: {"X": images[main], "X_transfer": images[transfer]},
        GRADING / "heldout.npz": {"labels": labels[main], "target": np.array(TARGET_CLASSIFIER),
                                  "index": index[main]},
        GRADING / "heldout_transfer.npz": {"labels": remap[labels[transfer]].astype(np.int64),
                                           "target": np.array(TARGET_TRANSFER), "index": index[transfer]},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the stored files, write nothing")
    args = parser.parse_args(argv)
    files = build()
    stale = []
    for path, arrays in files.items():
        if args.check:
            try:
                with np.load(path) as stored:
                    same = sorted(stored.files) == sorted(arrays) and all(
                        np.array_equal(stored[k], v) for k, v in arrays.items())
            except FileNotFoundError:
                same = False
            if not same:
                stale.append(path)
            continue
        write_npz(path, arrays)
        sizes = ", ".join(f"{k} {v.shape}" for k, v in arrays.items())
        print(f"written: {path.relative_to(ROOT)} ({path.stat().st_size / 1e6:.2f} MB): {sizes}")
    for path in stale:
        print(f"out of date: {path.relative_to(ROOT)}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
