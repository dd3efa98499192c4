#!/usr/bin/env python
"""Build the held-out data of assignment 08_challenge: ``python assignments/make_challenge_data.py``.

Both graded training parts of the challenge are scored on data the students never get labels for
(seed 8.2: the test set is used once, at the end).

* ``heldout`` (part 1, the classifier): 200 images of each of the 10 Fashion-MNIST classes (2,000),
  drawn with a fixed seed from the official 10,000 test images (``t10k-*`` idx files of Debian's
  ``dataset-fashion-mnist`` package, ``/usr/share/datasets/fashion-mnist``) **minus** the 2,000 already
  bundled in ``dlcourse/data/files/fashion_mnist_subset.npz`` (its ``test_index``) and minus any image
  byte-identical to a bundled or official training image.  (Fashion-MNIST's test labels are public:
  a student who matches these images against the official files can find their labels.  The
  held-out set keeps honest students honest; it is not a secret.)
* ``heldout_transfer`` (part 3, transfer learning with ``dlcourse.transfer``'s ``"mnist1d_cnn_6class"``):
  the 800 test signals of digits 6–9 (200 each) of a fresh MNIST-1D draw,
  ``make_mnist1d(n_train=10000, n_test=2000, seed=<secret>)`` — the same generator and sizes as the
  pretraining data (seed 42), so the same distribution and standardisation, but other signals.  Labels
  are renumbered 0..3 (digit − 6), as in ``dlcourse.transfer.few_shot_task``.  The seed is drawn once
  with ``secrets`` and kept in ``solutions/08_challenge/grading/mnist1d_seed.txt`` (instructor-only), so
  the labels cannot be regenerated without it and the instructor can rebuild the same files.

Written files (each .npz has fixed zip timestamps, so a rebuild gives identical arrays and, with the
same zlib, identical bytes):

* ``assignments/source/08_challenge/heldout_inputs.npz`` — the **inputs only**: ``X`` (2000, 28, 28)
  uint8 pixels 0..255 and ``X_transfer`` (800, 1, 1, 40) float32 signals.  Released with the notebook
  and copied next to it when grading; the hidden tests predict on them.
* ``solutions/08_challenge/grading/heldout.npz`` and ``heldout_transfer.npz`` — ``labels`` (int64),
  ``target`` (the minimum accuracy for the points) and ``index`` (position in the source).
  Instructor-only: the grader (``HardenedExecute.heldout_root``) scores the predictions a hidden test
  hands over against these labels outside the student's kernel, which cannot read ``solutions/``
  (see ``assignments/AUTHORING.md``, section 4).

``--check`` rebuilds in memory and exits 1 if the stored files hold different arrays.
"""
from __future__ import annotations

import argparse
import io
import secrets
import sys
import zipfile
from pathlib import Path

import numpy as np

SEED = 20250808
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from build_datasets import read_idx  # noqa: E402  (the reader the bundled datasets are built with)
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
BUNDLED = ROOT / "dlcourse" / "data" / "files" / "fashion_mnist_subset.npz"
INPUTS = ROOT / "assignments" / "source" / "08_challenge" / "heldout_inputs.npz"
GRADING = ROOT / "solutions" / "08_challenge" / "grading"
SEED_FILE = GRADING / "mnist1d_seed.txt"
PER_CLASS = 200
#: the digits "mnist1d_cnn_6class" was not pretrained on, in the order of its new-task labels 0..3
NEW_TASK_DIGITS = (6, 7, 8, 9)
#: minimum held-out accuracy for the points: on these images a linear softmax classifier trained on the
#: bundled 10,000 images reaches ~0.82, a one-hidden-layer MLP ~0.835-0.845 (the notebook's visible test asks
#: for 0.84 on the bundled test set, one point more, so that passing it leaves a margin for sampling noise)
TARGET_CLASSIFIER = 0.83
#: fine-tuning the pretrained MNIST-1D CNN on 10 signals per class reaches ~0.87 on digits 6-9; the
#: same network trained from scratch on them ~0.74
TARGET_TRANSFER = 0.82


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


def mnist1d_seed() -> int:
    """The secret seed of the MNIST-1D held-out draw (created on the first run)."""
    if not SEED_FILE.exists():
        SEED_FILE.parent.mkdir(parents=True, exist_ok=True)
        SEED_FILE.write_text(f"{secrets.randbits(64)}\n")
    return int(SEED_FILE.read_text().strip())


def transfer_heldout() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(signals (800, 1, 1, 40), labels 0..3, index)`` of digits 6-9 from a fresh MNIST-1D draw."""
    from dlcourse.data import make_mnist1d

    data = make_mnist1d(n_train=10_000, n_test=2_000, seed=mnist1d_seed())
    index = np.flatnonzero(np.isin(data.y_test, NEW_TASK_DIGITS))
    labels = data.y_test[index] - NEW_TASK_DIGITS[0]
    assert np.bincount(labels).tolist() == [PER_CLASS] * len(NEW_TASK_DIGITS)
    return data.x_test[index].reshape(-1, 1, 1, 40).astype(np.float32), labels.astype(np.int64), index


def build() -> dict[Path, dict[str, np.ndarray]]:
    images, labels, index = candidates()
    rng = np.random.default_rng(SEED)
    order = rng.permutation(len(labels))  # one shuffle, then the first PER_CLASS of each class
    picks = []
    for c in range(10):
        pool = [i for i in order if labels[i] == c][:PER_CLASS]
        if len(pool) < PER_CLASS:
            raise RuntimeError(f"only {len(pool)} unused test images of class {c}")
        picks += pool
    main = np.array(picks)[rng.permutation(10 * PER_CLASS)]
    signals, new_labels, new_index = transfer_heldout()
    return {
        INPUTS: {"X": images[main], "X_transfer": signals},
        GRADING / "heldout.npz": {"labels": labels[main], "target": np.array(TARGET_CLASSIFIER),
                                  "index": index[main]},
        GRADING / "heldout_transfer.npz": {"labels": new_labels, "target": np.array(TARGET_TRANSFER),
                                           "index": new_index},
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
