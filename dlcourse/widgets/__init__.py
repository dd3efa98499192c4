"""The interactive figures of the course notebooks: one class per figure (DESIGN.md, "Interactive figures").

Each figure owns its controls and its matplotlib figure (ipympl under ``%matplotlib widget``), updates
the plot in place, and exposes ``controls``, ``data`` and ``artists`` so tests can drive it without a
browser.  A notebook shows one with a single line, e.g. ``widgets.OptimizerRace()``.
See ``notebooks/AUTHORING.md`` for how to add one.
"""
from .base import Widget
from .fully_connected import ForwardBackwardStepper, WeightCounter
from .neural_networks import (ActivationExplorer, LossExplorer, OptimizerRace, PlaygroundTrainer,
                              RegularizationPlayground, ScheduleExplorer)

__all__ = ["Widget", "ActivationExplorer", "LossExplorer", "OptimizerRace", "ScheduleExplorer",
           "RegularizationPlayground", "PlaygroundTrainer", "WeightCounter", "ForwardBackwardStepper"]

# chapters 1–3
from .basics import KMeansExplorer, PCAExplorer, TopKExplorer
from .graphs import ExpressionGraph, NeuronGraph
from .linear_models import GradientDescentLine, LogisticBoundary

__all__ += ["TopKExplorer", "KMeansExplorer", "PCAExplorer", "GradientDescentLine", "LogisticBoundary",
            "ExpressionGraph", "NeuronGraph"]

# chapters 6–7
from .cnn import ConvCalculator, FeatureMapExplorer, PoolingExplorer, UNetSegmentation
from .rnn import AddingProblemRace, GradientFlowThroughTime, LSTMGates

__all__ += ["ConvCalculator", "PoolingExplorer", "FeatureMapExplorer", "UNetSegmentation", "GradientFlowThroughTime",
            "LSTMGates", "AddingProblemRace"]

# chapter 8
from .training import HyperparameterSearch, InitializationExplorer, LearningCurveLab

__all__ += ["LearningCurveLab", "HyperparameterSearch", "InitializationExplorer"]

# chapter 9
from .transfer import FreezeExplorer

__all__ += ["FreezeExplorer"]
