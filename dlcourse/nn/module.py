"""``Parameter``, ``Module``, ``Sequential`` and ``Flatten``: the layer contract of the course.

Seed 5.3–5.4 (forward and backward pass).  Every layer follows one contract, the same as PyTorch's
except that backpropagation is explicit:

* ``out = layer(x)`` runs ``forward`` and keeps what the backward pass needs;
* ``dx = layer.backward(dout)`` returns the gradient with respect to the input and **adds** the
  parameter gradients to ``p.grad``.  Gradients accumulate across backward calls until
  ``zero_grad()`` — exactly as in PyTorch, so forgetting ``zero_grad`` is the same bug here.
"""
from __future__ import annotations

import inspect
import io
import os
import tempfile
from collections import OrderedDict
from functools import lru_cache
from typing import Callable, Iterator

import numpy as np

from .._validate import float_array


class Parameter:
    """A learnable array ``data`` with its gradient ``grad`` (same shape and dtype).

    ``backward_count`` counts how many backward passes added to ``grad`` since the last
    ``zero_grad``; the mistake detectors use it to spot a forgotten ``zero_grad`` (seed 8.8.7).
    """

    __slots__ = ("data", "grad", "backward_count", "requires_grad")

    def __init__(self, data) -> None:
        array = np.asarray(data)
        if not np.issubdtype(array.dtype, np.floating):
            array = array.astype(np.float32)
        self.data = array.copy()
        self.grad = np.zeros_like(self.data)
        self.backward_count = 0
        self.requires_grad = True  # frozen parameters (transfer learning, seed 9) are skipped by optimizers

    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    def accumulate(self, grad: np.ndarray) -> None:
        """Add ``grad`` to ``self.grad`` (the backward contract); shapes must match exactly."""
        if grad.shape != self.data.shape:
            raise ValueError(f"gradient of shape {grad.shape} does not match parameter of shape {self.data.shape}")
        self.grad += grad
        self.backward_count += 1

    def zero_grad(self) -> None:
        self.grad[...] = 0
        self.backward_count = 0

    def __repr__(self) -> str:
        return f"Parameter(shape={self.shape}, dtype={self.dtype})"


class Module:
    """Base class of every layer, loss and model.

    Sub-modules and parameters are found by looking at the attributes (in the order they were
    set), so ``self.fc = Linear(...)`` is all a subclass needs.  Arrays that are state but not
    learnable (batch-norm running statistics) are declared with ``register_buffer``.
    """

    def __init__(self) -> None:
        self.training = True
        self._buffer_names: list[str] = []

    # -- the contract -------------------------------------------------------------------------
    def forward(self, *inputs):
        raise NotImplementedError(f"{type(self).__name__} must implement forward")

    def backward(self, dout):
        raise NotImplementedError(f"{type(self).__name__} must implement backward")

    def __call__(self, *inputs, **kwargs):
        return self.forward(*inputs, **kwargs)

    # -- structure ----------------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        """Direct sub-modules, in the order they were assigned (lists of modules count too)."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)) and value and all(isinstance(v, Module) for v in value):
                for i, v in enumerate(value):
                    yield f"{name}.{i}", v

    def children(self) -> Iterator["Module"]:
        for _, child in self.named_children():
            yield child

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, Parameter)`` pairs, e.g. ``("0.weight", p)`` for a Sequential."""
        seen: set[int] = set()
        for mod_name, module in self.named_modules(prefix):
            for name, value in vars(module).items():
                if isinstance(value, Parameter) and id(value) not in seen:
                    seen.add(id(value))
                    yield (f"{mod_name}.{name}" if mod_name else name), value

    def parameters(self) -> Iterator[Parameter]:
        for _, p in self.named_parameters():
            yield p

    def num_parameters(self, trainable_only: bool = False) -> int:
        """Total number of scalar parameters (seed 5.2, 6.3.3)."""
        return sum(p.size for p in self.parameters() if p.requires_grad or not trainable_only)

    def register_buffer(self, name: str, value: np.ndarray) -> None:
        """Declare non-learnable state (e.g. running mean) that belongs in ``state_dict``."""
        setattr(self, name, value)
        if name not in self._buffer_names:
            self._buffer_names.append(name)

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        for mod_name, module in self.named_modules():
            for name in getattr(module, "_buffer_names", ()):
                yield (f"{mod_name}.{name}" if mod_name else name), getattr(module, name)

    def apply(self, fn: Callable[["Module"], None]) -> "Module":
        """Call ``fn`` on every sub-module and on self (e.g. to re-initialise weights)."""
        for m in self.modules():
            fn(m)
        return self

    # -- modes and gradients ------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Training mode: dropout drops, batch norm uses batch statistics (seed 4.5.5–4.5.6)."""
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> "Module":
        """Evaluation mode: dropout is the identity, batch norm uses running statistics."""
        return self.train(False)

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.zero_grad()

    def freeze(self) -> "Module":
        """Stop optimizers from updating these parameters (transfer learning, seed 9)."""
        for p in self.parameters():
            p.requires_grad = False
        return self

    def unfreeze(self) -> "Module":
        for p in self.parameters():
            p.requires_grad = True
        return self

    def to(self, dtype) -> "Module":
        """Cast parameters, gradients and floating buffers to ``dtype`` (float64 for gradient checks)."""
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            p.grad = p.grad.astype(dtype)
        for m in self.modules():
            for name in getattr(m, "_buffer_names", ()):
                value = getattr(m, name)
                if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating):
                    setattr(m, name, value.astype(dtype))
        return self

    def double(self) -> "Module":
        return self.to(np.float64)

    def float(self) -> "Module":
        return self.to(np.float32)

    # -- state --------------------------------------------------------------------------------
    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Copies (never references) of every parameter and buffer, keyed by dotted name."""
        state = OrderedDict((name, p.data.copy()) for name, p in self.named_parameters())
        for name, value in self.named_buffers():
            state[name] = np.array(value, copy=True)
        return state

    def load_state_dict(self, state: dict, strict: bool = True) -> None:
        """Copy arrays from ``state`` into this module; with ``strict`` the keys must match exactly."""
        params = dict(self.named_parameters())
        buffers = {name for name, _ in self.named_buffers()}
        expected = set(params) | buffers
        if strict:
            missing, unexpected = expected - set(state), set(state) - expected
            if missing or unexpected:
                raise KeyError(f"{type(self).__name__}.load_state_dict: missing keys {sorted(missing)}, "
                               f"unexpected keys {sorted(unexpected)}")
        for name, value in state.items():
            value = np.asarray(value)
            if name in params:
                p = params[name]
                if value.shape != p.shape:
                    raise ValueError(f"{type(self).__name__}.load_state_dict: {name} has shape {value.shape} in "
                                     f"the state, {p.shape} in the model")
                p.data = value.astype(p.dtype, copy=True)
                if p.grad.shape != p.data.shape:
                    p.grad = np.zeros_like(p.data)
            elif name in buffers:
                owner, _, attr = name.rpartition(".")
                module = dict(self.named_modules())[owner]
                setattr(module, attr, np.array(value, copy=True))

    def save(self, path: str | os.PathLike) -> None:
        """Write ``state_dict()`` to a ``.npz`` file atomically (a crash never leaves half a file)."""
        atomic_savez(path, self.state_dict())

    def load(self, path: str | os.PathLike) -> "Module":
        with np.load(path) as data:
            self.load_state_dict({k: data[k] for k in data.files})
        return self

    # -- printing -----------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, child in children:
            lines.append("  (" + name + "): " + repr(child).replace("\n", "\n  "))
        lines.append(")")
        return "\n".join(lines)


def atomic_savez(path: str | os.PathLike, arrays: dict) -> None:
    """``np.savez_compressed`` to a temporary file in the same folder, then rename over ``path``."""
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(buffer.getvalue())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class Sequential(Module):
    """Layers applied in order; backward runs them in reverse (seed 5.3–5.4).

    ``Sequential(Linear(784, 256), ReLU(), Linear(256, 10))``; index it like a list.
    """

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential expects Module layers, argument {i} is {type(layer).__name__}")
        self.layers = list(layers)

    def named_children(self):
        for i, layer in enumerate(self.layers):
            yield str(i), layer

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def backward(self, dout, input_grad: bool = True):
        """``dout`` (shape of the output) → ``dx`` (shape of the input); parameter gradients accumulate.

        ``input_grad=False`` (what training needs: the data is not learned) returns None and skips
        the work nobody uses: the layers before the first one with parameters, and that layer's
        input gradient when its ``backward`` takes ``input_grad`` (``Linear``, ``Conv2d``: a third of an
        MLP's backward; a subclass that overrides ``backward(dout)`` is simply asked for ``dx``).
        """
        first = 0 if input_grad else next((i for i, layer in enumerate(self.layers)
                                           if next(layer.parameters(), None) is not None), len(self.layers))
        for i in range(len(self.layers) - 1, first - 1, -1):
            layer = self.layers[i]
            if i == first and not input_grad and _can_skip_input_grad(type(layer)):
                return layer.backward(dout, input_grad=False)
            dout = layer.backward(dout)
        return dout if input_grad else None

    def append(self, layer: Module) -> "Sequential":
        self.layers.append(layer)
        return self

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Sequential(*self.layers[i])
        return self.layers[i]

    def __setitem__(self, i: int, layer: Module) -> None:
        self.layers[i] = layer

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)


class Flatten(Module):
    """Flatten dimensions ``start_dim..`` into one: ``(N, C, H, W) -> (N, C*H*W)``."""

    def __init__(self, start_dim: int = 1) -> None:
        super().__init__()
        self.start_dim = start_dim

    def forward(self, x):
        x = float_array("Flatten", x)
        self._shape = x.shape
        return x.reshape(x.shape[: self.start_dim] + (-1,))

    def backward(self, dout):
        return dout.reshape(self._shape)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}"


def backward_to_parameters(model: Module, dout) -> None:
    """``model.backward(dout)`` for training: the gradients of the parameters, without the input
    gradient when the model can skip it (the data is not learned; see ``Sequential.backward``)."""
    if _can_skip_input_grad(type(model)):
        model.backward(dout, input_grad=False)
    else:
        model.backward(dout)


@lru_cache(maxsize=None)
def _can_skip_input_grad(cls: type) -> bool:
    return "input_grad" in inspect.signature(cls.backward).parameters
