# %% [markdown]
# # Assignment 8 — Training challenge and transfer learning
#
# Lecture: chapter 8 (training in practice: splits, model selection, seed 8.2) and chapter 9
# (transfer learning). This time you may use the whole `dlcourse` library: layers (`dlcourse.nn`),
# optimizers (`dlcourse.optim`), the training loop (`dlcourse.train.fit`), data tools
# (`dlcourse.data`) and `dlcourse.transfer`.
#
# 1. **The challenge** (8 points): build and train a classifier for Fashion-MNIST (28×28 grey-scale
#    clothes, 10 classes). It is graded on **held-out images you never see the labels of** — 2,000
#    official Fashion-MNIST test images that are not in the bundled data. Target: **84 %** on the
#    bundled test set (visible test) and **83 %** on the held-out images (hidden test; one point less,
#    because a different sample of 2,000 images scores a little differently). For orientation: a
#    linear softmax classifier reaches about 82–83 %, a network with one hidden layer 84–86 %.
# 2. **Freezing layers** (4 points): write `freeze(model, n)`, the tool of transfer learning.
# 3. **Transfer learning** (6 points): adapt a network pretrained on six digits of MNIST-1D to the
#    four other digits from only 10 labelled signals per class. Target: **82 %** on held-out signals.
#
# **Rules.** Select your model on a validation split of the training data (`dlcourse.data.
# train_val_test_split`), not on the test set (seed 8.2). The grader runs every cell with a time
# limit of **30 seconds**: keep each training run well below that (the reference solution trains in
# about 5 seconds on an idle machine), and do not print progress bars (`progress=False`). The held-out inputs are in the
# file `heldout_inputs.npz` next to this notebook (inputs only: their labels stay with the grader).
# %% [setup] id=setup
import numpy as np
import dlcourse
import dlcourse.train
from dlcourse import grading as G
from dlcourse import transfer
from dlcourse.data import load_fashion_mnist, train_val_test_split
from dlcourse.nn import (BatchNorm1d, Conv2d, CrossEntropyLoss, Dropout, Flatten, Linear, MaxPool2d, ReLU,
                         Sequential)
from dlcourse.optim import SGD, Adam, ExponentialDecay, StepDecay
from dlcourse.train import fit

fashion = load_fashion_mnist()
X_train, y_train, X_test, y_test = fashion
print(fashion)
print("classes:", fashion.classes)
# %% [markdown]
# ## Part 1: the challenge (8 points)
#
# Write `train_classifier(X, y)`: build a model, train it on images `X (N, 1, 28, 28)` (float32 in
# [0, 1]) with labels `y (N,)` and return it. The next cell trains it on the bundled training set.
# Then write `predict(X)`, which returns the predicted class of every image as an integer array of
# shape `(N,)` (the class with the highest score: `argmax`).
#
# The visible test reports your accuracy on the bundled test set; the hidden test hands your
# predictions for the held-out images to the grader, which scores them against their labels.
# %% [answer] id=classifier_answer
def train_classifier(X, y):
    """Build and train a classifier on X (N, 1, 28, 28), y (N,); return the trained model."""
    ### BEGIN SOLUTION
    dlcourse.seed(0)
    model = Sequential(Flatten(), Linear(28 * 28, 256), ReLU(), Linear(256, 10))
    fit(model, CrossEntropyLoss(), Adam(model.parameters(), lr=2e-3), (X, y), epochs=10, batch_size=128,
        schedule=ExponentialDecay(2e-3, 0.75), progress=False, rng=0)
    return model
    ### END SOLUTION
# %% [code]
classifier = train_classifier(X_train, y_train)
# %% [answer] id=predict_answer
def predict(X):
    """Predicted class labels (N,) (integers) for images X (N, 1, 28, 28)."""
    ### BEGIN SOLUTION
    return dlcourse.train.predict(classifier, X).argmax(axis=1)
    ### END SOLUTION
# %% [tests] id=classifier_tests points=2
with G.part("08_challenge/classifier", points=2) as p:
    fashion_check = load_fashion_mnist()
    labels_check = np.asarray(p.call(predict, fashion_check.X_test))
    p.expect_shape(labels_check, (len(fashion_check.X_test),), "predict(X_test) (one label per image)")
    p.expect_true(labels_check.dtype.kind in "iu", f"predict should return integer class labels (use argmax), "
                  f"got an array of dtype {labels_check.dtype}")
    accuracy_check = float(np.mean(labels_check == fashion_check.y_test))
    print(f"accuracy on the bundled test set: {accuracy_check:.4f} (target 0.84)")
    p.expect_true(accuracy_check >= 0.84, f"the accuracy on the bundled test set is {accuracy_check:.4f}, below the "
                  f"target 0.84: try a hidden layer, a learning-rate decay, more epochs")
# %% [tests] id=classifier_hidden points=6
# Hidden test (6 points): your predictions for the 2,000 held-out images are scored by the grader.
### BEGIN HIDDEN TESTS
with G.part("08_challenge/classifier", points=6, hidden=True) as p:
    _X_heldout = np.multiply(np.load("heldout_inputs.npz")["X"], np.float32(1 / 255), dtype=np.float32)[:, None]
    p.submit_heldout("heldout", np.asarray(p.call(predict, _X_heldout)))
### END HIDDEN TESTS
# %% [markdown]
# ## Part 2: freezing layers (4 points)
#
# Transfer learning (seed 9) reuses the first layers of a trained network and trains only the
# rest. In `dlcourse`, a parameter with `requires_grad = False` is **frozen**: optimizers skip it.
#
# Write `freeze(model, n)` for a `Sequential` model: count its **learnable** top-level layers — the
# layers `model[0], model[1], …` that have at least one parameter (`layer.parameters()`); ReLU,
# pooling, `Flatten` have none — and set `requires_grad = False` on every parameter of the first
# `n` learnable layers and `requires_grad = True` on all others (so calling it again with a smaller
# `n` unfreezes). Return the model. Set the flags yourself (not with `Module.freeze` or
# `dlcourse.transfer.freeze_layers`).
# %% [answer] id=freeze_answer
def freeze(model, n):
    """Freeze the first n learnable top-level layers of a Sequential, unfreeze the others; return model."""
    ### BEGIN SOLUTION
    rank = 0
    for layer in model:
        params = list(layer.parameters())
        if not params:
            continue
        for param in params:
            param.requires_grad = rank >= n
        rank += 1
    return model
    ### END SOLUTION
# %% [tests] id=freeze_tests points=2
with G.part("08_challenge/freeze", points=2) as p:
    def flags(net):
        return [param.requires_grad for param in net.parameters()]

    small_net = Sequential(Linear(4, 3, rng=0), ReLU(), Linear(3, 3, rng=1), ReLU(), Linear(3, 2, rng=2))
    for n_frozen, expected in [(2, [False, False, False, False, True, True]),
                               (1, [False, False, True, True, True, True]),
                               (0, [True] * 6), (3, [False] * 6)]:
        small_net = p.call(freeze, small_net, n_frozen)
        p.expect_true(small_net is not None, "freeze should return the model")
        p.expect_true(flags(small_net) == expected,
                      f"freeze(model, {n_frozen}) for Linear, ReLU, Linear, ReLU, Linear: requires_grad of the "
                      f"parameters (weight, bias of each Linear) should be {expected}, got {flags(small_net)}")
# %% [tests] id=freeze_hidden points=2
# Hidden tests (2 points): other architectures (nested blocks, batch norm) and every n.
### BEGIN HIDDEN TESTS
import copy as _copy
from dlcourse.grading.references import a08_challenge as _R
_nets = [transfer.fashion_cnn(4, rng=0), transfer.mnist1d_cnn(4, rng=0),
         Sequential(Flatten(), Linear(6, 5, rng=1), Dropout(0.5), Linear(5, 4, rng=2), BatchNorm1d(4), ReLU(),
                    Linear(4, 3, rng=3))]
with G.part("08_challenge/freeze", points=2, hidden=True) as p:
    for _net in _nets:
        _count = sum(1 for _layer in _net if list(_layer.parameters()))
        for _n in list(range(_count + 1)) + [1]:
            _expected = [_q.requires_grad for _q in _R.freeze(_copy.deepcopy(_net), _n).parameters()]
            _got = p.call(freeze, _net, _n)
            p.expect_true(_got is not None, "freeze should return the model")
            _flags = [_q.requires_grad for _q in _got.parameters()]
            p.expect_true(_flags == _expected, f"freeze(model, {_n}) for a model with {_count} learnable layers: "
                          f"requires_grad should be {_expected}, got {_flags}")
            _net = _got
### END HIDDEN TESTS
# %% [markdown]
# ## Part 3: transfer learning (6 points)
#
# **MNIST-1D** (`dlcourse.data.make_mnist1d`) is a small benchmark of 1-D signals of length 40: each
# digit 0–9 is a template curve that is shifted, scaled, sheared and made noisy. The signals are
# stored as images of height 1, `(N, 1, 1, 40)`. `transfer.load_pretrained("mnist1d_cnn_6class")`
# returns a small CNN (three convolution blocks, two fully connected layers) trained on the digits
# 0–5 with about 6,000 signals. The **new task** has the four other digits — 6, 7, 8, 9, labelled
# 0, 1, 2, 3 — and only **10 labelled signals per class**:
# `transfer.few_shot_task("mnist1d_cnn_6class", 10, seed=0)` returns them and a test set of the new
# classes. The same network trained from scratch on these 40 signals reaches only about 74 %.
#
# Write `train_new_task(X, y)`: start from the pretrained network, replace its output layer by one
# with 4 outputs (`transfer.replace_head`), freeze the first layers with your `freeze`, and train
# the rest on the 40 signals (`transfer.fine_tune(model, X, y, ...)` trains only what is not frozen;
# or use `fit`). Return the model, and write `predict_new_task(X)` (labels 0–3, integers). How many
# layers should you freeze with so little data? Try a few values (on a validation split of the 40
# signals, or with `transfer.freeze_sweep`).
#
# Train on the 40 labelled signals only: the point is what pretrained features give you when
# labels are scarce.
# %% [code]
X_few, y_few, X_new_test, y_new_test = transfer.few_shot_task("mnist1d_cnn_6class", 10, seed=0)
print(X_few.shape, np.bincount(y_few), X_new_test.shape)
# %% [answer] id=new_task_answer
def train_new_task(X, y):
    """Fine-tune the pretrained MNIST-1D network on the new task's signals X (40, 1, 1, 40), labels y; return it."""
    ### BEGIN SOLUTION
    model = transfer.replace_head(transfer.load_pretrained("mnist1d_cnn_6class").train(), 4, rng=1)
    freeze(model, 1)
    transfer.fine_tune(model, X, y, epochs=40, batch_size=16, lr=2e-3, rng=1)
    return model
    ### END SOLUTION
# %% [code]
new_task_model = train_new_task(X_few, y_few)
# %% [answer] id=predict_new_task_answer
def predict_new_task(X):
    """Predicted labels 0..3 (integers) of the new task for signals X (N, 1, 1, 40)."""
    ### BEGIN SOLUTION
    return dlcourse.train.predict(new_task_model, X).argmax(axis=1)
    ### END SOLUTION
# %% [tests] id=new_task_tests points=2
with G.part("08_challenge/new_task", points=2) as p:
    *_unused, X_new_check, y_new_check = transfer.few_shot_task("mnist1d_cnn_6class", 10, seed=0)
    labels_new = np.asarray(p.call(predict_new_task, X_new_check))
    p.expect_shape(labels_new, (len(X_new_check),), "predict_new_task(X_new_test) (one label per signal)")
    p.expect_true(labels_new.dtype.kind in "iu" and set(np.unique(labels_new).tolist()) <= {0, 1, 2, 3},
                  f"predict_new_task should return integer labels 0..3, got dtype {labels_new.dtype} and values "
                  f"{np.unique(labels_new)[:10]}")
    accuracy_new = float(np.mean(labels_new == y_new_check))
    print(f"accuracy on the new task's test set: {accuracy_new:.4f} (target 0.82)")
    p.expect_true(accuracy_new >= 0.82, f"the accuracy on the new task's test set is {accuracy_new:.4f}, below the "
                  f"target 0.82: try freezing a different number of layers, or training longer")
# %% [tests] id=new_task_hidden points=4
# Hidden test (4 points): your predictions for 800 held-out signals of the new classes are scored by the grader.
### BEGIN HIDDEN TESTS
with G.part("08_challenge/new_task", points=4, hidden=True) as p:
    _X_heldout_new = np.load("heldout_inputs.npz")["X_transfer"]
    p.submit_heldout("heldout_transfer", np.asarray(p.call(predict_new_task, _X_heldout_new)))
### END HIDDEN TESTS
