"""Layers, activations and losses with explicit forward/backward (see ``module.py`` for the contract)."""
from . import init
from .module import Flatten, Module, Parameter, Sequential
from .linear import Linear
