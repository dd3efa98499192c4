"""Assignments 04–08: sources, solutions, held-out data, honest grading, and the instructor check.

Fast tests run each source notebook's cells in-process (no kernel): the solution passes every
graded cell, the blank release (``raise NotImplementedError()`` in every answer) fails every one
with "not implemented yet", a buggy answer that passes the visible tests is caught by the hidden
ones, and an answer that calls the library's implementation of the graded function scores 0.
``test_instructor_check`` runs the real nbgrader pipeline behind ``python -m dlcourse.course check``
for one assignment each (about 0.5–1.5 min apiece on a loaded 2-core machine; bounded by the
course's own limits: 30 s per cell, 600 s per notebook).
"""
from __future__ import annotations

import re
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

import dlcourse.grading as G
from dlcourse.grading import authoring
from dlcourse.grading import references as REF

# Grading runs kill their sandbox users' leftover processes: one xdist worker runs them all, one after another.
pytestmark = [pytest.mark.grading, pytest.mark.xdist_group("nbgrader")]

REPO = Path(__file__).resolve().parents[1]
COURSE = REPO / "assignments"
ASSIGNMENTS = ["04_optimizers", "05_regularization", "06_convolution", "07_rnn", "08_challenge"]
POINTS = {"04_optimizers": 20, "05_regularization": 18, "06_convolution": 24, "07_rnn": 18, "08_challenge": 18}
CHALLENGE = "08_challenge"
GRADING = REPO / "solutions" / CHALLENGE / "grading"
INPUTS = COURSE / "source" / CHALLENGE / "heldout_inputs.npz"


@pytest.fixture
def registered(monkeypatch):
    """The reference modules of 04–08 in ``references.MODULES`` (what makes FORBID apply)."""
    for aid in ASSIGNMENTS:
        monkeypatch.setitem(REF.MODULES, aid, f"a{aid}")


def _source(aid: str):
    return nbformat.read(str(COURSE / "source" / aid / f"{aid}.ipynb"), as_version=4)


def _graded_ids(nb) -> list[str]:
    return [c.metadata.nbgrader["grade_id"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


def _run_in_process(nb, stub: bool = False, replace: dict[str, str] | None = None) -> dict[str, str]:
    """Execute the code cells with exec: grade id -> "ok" or the failure message.

    ``stub`` replaces every solution region by ``raise NotImplementedError()`` (the release);
    ``replace`` maps an answer cell's grade id to the code that replaces its whole source.
    """
    ns: dict = {"__name__": "__main__"}
    results = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        source = cell.source
        if stub and cell.metadata.get("nbgrader", {}).get("solution"):
            source = re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION", "raise NotImplementedError()", source, flags=re.DOTALL)
        if replace and gid in replace:
            source = replace[gid]
        try:
            exec(compile(source, f"<cell {gid}>", "exec"), ns)
            results[gid] = "ok"
        except G.GradingFailure as err:
            results[gid] = str(err)
        except NotImplementedError:
            results[gid] = "NotImplementedError"
    return results


# -------------------------------------------------------------------------------------------------
# sources, specs, solutions
# -------------------------------------------------------------------------------------------------
def test_sources_are_built_from_the_specs_and_valid():
    assert [a for a in authoring.build_all(COURSE, ASSIGNMENTS, check_only=True)] == []
    for aid in ASSIGNMENTS:
        nb = _source(aid)
        assert authoring.validate_source(nb, aid) == []
        points = sum(c.metadata.nbgrader["points"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))
        assert points == POINTS[aid]
        files = sorted(p.name for p in (COURSE / "source" / aid).iterdir())
        assert files == ([f"{aid}.ipynb", "heldout_inputs.npz"] if aid == CHALLENGE else [f"{aid}.ipynb"])
        # every visible test cell exercises the student's code, never a reference
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade"):
                visible = re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", "", cell.source, flags=re.DOTALL)
                assert "references" not in visible and "_R." not in visible


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_solutions_are_in_sync_and_every_test_passed(aid):
    from dlcourse.grading.pipeline import same_sources

    solved = nbformat.read(str(REPO / "solutions" / aid / f"{aid}.ipynb"), as_version=4)
    assert same_sources(_source(aid), solved), "run: python -m dlcourse.course solutions " + aid
    for cell in solved.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            text = "".join(o.get("text", "") for o in cell.outputs)
            assert "passed" in text and not any(o.output_type == "error" for o in cell.outputs), cell.source
    if aid == CHALLENGE:  # the grader scored both held-out sets, above their targets
        text = "".join(o.get("text", "") for c in solved.cells for o in c.get("outputs", []))
        assert re.search(r"held-out accuracy on heldout: 0\.\d+ \(target 0\.8300\) ✓", text)
        assert re.search(r"held-out accuracy on heldout_transfer: 0\.\d+ \(target 0\.8200\) ✓", text)


@pytest.mark.parametrize("aid", ASSIGNMENTS[:4])
def test_solution_passes_and_release_fails_every_test(aid, registered):
    nb = _source(aid)
    graded = _graded_ids(nb)
    solved = _run_in_process(nb)
    assert all(solved[g] == "ok" for g in graded), {g: solved[g] for g in graded if solved[g] != "ok"}
    blank = _run_in_process(nb, stub=True)
    assert all("not implemented yet" in blank[g] for g in graded), blank


# -------------------------------------------------------------------------------------------------
# the challenge: held-out data and its grading
# -------------------------------------------------------------------------------------------------
def test_heldout_inputs_carry_no_labels_and_the_grading_data_matches():
    assert INPUTS.stat().st_size < 2 * 2**20
    with np.load(INPUTS) as inputs:
        assert sorted(inputs.files) == ["X", "X_transfer"]
        assert inputs["X"].shape == (2000, 28, 28) and inputs["X"].dtype == np.uint8
        assert inputs["X_transfer"].shape == (800, 1, 1, 40) and inputs["X_transfer"].dtype == np.float32
    for name, n, classes, target in [("heldout", 2000, 10, 0.83), ("heldout_transfer", 800, 4, 0.82)]:
        with np.load(GRADING / f"{name}.npz") as data:
            assert data["labels"].shape == (n,) and float(data["target"]) == target
            assert np.bincount(data["labels"]).tolist() == [n // classes] * classes
    # none of the held-out images is in the bundled data students train and validate on
    bundled = np.load(REPO / "dlcourse" / "data" / "files" / "fashion_mnist_subset.npz")
    seen = {img.tobytes() for img in bundled["X_train"]} | {img.tobytes() for img in bundled["X_test"]}
    with np.load(INPUTS) as inputs, np.load(GRADING / "heldout.npz") as data:
        assert not any(img.tobytes() in seen for img in inputs["X"])
        assert not set(data["index"].tolist()) & set(bundled["test_index"].tolist())


def test_make_challenge_data_rebuilds_the_same_files():
    import subprocess
    import sys

    if not Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz").exists():
        pytest.skip("Debian's dataset-fashion-mnist package is not installed")
    result = subprocess.run([sys.executable, str(COURSE / "make_challenge_data.py"), "--check"],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.accuracy
def test_challenge_in_process_solution_meets_the_heldout_targets_and_release_scores_nothing(
        registered, monkeypatch, tmp_path):
    """The whole notebook in-process; the held-out predictions are scored like the grader does."""
    import IPython.display

    from dlcourse.grading.execute import score_heldout

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: shown.append(obj))
    monkeypatch.chdir(COURSE / "source" / CHALLENGE)
    nb = _source(CHALLENGE)
    graded = _graded_ids(nb)
    solved = _run_in_process(nb)
    assert all(solved[g] == "ok" for g in graded), {g: solved[g] for g in graded if solved[g] != "ok"}
    outputs = [nbformat.NotebookNode(output_type="display_data", metadata={}, data=payload) for payload in shown]
    scored = score_heldout(outputs, CHALLENGE, str(REPO / "solutions"))
    texts = [o.get("text", "") for o in scored]
    assert len(scored) == 2 and all("✓" in t for t in texts), scored
    shown.clear()
    blank = _run_in_process(nb, stub=True)
    assert all("not implemented yet" in blank[g] for g in graded), blank
    assert shown == []


def test_heldout_predictions_below_the_target_fail(tmp_path):
    from dlcourse.grading.execute import score_heldout

    with np.load(GRADING / "heldout.npz") as data:
        labels = data["labels"]
    guess = np.where(np.arange(len(labels)) % 2 == 0, labels, (labels + 1) % 10)   # 50 % right
    payload = nbformat.NotebookNode(output_type="display_data", metadata={}, data={
        G.checks.HELDOUT_MIME: {"key": f"{CHALLENGE}/heldout", "predictions": guess.tolist()}, "text/plain": ""})
    out = score_heldout([payload], CHALLENGE, str(REPO / "solutions"))
    assert out[0]["ename"] == "HeldOutBelowTarget" and "0.5000 (target 0.8300)" in out[0]["evalue"]


# -------------------------------------------------------------------------------------------------
# calling the library's implementation of the graded function scores 0
# -------------------------------------------------------------------------------------------------
def _library_answers():
    from dlcourse import transfer
    from dlcourse.nn import BatchNorm1d, Conv2d, MaxPool2d, naive, recurrent, shapes
    from dlcourse.nn.module import Parameter
    from dlcourse.optim import Adam, schedules
    from dlcourse.train.callbacks import EarlyStopping

    def adam_step(theta, grad, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        p = Parameter(theta)
        p.grad = grad
        opt = Adam([p], lr=lr, betas=(beta1, beta2), eps=eps)
        opt.state[0].update(step=t - 1, m=m, v=v)
        opt.step()
        return p.data, opt.state[0]["m"], opt.state[0]["v"]

    def batchnorm_forward(x, gamma, beta, running_mean, running_var, beta_m=0.9, eps=1e-5, train=True):
        layer = BatchNorm1d(x.shape[1], eps=eps, momentum=1 - beta_m).double()
        return layer(x), layer.running_mean, layer.running_var

    def early_stopping(train_epoch, validate, weights, max_epochs, patience):
        EarlyStopping(patience=patience)
        return weights, 0

    def conv_forward_im2col(x, w, b, stride=1, padding=0):
        layer = Conv2d(w.shape[1], w.shape[0], w.shape[2:], stride, padding).double()
        layer.weight.data, layer.bias.data = w, b
        return layer(x)

    a = np.arange(8.0).reshape(2, 4)
    return [
        ("04_optimizers/adam", adam_step, (np.ones(2), np.ones(2), np.zeros(2), np.zeros(2), 1, 0.1)),
        ("04_optimizers/decays", lambda lr0, epoch, t=0.1: schedules.InverseTimeDecay(lr0, t).lr_at(epoch), (0.1, 3)),
        ("05_regularization/batchnorm_forward", batchnorm_forward, (a, np.ones(4), np.zeros(4), np.zeros(4), np.ones(4))),
        ("05_regularization/early_stopping", early_stopping, (lambda w: None, lambda w: 1.0, {"w": np.zeros(1)}, 3, 1)),
        ("06_convolution/sizes", lambda n, k, s=1, p=0: shapes.conv_output_size(n, k, s, p, rounding="floor"), (9, 3)),
        ("06_convolution/conv_naive", lambda x, w, b, s=1, p=0: naive.conv2d_naive_forward(x, w, b, s, p),
         (np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)), np.zeros(1))),
        ("06_convolution/conv_im2col", conv_forward_im2col, (np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)), np.zeros(1))),
        ("06_convolution/max_pool", lambda x, k, s=None: MaxPool2d(k, s)(x), (np.ones((1, 1, 4, 4)), 2)),
        ("07_rnn/lstm_step", lambda x, h, c, wi, wh, b: recurrent.lstm_step_forward(x, h, c, wi, wh, b)[:2],
         (np.ones((1, 2)), np.zeros((1, 1)), np.zeros((1, 1)), np.ones((4, 2)), np.ones((4, 1)), np.zeros(4))),
        ("07_rnn/rnn_sequence", lambda x, h0, wi, wh, b: recurrent.RNN(2, 1).double()(x, h0),
         (np.ones((1, 3, 2)), np.zeros((1, 1)), np.ones((1, 2)), np.ones((1, 1)), np.zeros(1))),
        ("08_challenge/freeze", lambda model, n: transfer.freeze_layers(model, n),
         (transfer.mnist1d_cnn(4, rng=0), 2)),
        ("08_challenge/freeze", lambda model, n: [model[i].freeze() for i in range(n)] and model,
         (transfer.mnist1d_cnn(4, rng=0), 1)),
    ]


@pytest.mark.parametrize("index", range(12))
def test_calling_the_library_implementation_scores_zero(index, registered):
    key, answer, args = _library_answers()[index]
    with pytest.raises(G.ForbiddenCall, match="the library's implementation of what this part grades.*scores 0"), \
            G.part(key, points=1) as p:
        p.call(answer, *args)


def test_other_library_functions_stay_allowed(registered):
    from dlcourse import transfer
    from dlcourse.nn import Tanh

    with G.part("08_challenge/classifier", points=2) as p:  # the challenge may use the whole library
        p.call(lambda X: transfer.load_pretrained("mnist1d_cnn_6class")(X).argmax(1), np.zeros((2, 1, 1, 40),
                                                                                              np.float32))
    with G.part("07_rnn/rnn_sequence", points=2) as p:  # activations are not what this part grades
        p.call(lambda x: Tanh()(x), np.zeros(3))


# -------------------------------------------------------------------------------------------------
# a buggy answer that passes the visible tests is caught by the hidden tests
# -------------------------------------------------------------------------------------------------
BUGS = {
    # momentum with beta fixed at the default: the visible test uses beta = 0.9
    ("04_optimizers", "sgd_answer"): '''
def sgd_step(theta, grad, lr):
    return theta - lr * grad

def momentum_step(theta, grad, v, lr, beta=0.9):
    v_new = 0.9 * v - lr * grad
    return theta + v_new, v_new
''',
    # ties count as improvements: the visible loss curve has none
    ("05_regularization", "early_stopping_answer"): '''
def early_stopping(train_epoch, validate, weights, max_epochs, patience):
    best_loss, best_epoch, best_weights, waited = np.inf, None, None, 0
    for epoch in range(max_epochs):
        train_epoch(weights)
        loss = validate(weights)
        if loss <= best_loss:
            best_loss, best_epoch, waited = loss, epoch, 0
            best_weights = {k: v.copy() for k, v in weights.items()}
        else:
            waited += 1
            if waited >= patience:
                break
    return best_weights, best_epoch
''',
    # db of the first image only: the visible examples have one image
    ("06_convolution", "conv_naive_answer"): None,
    # the initial state is ignored (forward and backward alike): the visible examples start from h0 = 0
    # or check the gradients of W_hh and x only
    ("07_rnn", "rnn_sequence_answer"): None,
    # two parameters per layer assumed: true for Linear layers, wrong for conv + batch-norm blocks
    ("08_challenge", "freeze_answer"): '''
def freeze(model, n):
    params = list(model.parameters())
    for i, param in enumerate(params):
        param.requires_grad = i >= 2 * n
    return model
''',
}


def _buggy_source(aid: str, gid: str) -> str:
    cell = next(c for c in _source(aid).cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid)
    source = re.sub(r"\s*### (BEGIN|END) SOLUTION", "", cell.source)
    if aid == "06_convolution":
        return source.replace("db[o] += g", "db[o] += g if n == 0 else 0.0")
    if aid == "07_rnn":
        return source.replace("    h = h0\n", "    h = np.zeros_like(h0)\n").replace(
            "if t > 0 else h0", "if t > 0 else np.zeros_like(h0)")
    return BUGS[(aid, gid)]


@pytest.mark.parametrize("aid, gid", list(BUGS), ids=[a for a, _ in BUGS])
def test_hidden_tests_catch_a_bug_the_visible_tests_miss(aid, gid, registered, monkeypatch):
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: None)
    monkeypatch.chdir(COURSE / "source" / aid)
    nb = _source(aid)
    buggy = _buggy_source(aid, gid)
    assert buggy != next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid)
    part = gid.removesuffix("_answer")
    if aid == CHALLENGE:  # skip the training cells: only the freeze part matters here
        nb = nbformat.from_dict(nb)
        nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") in
                    ("setup", gid, f"{part}_tests", f"{part}_hidden")]
    results = _run_in_process(nb, replace={gid: buggy})
    assert results[f"{part}_tests"] == "ok", results[f"{part}_tests"]
    assert results[f"{part}_hidden"].startswith(f"✗ {part} (hidden tests"), results[f"{part}_hidden"]
    for leak in ("references", "_R.", "a0"):
        assert leak not in results[f"{part}_hidden"]


# -------------------------------------------------------------------------------------------------
# the instructor check with real nbgrader
# -------------------------------------------------------------------------------------------------
def _with_grading_data(monkeypatch):
    """Scratch courses get a copy of ``solutions/*/grading`` next to them, where their config's
    ``heldout_root`` points (``<scratch>/../solutions``), so the grader can score held-out predictions."""
    from dlcourse.grading import pipeline as P

    original = P.scratch_copy

    def scratch_copy(course_root, dest):
        out = original(course_root, dest)
        for grading in (REPO / "solutions").glob("*/grading"):
            target = Path(dest).parent / "solutions" / grading.parent.name / "grading"
            if not target.exists():
                shutil.copytree(grading, target)
        return out

    monkeypatch.setattr(P, "scratch_copy", scratch_copy)


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_instructor_check(aid, monkeypatch):
    """``python -m dlcourse.course check <aid>``: solution full marks, release 0, nothing leaked, solutions in sync."""
    pytest.importorskip("nbgrader")
    from dlcourse.grading import pipeline as P

    _with_grading_data(monkeypatch)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="dlcourse-check-") as tmp:
        result = P.check_assignment(COURSE, aid, REPO / "solutions", Path(tmp), jobs=2)
    assert result.ok, result.problems
    assert result.solution_score == result.max_score == POINTS[aid] and result.release_score == 0
    assert result.released_files == (["heldout_inputs.npz"] if aid == CHALLENGE else [])
    assert time.monotonic() - start < 900
