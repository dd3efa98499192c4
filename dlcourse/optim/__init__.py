"""Optimizers (seed 4.3), learning-rate schedules (seed 4.4) and regularisation penalties (seed 4.5.1)."""
from .optimizer import Optimizer
from .sgd import SGD
from .rmsprop import RMSprop
from .adam import Adam
from .schedules import (ExponentialDecay, InverseSqrtDecay, InverseTimeDecay, ManualSchedule, Schedule,
                        StepDecay)
from .penalties import L1Penalty, L2Penalty, Penalty
from .second_order import (HessianModificationWarning, OptimizeResult, bfgs, gauss_newton, lbfgs, levenberg,
                           levenberg_marquardt, newton)
from .surfaces import (LeastSquaresProblem, Surface, beale, exponential_decay_fit, first_order_path, himmelblau,
                       quadratic_bowl, rosenbrock)
from .flat import fit_full_batch_lbfgs, flatten_grads, flatten_params, set_flat_params
