"""Mistake detectors of seed 8.8.7: each fires in a loop that makes its mistake, stays silent in a
correct loop, and can be silenced."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import dlcourse
from dlcourse import mistakes
from dlcourse.data import DataLoader, make_moons, train_val_test_split
from dlcourse.diagnostics import check_overlap, overlap
from dlcourse.metrics import accuracy
from dlcourse.nn import BatchNorm1d, CrossEntropyLoss, Dropout, Linear, ReLU, Sequential, Softmax
from dlcourse.optim import SGD, Adam
from dlcourse.train import evaluate, fit, predict
from dlcourse.tuning import grid_search

pytestmark = pytest.mark.diagnostics


@pytest.fixture(autouse=True)
def _clean_detectors():
    mistakes.unsilence()
    mistakes.clear_test_sets()
    mistakes.forget_forwards()
    yield
    mistakes.unsilence()
    mistakes.clear_test_sets()
    mistakes.forget_forwards()


def caught(fn, *args, **kwargs):
    """Run ``fn`` and return the kinds of MistakeWarnings it emitted (every occurrence)."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        fn(*args, **kwargs)
    return [w.message.kind for w in record if isinstance(w.message, mistakes.MistakeWarning)]


def data(n=200, seed=0):
    X, y = make_moons(n, noise=0.2, rng=seed)
    return X.astype(np.float32), y


def net(dropout=0.3, bn=False):
    layers = [Linear(2, 32)] + ([BatchNorm1d(32)] if bn else []) + [ReLU(), Dropout(dropout), Linear(32, 2)]
    return Sequential(*layers)


def train_epoch(model, opt, loss_fn, loader, zero_grad=True):
    model.train()
    for xb, yb in loader:
        if zero_grad:
            opt.zero_grad()
        out = model(xb)
        loss_fn(out, yb)
        model.backward(loss_fn.backward())
        opt.step()


def test_every_kind_is_documented_and_warnings_name_the_fix():
    assert set(mistakes.KINDS) == {"accumulated_gradients", "train_mode_eval", "softmax_before_cross_entropy",
                                   "train_test_overlap", "test_set_reuse"}
    with pytest.raises(ValueError, match="unknown mistake kind"):
        mistakes.silence("no_such_mistake")
    with pytest.warns(mistakes.MistakeWarning, match=r"silence\('train_test_overlap'\)"):
        mistakes.warn("train_test_overlap", "message")


# -- forgotten zero_grad ------------------------------------------------------------------------------
def test_accumulated_gradients_fire_without_zero_grad_and_not_with_it():
    X, y = data()
    loader = DataLoader(X, y, batch_size=50, rng=0)
    model = net(0.0)
    opt, loss_fn = SGD(model.parameters(), lr=0.1), CrossEntropyLoss()
    assert "accumulated_gradients" in caught(train_epoch, model, opt, loss_fn, loader, zero_grad=False)
    assert caught(train_epoch, model, opt, loss_fn, loader) == []
    with mistakes.silenced("accumulated_gradients"):
        assert caught(train_epoch, model, opt, loss_fn, loader, zero_grad=False) == []


# -- softmax before cross-entropy -------------------------------------------------------------------
def test_softmax_before_cross_entropy_fires_in_a_loop_with_softmax_layer():
    X, y = data()
    loader = DataLoader(X, y, batch_size=50, rng=0)
    bad = Sequential(Linear(2, 16), ReLU(), Linear(16, 2), Softmax(dim=1))
    good = net(0.0)
    loss_fn = CrossEntropyLoss()
    assert "softmax_before_cross_entropy" in caught(train_epoch, bad, SGD(bad.parameters(), lr=0.1), loss_fn, loader)
    assert caught(train_epoch, good, SGD(good.parameters(), lr=0.1), loss_fn, loader) == []
    with mistakes.silenced("softmax_before_cross_entropy"):
        assert caught(train_epoch, bad, SGD(bad.parameters(), lr=0.1), loss_fn, loader) == []


# -- train-mode evaluation ----------------------------------------------------------------------------
def manual_training(model, toggle_modes: bool, epochs=3, val_accuracy=True):
    """A hand-written loop that validates after every epoch, with or without model.eval()."""
    X, y = data(300, 1)
    Xv, yv = data(100, 2)
    loader = DataLoader(X, y, batch_size=32, shuffle=True, rng=0)
    loss_fn, opt = CrossEntropyLoss(), Adam(model.parameters(), lr=0.01)
    for _ in range(epochs):
        model.train()
        for xb, yb in loader:
            opt.zero_grad()
            out = model(xb)
            loss_fn(out, yb)
            accuracy(out, yb)  # training accuracy after the loss, before backward: fine
            model.backward(loss_fn.backward())
            opt.step()
        if toggle_modes:
            model.eval()
        loss_fn(model(Xv), yv)  # validation loss
        if val_accuracy:
            accuracy(model(Xv), yv)


@pytest.mark.parametrize("bn", [False, True], ids=["dropout", "batchnorm"])
def test_train_mode_evaluation_fires_in_a_loop_that_forgets_eval(bn):
    dlcourse.seed(0)
    kinds = caught(manual_training, net(0.3, bn=bn), toggle_modes=False)
    assert "train_mode_eval" in kinds


@pytest.mark.parametrize("bn", [False, True], ids=["dropout", "batchnorm"])
def test_train_mode_evaluation_is_silent_when_modes_are_toggled(bn):
    dlcourse.seed(0)
    assert caught(manual_training, net(0.3, bn=bn), toggle_modes=True) == []


def test_train_mode_evaluation_fires_on_a_single_final_evaluation():
    """Rule B: after training, one accuracy on predictions made in training mode."""
    dlcourse.seed(0)
    model = net(0.5)
    X, y = data(300, 1)
    Xt, yt = data(200, 3)
    fit(model, CrossEntropyLoss(), Adam(model.parameters(), lr=0.01), (X, y), epochs=2, progress=False)

    def evaluate_in_train_mode():
        model.train()
        accuracy(model(Xt), yt)

    def evaluate_in_eval_mode():
        model.eval()
        accuracy(model(Xt), yt)
        model.train()

    assert caught(evaluate_in_train_mode) == ["train_mode_eval"]
    mistakes.forget_forwards()
    assert caught(evaluate_in_eval_mode) == []
    mistakes.forget_forwards()
    with mistakes.silenced("train_mode_eval"):
        assert caught(evaluate_in_train_mode) == []


def test_train_mode_evaluation_is_silent_for_the_library_loop_and_untrained_layers():
    dlcourse.seed(0)
    model = net(0.3, bn=True)
    X, y = data(300, 1)
    Xv, yv = data(100, 2)

    def library():
        fit(model, CrossEntropyLoss(), Adam(model.parameters(), lr=0.01), (X, y), val_data=(Xv, yv), epochs=3,
            progress=False)
        evaluate(model, CrossEntropyLoss(), (Xv, yv))
        accuracy(predict(model, Xv), yv)

    assert caught(library) == []
    fresh = Dropout(0.5)  # forward-only use of a layer that was never trained is no evaluation of a model
    assert caught(lambda: [fresh(np.ones((4, 3))) for _ in range(3)]) == []


# -- train/test overlap ---------------------------------------------------------------------------------
@settings(max_examples=20, deadline=None)
@given(n=st.integers(5, 60), m=st.integers(5, 60), k=st.integers(0, 5), d=st.integers(1, 6),
       seed=st.integers(0, 10_000), to_float32=st.booleans())
def test_overlap_counts_exactly_the_shared_rows(n, m, k, d, seed, to_float32):
    gen = np.random.default_rng(seed)
    a = gen.standard_normal((n, d))
    b = gen.standard_normal((m, d)) + 100.0  # disjoint from a
    k = min(k, n, m)
    targets = gen.choice(m, k, replace=False)
    b[targets] = a[gen.choice(n, k, replace=False)]
    if to_float32:  # a float32 copy of the same samples still counts as the same samples
        b = b.astype(np.float32)
    assert sorted(overlap(a, b).tolist()) == sorted(targets.tolist())
    got = caught(check_overlap, a, b)
    assert got == (["train_test_overlap"] if k else [])


def test_overlap_of_images_and_no_false_match_on_hash_collisions_of_shape():
    gen = np.random.default_rng(0)
    imgs = gen.random((20, 1, 8, 8)).astype(np.float32)
    assert overlap(imgs[:12], imgs[8:]).tolist() == [0, 1, 2, 3]
    assert overlap(imgs[:, :, :4], imgs).size == 0  # different sample shapes never match


def test_fit_warns_when_training_and_validation_share_samples():
    X, y = data(200, 0)
    model = net(0.0)
    opt = SGD(model.parameters(), lr=0.1)
    run = lambda val: fit(model, CrossEntropyLoss(), opt, (X[:150], y[:150]), val_data=val, epochs=1,  # noqa: E731
                          progress=False)
    assert caught(run, (X[150:], y[150:])) == []
    assert caught(run, (X[140:], y[140:])) == ["train_test_overlap"]  # 10 training samples in validation
    assert caught(run, DataLoader(X[140:], y[140:], batch_size=16)) == ["train_test_overlap"]
    with mistakes.silenced("train_test_overlap"):
        assert caught(run, (X[140:], y[140:])) == []


def test_fit_warns_when_training_data_contains_the_registered_test_set():
    X, y = data(300, 0)
    splits = train_val_test_split(X, y, rng=0)  # registers its test part
    model = net(0.0)
    opt = SGD(model.parameters(), lr=0.1)
    leak = (np.concatenate([splits.train.X, splits.test.X[:5]]), np.concatenate([splits.train.y, splits.test.y[:5]]))

    def run(train):
        fit(model, CrossEntropyLoss(), opt, train, val_data=splits.val, epochs=1, progress=False)

    assert caught(run, splits.train) == []
    assert caught(run, leak) == ["train_test_overlap"]


# -- repeated test-set evaluation during tuning --------------------------------------------------------
@pytest.fixture
def split():
    X, y = data(400, 4)
    return train_val_test_split(X, y, rng=1)


def tune(split, peek_at_test: bool):
    def train_fn(lr):
        dlcourse.seed(0)
        model = net(0.0)
        hist = fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=lr), split.train, val_data=split.val,
                   epochs=2, progress=False)
        if peek_at_test:
            evaluate(model, CrossEntropyLoss(), split.test)
        return hist

    return grid_search(train_fn, {"lr": [0.3, 0.1, 0.03]}, progress=False)


def test_test_set_reuse_fires_when_every_trial_evaluates_the_test_set(split):
    assert caught(tune, split, peek_at_test=True) == ["test_set_reuse"]


def test_test_set_reuse_is_silent_when_tuning_on_validation_and_testing_once(split):
    def correct():
        results = tune(split, peek_at_test=False)
        dlcourse.seed(0)
        model = net(0.0)
        fit(model, CrossEntropyLoss(), SGD(model.parameters(), **results.best_config), split.train, epochs=2,
            progress=False)
        evaluate(model, CrossEntropyLoss(), split.test)  # once, at the end, outside the search
        accuracy(predict(model, split.test.X), split.test.y)

    assert caught(correct) == []
    with mistakes.silenced("test_set_reuse"):
        assert caught(tune, split, peek_at_test=True) == []


def test_test_set_reuse_in_a_hand_written_search_with_accuracy(split):
    """Inside ``mistakes.tuning()`` each scoring of the test labels counts as one use."""
    dlcourse.seed(0)
    model = net(0.0)

    def search(peek):
        with mistakes.tuning():
            for lr in (0.1, 0.01):
                fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=lr), split.train, epochs=1, progress=False)
                model.eval()
                X, y = (split.test if peek else split.val)
                accuracy(model(X), y)

    assert caught(search, True) == ["test_set_reuse"]
    assert caught(search, False) == []
