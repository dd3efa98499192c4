"""The optimizer base class: a list of parameters, ``zero_grad``, ``step`` and a saveable state."""
from __future__ import annotations

import copy
from typing import Iterable

import numpy as np

from .. import mistakes
from ..nn.module import Parameter


class Optimizer:
    """Holds ``params`` and per-parameter state; subclasses implement ``_update(p, grad, state)``.

    ``step()`` skips frozen parameters (``requires_grad = False``, seed 9) and warns when a
    parameter's gradient was accumulated over several backward passes since ``zero_grad``
    (seed 8.8.7) — usually a forgotten ``optimizer.zero_grad()``.
    """

    #: True when ``_update`` treats every number on its own (SGD, RMSProp, Adam): ``step`` then runs it
    #: once on all parameters joined into one vector instead of once per parameter — the same numbers
    #: with a fraction of the numpy calls, which is most of a small network's training step.
    elementwise = False

    def __init__(self, params: Iterable[Parameter], lr: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list; pass model.parameters()")
        for i, p in enumerate(self.params):
            if not isinstance(p, Parameter):
                raise TypeError(f"{type(self).__name__} expects Parameters, item {i} is {type(p).__name__}; "
                                f"pass model.parameters()")
        if not lr > 0:
            raise ValueError(f"{type(self).__name__}: learning rate must be positive, got {lr!r}")
        self.lr = float(lr)
        self.state: list[dict] = [{} for _ in self.params]
        self.steps = 0
        self.expect_accumulation = False  # set True when accumulating over micro-batches on purpose
        self._joined: _JoinedState | None = None

    def zero_grad(self) -> None:
        for p in self.params:
            p.zero_grad()

    def step(self) -> None:
        if not self.expect_accumulation and any(p.backward_count > 1 for p in self.params if p.requires_grad):
            mistakes.warn("accumulated_gradients",
                          "optimizer.step() is using gradients summed over several backward passes; call "
                          "optimizer.zero_grad() (or model.zero_grad()) before each backward pass "
                          "(set optimizer.expect_accumulation = True if you accumulate on purpose)")
        self.steps += 1
        if self.elementwise and self._step_joined():
            return
        for p, state in zip(self.params, self.state):
            if p.requires_grad:
                self._update(p, p.grad.astype(p.dtype, copy=False), state)

    def _step_joined(self) -> bool:
        """One ``_update`` on all trainable parameters joined into one vector; False (nothing done) if
        they cannot be joined: different dtypes, or per-parameter states that disagree (a parameter
        that was frozen for a while has taken fewer Adam steps than the others)."""
        active = [i for i, p in enumerate(self.params) if p.requires_grad]
        params = [self.params[i] for i in active]
        if len(params) < 2 or any(p.dtype != params[0].dtype for p in params):
            return False
        joined = self._joined
        if joined is None or joined.indices != active or not joined.owns(self.state):
            joined = self._joined = _JoinedState.gather(active, params, self.state)
            if joined is None:
                return False
        vector = _JoinedParameter(np.concatenate([p.data.ravel() for p in params]))
        grad = np.concatenate([p.grad.ravel() for p in params], dtype=params[0].dtype)
        self._update(vector, grad, joined.state)
        for p, part in zip(params, joined.split(vector.data)):
            np.copyto(p.data, part)
        joined.scatter(self.state)
        return True

    def _update(self, p: Parameter, grad: np.ndarray, state: dict) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict:
        """Learning rate, step count and copies of every per-parameter buffer (momentum etc.)."""
        return {"lr": self.lr, "steps": self.steps, "state": copy.deepcopy(self.state)}

    def load_state_dict(self, state: dict) -> None:
        self._joined = None
        if len(state["state"]) != len(self.params):
            raise ValueError(f"{type(self).__name__}.load_state_dict: state is for {len(state['state'])} "
                             f"parameters, this optimizer has {len(self.params)}")
        self.lr = float(state["lr"])
        self.steps = int(state["steps"])
        self.state = copy.deepcopy(state["state"])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lr={self.lr}, {len(self.params)} parameters)"


class _JoinedParameter:
    """What ``_update`` sees of the joined parameters: the vector ``data``."""

    __slots__ = ("data",)

    def __init__(self, data: np.ndarray) -> None:
        self.data = data


class _JoinedState:
    """The optimizer state of the joined vector; every parameter's own state holds views of it."""

    def __init__(self, indices: list[int], shapes: list[tuple], state: dict) -> None:
        self.indices, self.shapes, self.state = indices, shapes, state
        self.views: dict[str, tuple[np.ndarray, list[np.ndarray]]] = {}  # key -> (joined array, its parts)
        bounds = np.cumsum([0] + [int(np.prod(shape)) for shape in shapes])
        self.slices = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]

    @classmethod
    def gather(cls, indices: list[int], params: list, states: list[dict]) -> "_JoinedState | None":
        own = [states[i] for i in indices]
        first = own[0]
        if any(s.keys() != first.keys() for s in own):
            return None
        joined = {}
        for key, value in first.items():
            if isinstance(value, np.ndarray):
                joined[key] = np.concatenate([s[key].ravel() for s in own])
            elif all(s[key] == value for s in own):
                joined[key] = value
            else:
                return None
        return cls(indices, [p.shape for p in params], joined)

    def split(self, vector: np.ndarray):
        return (vector[part].reshape(shape) for part, shape in zip(self.slices, self.shapes))

    def scatter(self, states: list[dict]) -> None:
        """Give every parameter's state its part of the joined state: views of the arrays (made again
        only for an array ``_update`` replaced instead of changing it in place) and the counters."""
        views = self.views
        for key, value in self.state.items():
            if not isinstance(value, np.ndarray):
                for i in self.indices:
                    states[i][key] = value
            elif key not in views or views[key][0] is not value:
                views[key] = (value, [value[part].reshape(shape) for part, shape in zip(self.slices, self.shapes)])
                for i, view in zip(self.indices, views[key][1]):
                    states[i][key] = view

    def owns(self, states: list[dict]) -> bool:
        """Whether the parameters' states are still what ``scatter`` left: the same views and counters.
        ``load_state_dict``, a hand edit, or steps a parameter took on its own (the others frozen)
        change that: then the joined state is gathered again."""
        views = self.views
        for n, i in enumerate(self.indices):
            own = states[i]
            if own.keys() != self.state.keys():
                return False
            for key, value in own.items():
                if key in views:
                    if value is not views[key][1][n]:
                        return False  # replaced
                elif value is not self.state[key] and value != self.state[key]:
                    return False      # a counter that moved on its own while other parameters were frozen
        return True
