"""``summary(model, input_shape)``: a table of layer, output shape and parameters (seed 5.2, 6.3.3)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..nn.module import Module


@dataclass
class SummaryRow:
    name: str
    layer: str
    output_shape: tuple
    parameters: int


@dataclass
class Summary:
    rows: list
    total: int
    trainable: int

    def __str__(self) -> str:
        width = max([len(r.name) + len(r.layer) + 3 for r in self.rows] + [20])
        lines = [f"{'layer':<{width}} {'output shape':<20} {'parameters':>12}", "-" * (width + 34)]
        for r in self.rows:
            lines.append(f"{r.name + ' (' + r.layer + ')':<{width}} {str(r.output_shape):<20} {r.parameters:>12,}")
        lines += ["-" * (width + 34), f"total parameters: {self.total:,} (trainable {self.trainable:,})"]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        body = "".join(f"<tr><td>{r.name}</td><td>{r.layer}</td><td>{r.output_shape}</td>"
                       f"<td style='text-align:right'>{r.parameters:,}</td></tr>" for r in self.rows)
        return (f"<table><tr><th>name</th><th>layer</th><th>output shape</th><th>parameters</th></tr>{body}"
                f"<tr><td colspan=3><b>total</b></td><td style='text-align:right'><b>{self.total:,}</b></td></tr></table>")


def summary(model: Module, input_shape: tuple) -> Summary:
    """Run one sample of ``input_shape`` (without the batch axis) through ``model`` in eval mode and
    record every leaf layer's output shape and own parameter count.

    The leaves' ``forward`` methods are wrapped for the duration of the call only.
    """
    rows: list[SummaryRow] = []
    leaves = [(name, m) for name, m in model.named_modules() if not list(m.children())]
    for name, module in leaves:
        def traced(*inputs, _module=module, _name=name, _forward=type(module).forward):
            out = _forward(_module, *inputs)
            own = sum(p.size for p in _module.parameters())
            rows.append(SummaryRow(_name or type(_module).__name__, type(_module).__name__,
                                   tuple(np.shape(out)[1:]), own))
            return out
        module.forward = traced
    was_training = model.training
    try:
        model.eval()
        model(np.zeros((1,) + tuple(input_shape), dtype=np.float32))
    finally:
        for _, module in leaves:
            del module.forward
        model.train(was_training)
    return Summary(rows, model.num_parameters(), model.num_parameters(trainable_only=True))
