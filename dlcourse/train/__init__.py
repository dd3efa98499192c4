"""Training loop with history, progress bar, early stopping and resumable checkpoints (seed 4.5.3, 8)."""
from .history import History
from .callbacks import Callback, Checkpoint, EarlyStopping, load_checkpoint, save_checkpoint
from .loop import TrainingState, evaluate, fit, predict
