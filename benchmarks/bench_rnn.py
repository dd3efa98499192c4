"""LSTM and RNN forward + backward: dlcourse (numpy) vs torch.nn.LSTM / nn.RNN on the CPU.

Setting (FIELD_NOTES): batch 32, T = 50, D = 10, H = 64, float32, batch-first, torch with 2 threads.
Run ``python benchmarks/bench_rnn.py``; prints a markdown table and writes
``benchmarks/results/rnn.json``.  The torch column is skipped when torch is not installed.

``python benchmarks/bench_rnn.py --cpu`` measures single-thread *CPU time* (``time.thread_time``)
of both libraries instead of wall time, with one BLAS/OpenMP thread each: on a shared, overloaded
machine wall times are dominated by waiting for a core (and by spinning BLAS/OpenMP threads),
while CPU time still compares the work done.
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

CPU_MODE = __name__ == "__main__" and "--cpu" in sys.argv
if CPU_MODE:  # must happen before numpy (OpenBLAS) is imported
    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = "1"

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import torch_or_none, write_rows  # noqa: E402

from dlcourse.nn import LSTM, RNN  # noqa: E402

N, T, D, H = 32, 50, 10, 64
BLOCKS, PER_BLOCK = 16, 10


def median_ms(*fns, clock=time.perf_counter, blocks: int = BLOCKS, per_block: int = PER_BLOCK) -> list[float]:
    """Median time of each function in ms.

    The functions are timed in alternating blocks (a×k, b×k, a×k, …) so that all of them see the
    same background load; the first call of each block is a discarded warm-up (torch's OpenMP
    threads keep spinning for a while after a parallel region and would otherwise slow down
    numpy's BLAS threads, and the reverse).
    """
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(blocks):
        for fn, ts in zip(fns, times):
            fn()
            for _ in range(per_block):
                start = clock()
                fn()
                ts.append((clock() - start) * 1e3)
    return [statistics.median(ts) for ts in times]


def dlcourse_step(cls):
    rng = np.random.default_rng(0)
    layer = cls(D, H, rng=0)
    x = rng.standard_normal((N, T, D)).astype(np.float32)
    dout = rng.standard_normal((N, T, H)).astype(np.float32)

    def step():
        layer.zero_grad()
        layer(x)
        layer.backward(dout)
    return step


def torch_step(torch, name: str):
    torch.manual_seed(0)
    layer = getattr(torch.nn, name)(D, H, batch_first=True)
    x = torch.randn(N, T, D, requires_grad=True)
    dout = torch.randn(N, T, H)

    def step():
        layer.zero_grad()
        x.grad = None
        out, _ = layer(x)
        out.backward(dout)
    return step


def main(cpu: bool = False) -> list[dict]:
    torch = torch_or_none()
    if torch is not None and cpu:
        torch.set_num_threads(1)
    clock = time.thread_time if cpu else time.perf_counter
    what = "single-thread CPU time" if cpu else "wall time"
    rows = []
    for cls in (LSTM, RNN):
        fns = [dlcourse_step(cls)] + ([torch_step(torch, cls.__name__)] if torch is not None else [])
        ms = median_ms(*fns, clock=clock)
        theirs = ms[1] if torch is not None else None
        rows.append({"case": f"{cls.__name__} fwd+bwd, N={N} T={T} D={D} H={H}, float32 ({what})",
                     "dlcourse_ms": ms[0], "torch_ms": theirs,
                     "ratio": None if theirs is None else ms[0] / theirs,
                     "target": "<= 1.5x" if cls is LSTM else ""})
    write_rows("rnn_cpu" if cpu else "rnn", rows)
    return rows


if __name__ == "__main__":
    main(cpu=CPU_MODE)
