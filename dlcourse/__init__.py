"""dlcourse: the numpy library behind the Introduction to Deep Learning course notebooks."""
from ._rng import get_rng, seed

__version__ = "0.1.0"
__all__ = ["seed", "get_rng", "__version__"]
