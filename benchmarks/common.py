"""Timing helpers shared by the benchmarks: median of repeats after warm-up, JSON results, README table."""
from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Callable

RESULTS = Path(__file__).resolve().parent / "results"


def median_ms(fn: Callable[[], object], repeats: int = 30, warmup: int = 5) -> float:
    """Median wall time of ``fn()`` in milliseconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def torch_or_none():
    """PyTorch limited to 2 threads (the machine's cores), or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(2)
    return torch


def write_rows(topic: str, rows: list[dict]) -> None:
    """Save rows ``{"case", "dlcourse_ms", "torch_ms", "ratio", ...}`` and print them as a table."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{topic}.json").write_text(json.dumps(rows, indent=2))
    print(markdown_table(rows))


def markdown_table(rows: list[dict]) -> str:
    lines = ["| case | dlcourse (ms) | PyTorch CPU (ms) | dlcourse / PyTorch | target |", "|---|---|---|---|---|"]
    for r in rows:
        torch_ms = "n/a" if r.get("torch_ms") is None else f"{r['torch_ms']:.2f}"
        ratio = "n/a" if r.get("ratio") is None else f"{r['ratio']:.2f}×"
        lines.append(f"| {r['case']} | {r['dlcourse_ms']:.2f} | {torch_ms} | {ratio} | {r.get('target', '')} |")
    return "\n".join(lines)
