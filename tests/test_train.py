"""The training loop: history, early stopping by copy, resumable checkpoints, schedules, divergence."""
import warnings

import numpy as np
import pytest

import dlcourse
from dlcourse.data.loader import DataLoader
from dlcourse.data.synthetic import make_moons
from dlcourse.nn import CrossEntropyLoss, Dropout, Linear, MSELoss, ReLU, Sequential, Tanh
from dlcourse.optim import SGD, Adam, L2Penalty, StepDecay
from dlcourse.train import Checkpoint, EarlyStopping, evaluate, fit, predict

pytestmark = pytest.mark.train


def moons(n=300, seed=0):
    X, y = make_moons(n, noise=0.15, rng=seed)
    return X.astype(np.float32), y


def net(width=32, p=0.0):
    return Sequential(Linear(2, width), ReLU(), Dropout(p), Linear(width, 2))


def test_fit_records_history_and_learns_moons():
    dlcourse.seed(0)
    model = net()
    hist = fit(model, CrossEntropyLoss(), Adam(model.parameters(), lr=0.02), moons(), val_data=moons(200, 1),
               epochs=30, batch_size=32, progress=False)
    assert len(hist) == 30 and len(hist.iteration_times) == 30 * 10
    assert hist.train_loss[-1] < 0.5 * hist.train_loss[0]
    assert hist.val_acc[-1] > 0.95
    assert evaluate(model, CrossEntropyLoss(), moons(200, 2))["accuracy"] > 0.95


def test_runs_are_bit_for_bit_reproducible():
    def once():
        dlcourse.seed(3)
        model = net(p=0.2)
        fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1, momentum=0.9), moons(), epochs=3,
            progress=False)
        return model.state_dict()

    a, b = once(), once()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_early_stopping_restores_the_best_epoch_by_copy():
    """Train on a tiny set so validation loss rises; the restored weights must be the best epoch's."""
    dlcourse.seed(0)
    X, y = moons(24, 0)
    Xv, yv = moons(400, 5)
    model = Sequential(Linear(2, 128), Tanh(), Linear(128, 2))
    snapshots = {}

    class Snapshot(EarlyStopping.__mro__[1]):  # a plain Callback that records every epoch's weights
        def on_epoch_end(self, state):
            snapshots[state.epoch] = state.model.state_dict()

    stopper = EarlyStopping(patience=5)
    hist = fit(model, CrossEntropyLoss(), Adam(model.parameters(), lr=0.05), (X, y), val_data=(Xv, yv),
               epochs=300, batch_size=8, callbacks=[Snapshot(), stopper], progress=False)
    assert hist.stopped_early and len(hist) < 300
    best_epoch, best_val = hist.best("val_loss")
    assert hist.best_epoch == best_epoch != hist.epoch[-1]
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, snapshots[best_epoch][k])
    assert evaluate(model, CrossEntropyLoss(), (Xv, yv))["loss"] == pytest.approx(best_val)


def test_checkpoint_resume_equals_uninterrupted_run(tmp_path):
    def setup():
        dlcourse.seed(11)
        model = net(p=0.1)
        return model, Adam(model.parameters(), lr=0.01), DataLoader(*moons(), batch_size=32,
                                                                     shuffle=True)

    model, opt, loader = setup()
    full = fit(model, CrossEntropyLoss(), opt, loader, epochs=6, progress=False)
    expected = model.state_dict()

    model, opt, loader = setup()
    path = tmp_path / "ckpt.npz"
    fit(model, CrossEntropyLoss(), opt, loader, epochs=3, callbacks=[Checkpoint(path)], progress=False)
    model, opt, loader = setup()  # a fresh process would rebuild everything like this
    resumed = fit(model, CrossEntropyLoss(), opt, loader, epochs=6, resume_from=str(path), progress=False)
    assert resumed.epoch == list(range(6))
    np.testing.assert_allclose(resumed.train_loss, full.train_loss, rtol=1e-6)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, expected[k])


def test_schedule_and_penalty_are_applied():
    dlcourse.seed(0)
    model = net()
    opt = SGD(model.parameters(), lr=1.0)
    hist = fit(model, CrossEntropyLoss(), opt, moons(), epochs=4, schedule=StepDecay(0.1, t=0.5, step_size=2),
               penalty=L2Penalty(1e-3), progress=False)
    assert hist.lr == pytest.approx([0.1, 0.1, 0.05, 0.05])


def test_divergence_stops_with_a_warning_and_nan_in_history():
    dlcourse.seed(0)
    X = np.random.default_rng(0).standard_normal((64, 2)).astype(np.float32) * 10
    y = (X @ np.array([3.0, -2.0], np.float32))[:, None]
    model = Sequential(Linear(2, 16), ReLU(), Linear(16, 1))
    with pytest.warns(RuntimeWarning, match="diverged.*lower the learning rate"):
        hist = fit(model, MSELoss(), SGD(model.parameters(), lr=5.0), (X, y), epochs=20, progress=False)
    assert np.isnan(hist.train_loss[-1]) and len(hist) < 20


def test_predict_uses_eval_mode_and_restores_training_mode():
    model = net(p=0.5)
    X, _ = moons(50)
    model.train()
    np.testing.assert_array_equal(predict(model, X), predict(model, X))
    assert model.training


def test_progress_bar_text_mode(capsys):
    model = net()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit(model, CrossEntropyLoss(), Adam(model.parameters()), moons(64), epochs=2, progress=True)
    assert "Sequential" in capsys.readouterr().err


def test_fit_argument_errors():
    model = net()
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        fit(model, CrossEntropyLoss(), Adam(model.parameters()), moons(), epochs=0)
    with pytest.raises(TypeError, match="DataLoader or a pair"):
        fit(model, CrossEntropyLoss(), Adam(model.parameters()), np.zeros((3, 2)), progress=False)
    with pytest.raises(ValueError, match="EarlyStopping monitors 'val_loss'"):
        fit(model, CrossEntropyLoss(), Adam(model.parameters()), moons(), callbacks=[EarlyStopping()],
            progress=False)
