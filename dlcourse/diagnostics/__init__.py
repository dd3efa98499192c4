"""Training practice as code (seed 8.7, 8.8).

- :func:`diagnose` / :class:`Diagnosis`, :func:`plot_learning_curves` — learning-curve diagnosis (seed 8.7).
- :func:`overfit_small_sample` — overfit one sample, then a handful (seed 8.8.2).
- :func:`find_learning_rate` — which learning rate makes the loss drop within 100 iterations (seed 8.8.3).
- :func:`time_iterations` — iteration-time breakdown and bottleneck (seed 8.8.4).
- Mistake detectors (seed 8.8.7) live in :mod:`dlcourse.mistakes`; :func:`check_overlap` is re-exported here.
"""
from ..mistakes import check_overlap, overlap
from .curves import ADVICE, LABELS, Diagnosis, diagnose, plot_learning_curves, smooth
from .lr_finder import SEED_LRS, LRFinderResult, find_learning_rate
from .sanity import OverfitResult, SanityReport, overfit_small_sample
from .timing import STAGES, TimingReport, time_iterations

__all__ = [
    "diagnose", "Diagnosis", "LABELS", "ADVICE", "plot_learning_curves", "smooth",
    "overfit_small_sample", "SanityReport", "OverfitResult",
    "find_learning_rate", "LRFinderResult", "SEED_LRS",
    "time_iterations", "TimingReport", "STAGES",
    "check_overlap", "overlap",
]
