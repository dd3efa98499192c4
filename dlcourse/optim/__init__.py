"""Optimizers (seed 4.3), learning-rate schedules (seed 4.4) and regularisation penalties (seed 4.5.1)."""
from .optimizer import Optimizer
from .sgd import SGD
from .rmsprop import RMSprop
from .adam import Adam
from .schedules import (ExponentialDecay, InverseSqrtDecay, InverseTimeDecay, ManualSchedule, Schedule,
                        StepDecay)
from .penalties import L1Penalty, L2Penalty, Penalty
