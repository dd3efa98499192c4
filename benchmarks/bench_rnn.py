"""LSTM forward + backward: dlcourse (numpy) vs torch.nn.LSTM on the CPU.

Setting (FIELD_NOTES): batch 32, T = 50, D = 10, H = 64, float32, torch with 2 threads.
Also times the vanilla RNN.  Run ``python benchmarks/bench_rnn.py``; prints a markdown table and
writes ``benchmarks/results/rnn.json``.  The torch column is skipped when torch is not installed.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import time

import numpy as np

from dlcourse.nn import LSTM, RNN

N, T, D, H = 32, 50, 10, 64
BLOCKS, PER_BLOCK = 6, 10


def median_ms(*fns, blocks: int = BLOCKS, per_block: int = PER_BLOCK) -> list[float]:
    """Median wall time of each function in ms.

    The functions are timed in alternating blocks (a×k, b×k, a×k, …) so that all of them see the
    same background load on a shared machine; the first call of each block is a discarded warm-up
    (torch's OpenMP threads keep spinning for a while after a parallel region and would otherwise
    slow down numpy's BLAS threads, and the reverse).
    """
    times = [[] for _ in fns]
    for _ in range(blocks):
        for fn, ts in zip(fns, times):
            fn()
            for _ in range(per_block):
                start = time.perf_counter()
                fn()
                ts.append(time.perf_counter() - start)
    return [statistics.median(ts) * 1e3 for ts in times]


def numpy_case(cls):
    rng = np.random.default_rng(0)
    layer = cls(D, H, rng=0)
    x = rng.standard_normal((N, T, D)).astype(np.float32)
    dout = rng.standard_normal((N, T, H)).astype(np.float32)

    def step():
        layer.zero_grad()
        layer(x)
        layer.backward(dout)
    return step


def torch_case(name):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(2)
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


def main() -> dict:
    rows = []
    for cls in (LSTM, RNN):
        torch_step = torch_case(cls.__name__)
        if torch_step is None:
            (np_ms,), torch_ms = median_ms(numpy_case(cls)), None
        else:
            np_ms, torch_ms = median_ms(numpy_case(cls), torch_step)
        rows.append({"case": f"{cls.__name__} fwd+bwd N={N} T={T} D={D} H={H} float32",
                     "numpy_ms": round(np_ms, 3),
                     "torch_ms": None if torch_ms is None else round(torch_ms, 3),
                     "ratio": None if torch_ms is None else round(np_ms / torch_ms, 2)})
    print("| case | numpy ms | torch ms | numpy/torch |")
    print("|---|---:|---:|---:|")
    for r in rows:
        fmt = (lambda v: "—" if v is None else f"{v:.2f}")
        print(f"| {r['case']} | {r['numpy_ms']:.2f} | {fmt(r['torch_ms'])} | {fmt(r['ratio'])} |")
    result = {"topic": "rnn", "rows": rows, "numpy": np.__version__, "python": platform.python_version(),
              "machine": platform.machine(), "cpus": os.cpu_count()}
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "rnn.json"), "w") as f:
        json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    main()
