"""Convolution and pooling, forward + backward in float32: dlcourse (numpy) vs PyTorch CPU (2 threads).

Cases (FIELD_NOTES settings): Conv2d 3→16 on 32×32 and 16→32 on 16×16, 3×3 kernels, padding 1,
batch 64; MaxPool2d / AvgPool2d 2×2 on (64, 16, 32, 32).  Both sides compute the input gradient
as well as the parameter gradients.  Run ``python benchmarks/bench_conv.py``; prints a markdown
table and writes ``benchmarks/results/conv.json``.  The torch column is n/a without torch.

The two sides are timed alternately (one numpy step, one torch step, repeated), so that load from
other processes on the shared 2-core machine hits both columns alike; each figure is the median.
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import torch_or_none, write_rows  # noqa: E402

from dlcourse.nn import AvgPool2d, Conv2d, MaxPool2d  # noqa: E402

BATCH = 64
CONVS = [(3, 16, 32), (16, 32, 16)]  # (in_channels, out_channels, height = width)
POOL_SHAPE = (BATCH, 16, 32, 32)


def ours(layer, x_shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(np.float32)
    dout = rng.standard_normal(layer(x).shape).astype(np.float32)

    def step():
        layer.zero_grad()
        layer(x)
        layer.backward(dout)
    return step


def theirs(torch, layer, x_shape):
    x = torch.randn(*x_shape, requires_grad=True)
    dout = torch.randn(*layer(x).shape)

    def step():
        layer.zero_grad()
        x.grad = None
        layer(x).backward(dout)
    return step


def interleaved_ms(steps, repeats: int = 40, warmup: int = 5) -> list[tuple[float, float]]:
    """``(median, min)`` milliseconds of each step, running the steps in turn within every repeat.

    The minimum is what a step costs when no other process got in the way."""
    for _ in range(warmup):
        for step in steps:
            step()
    times = [[] for _ in steps]
    for _ in range(repeats):
        for step, bucket in zip(steps, times):
            start = time.perf_counter()
            step()
            bucket.append((time.perf_counter() - start) * 1e3)
    return [(statistics.median(bucket), min(bucket)) for bucket in times]


def main() -> list[dict]:
    torch = torch_or_none()
    cases = []
    for c_in, c_out, size in CONVS:
        cases.append((f"Conv2d {c_in}→{c_out}, {size}×{size}, 3×3 pad 1, batch {BATCH}, fwd+bwd",
                      lambda c_in=c_in, c_out=c_out: Conv2d(c_in, c_out, 3, padding=1, rng=0),
                      lambda t, c_in=c_in, c_out=c_out: t.nn.Conv2d(c_in, c_out, 3, padding=1),
                      (BATCH, c_in, size, size), "≤ 2.5×"))
    for name, ours_cls, torch_name in [("MaxPool2d", MaxPool2d, "MaxPool2d"), ("AvgPool2d", AvgPool2d, "AvgPool2d")]:
        cases.append((f"{name} 2×2 on {POOL_SHAPE}, fwd+bwd", lambda cls=ours_cls: cls(2),
                      lambda t, n=torch_name: getattr(t.nn, n)(2), POOL_SHAPE, "≤ 1.0×"))
    rows = []
    for case, make_ours, make_theirs, shape, target in cases:
        steps = [ours(make_ours(), shape)] + ([theirs(torch, make_theirs(torch), shape)] if torch else [])
        (mine, mine_min), (other, other_min) = (interleaved_ms(steps) + [(None, None)])[:2]
        rows.append({"case": case, "dlcourse_ms": mine, "torch_ms": other,
                     "ratio": mine / other if other else None, "target": target,
                     "dlcourse_min_ms": mine_min, "torch_min_ms": other_min,
                     "load_average_1min": os.getloadavg()[0]})
    write_rows("conv", rows)
    return rows


if __name__ == "__main__":
    main()
