"""MLP 784-256-10, batch 128: one training step (forward, cross-entropy, backward, SGD step), float32."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median_ms, torch_or_none, write_rows  # noqa: E402

from dlcourse.nn import CrossEntropyLoss, Linear, ReLU, Sequential  # noqa: E402
from dlcourse.optim import SGD  # noqa: E402


def dlcourse_step():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 784)).astype(np.float32)
    y = rng.integers(0, 10, 128)
    model = Sequential(Linear(784, 256), ReLU(), Linear(256, 10))
    loss_fn, opt = CrossEntropyLoss(), SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        opt.zero_grad()
        loss_fn(model(x), y)
        model.backward(loss_fn.backward(), input_grad=False)  # as in fit() and PyTorch: no gradient for the data
        opt.step()

    return step


def torch_step(torch):
    x = torch.randn(128, 784)
    y = torch.randint(0, 10, (128,))
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    loss_fn, opt = torch.nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    return step


def main() -> list[dict]:
    ours = median_ms(dlcourse_step(), repeats=200, warmup=20)
    torch = torch_or_none()
    theirs = median_ms(torch_step(torch), repeats=200, warmup=20) if torch else None
    rows = [{"case": "MLP 784-256-10 train step, batch 128", "dlcourse_ms": ours, "torch_ms": theirs,
             "ratio": ours / theirs if theirs else None, "target": "≤ 1.0×"}]
    write_rows("mlp", rows)
    return rows


if __name__ == "__main__":
    main()
