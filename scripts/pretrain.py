"""Pretrain the network that ships in ``dlcourse/models/pretrained/`` (transfer learning, seed 9).

    python scripts/pretrain.py                # writes dlcourse/models/pretrained/fashion_cnn_6class.npz

Trains ``dlcourse.transfer.fashion_cnn`` on the six Fashion-MNIST classes
``dlcourse.transfer.PRETRAIN_CLASSES`` of the bundled subset (6,000 training images; the four other
classes are kept for the few-shot new task), seeded, with Adam.  Prints the held-out accuracy on
the 1,200 test images of those classes and the SHA-256 of the weights file: paste both into
``dlcourse.transfer.PRETRAINED`` and ``dlcourse/models/pretrained/README.md``.

The file is byte-reproducible on one machine (``save_weights`` fixes zip timestamps); another
CPU or BLAS build rounds differently, so the bytes — not the accuracy — may differ there.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one thread rounds the same way on every run

import numpy as np  # noqa: E402

import dlcourse  # noqa: E402
from dlcourse import transfer  # noqa: E402
from dlcourse.data.datasets import FASHION_CLASSES  # noqa: E402
from dlcourse.metrics import accuracy  # noqa: E402
from dlcourse.nn import CrossEntropyLoss  # noqa: E402
from dlcourse.optim import Adam, ExponentialDecay  # noqa: E402
from dlcourse.train import fit, predict  # noqa: E402


def pretrain(classes=transfer.PRETRAIN_CLASSES, epochs: int = 8, seed: int = 0, lr: float = 2e-3,
             batch_size: int = 64, progress: bool = True):
    """Train ``fashion_cnn(len(classes))`` on ``classes``; return ``(model, test accuracy, seconds)``."""
    dlcourse.seed(seed)
    X_train, y_train, X_test, y_test = transfer.pretraining_data(classes)
    model = transfer.fashion_cnn(len(classes), rng=seed)
    start = time.perf_counter()
    fit(model, CrossEntropyLoss(), Adam(model.parameters(), lr=lr), (X_train, y_train), epochs=epochs,
        batch_size=batch_size, schedule=ExponentialDecay(lr, 0.8), rng=seed, progress=progress)
    seconds = time.perf_counter() - start
    return model.eval(), accuracy(predict(model, X_test), y_test), seconds


def main(argv=None) -> int:
    info = transfer.PRETRAINED["fashion_cnn_6class"]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=info.epochs)
    parser.add_argument("--seed", type=int, default=info.seed)
    parser.add_argument("--classes", type=int, nargs="+", default=list(info.classes))
    parser.add_argument("--out", type=Path, default=transfer.pretrained_path(info.name))
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    model, acc, seconds = pretrain(tuple(args.classes), args.epochs, args.seed, progress=not args.no_progress)
    sha = transfer.save_weights(model, args.out)
    n_test = len(transfer.pretraining_data(tuple(args.classes))[3])
    print(f"classes:       {tuple(args.classes)} {[FASHION_CLASSES[c] for c in args.classes]}")
    print(f"training:      {args.epochs} epochs, seed {args.seed}, {seconds:.1f} s")
    print(f"test accuracy: {acc:.4f} on {n_test} held-out images")
    print(f"weights:       {args.out} ({args.out.stat().st_size / 1024:.1f} kB, "
          f"{model.num_parameters()} parameters)")
    print(f"sha256:        {sha}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
