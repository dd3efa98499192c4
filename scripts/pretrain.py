"""Pretrain the networks that ship in ``dlcourse/models/pretrained/`` (transfer learning, seed 9).

    python scripts/pretrain.py                      # every network in dlcourse.transfer.PRETRAINED
    python scripts/pretrain.py mnist1d_cnn_6class   # just one

Each network (``dlcourse.transfer.PRETRAINED[name]``) is trained on six classes of data the
package carries or generates offline — MNIST-1D digits 0–5, Fashion-MNIST classes 0–5 — seeded,
with Adam and an exponentially decaying learning rate; the other four classes are kept for the
few-shot new task.  The script prints the held-out accuracy (test split of the six classes) and
the SHA-256 of the weights file: both go into ``dlcourse.transfer.PRETRAINED`` and
``dlcourse/models/pretrained/README.md``.

The file is byte-reproducible on one machine (``save_weights`` fixes zip timestamps, and BLAS runs
single-threaded here); another CPU or BLAS build rounds differently, so there the bytes — not the
accuracy — may differ.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one thread: the same summation order on every run

import dlcourse  # noqa: E402
from dlcourse import transfer  # noqa: E402
from dlcourse.metrics import accuracy  # noqa: E402
from dlcourse.nn import CrossEntropyLoss  # noqa: E402
from dlcourse.optim import Adam, ExponentialDecay  # noqa: E402
from dlcourse.train import fit, predict  # noqa: E402


def pretrain(name: str, progress: bool = True):
    """Train ``PRETRAINED[name]`` on its old task; return ``(model in eval mode, test accuracy, seconds)``."""
    info = transfer.PRETRAINED[name]
    dlcourse.seed(info.seed)
    X_train, y_train, X_test, y_test = transfer.pretraining_data(name)
    model = info.builder(len(info.classes), rng=info.seed)
    start = time.perf_counter()
    fit(model, CrossEntropyLoss(), Adam(model.parameters(), lr=info.lr), (X_train, y_train), epochs=info.epochs,
        batch_size=64, schedule=ExponentialDecay(info.lr, info.decay), rng=info.seed, progress=progress)
    seconds = time.perf_counter() - start
    return model.eval(), accuracy(predict(model, X_test), y_test), seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"any of {', '.join(transfer.PRETRAINED)} (default: all)")
    parser.add_argument("--out-dir", type=Path, default=transfer.PRETRAINED_DIR)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in transfer.PRETRAINED]
    if unknown:
        parser.error(f"unknown network(s) {unknown}; choose from {list(transfer.PRETRAINED)}")
    for name in args.names or list(transfer.PRETRAINED):
        info = transfer.PRETRAINED[name]
        model, acc, seconds = pretrain(name, progress=not args.no_progress)
        path = args.out_dir / info.filename
        sha = transfer.save_weights(model, path)
        n_test = len(transfer.pretraining_data(name)[3])
        print(f"{name}: {info.dataset}")
        print(f"  classes        {[info.class_names[c] for c in info.classes]}")
        print(f"  training       {info.epochs} epochs, lr {info.lr} x {info.decay}/epoch, seed {info.seed}, "
              f"{seconds:.1f} s")
        print(f"  test accuracy  {acc:.4f} on {n_test} held-out samples")
        print(f"  weights        {path} ({path.stat().st_size / 1024:.1f} kB, {model.num_parameters()} parameters)")
        print(f"  sha256         {sha}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
