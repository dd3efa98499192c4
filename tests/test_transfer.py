"""Transfer learning (seed 9): freezing, new heads, shipped pretrained weights, and the measured benefit."""
import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest

from dlcourse import transfer
from dlcourse.metrics import accuracy
from dlcourse.mistakes import overlap
from dlcourse.nn import CrossEntropyLoss, Linear
from dlcourse.optim import Adam
from dlcourse.train import fit, predict

pytestmark = pytest.mark.transfer

NAMES = list(transfer.PRETRAINED)
ROOT = Path(__file__).resolve().parents[1]


def _params(model):
    return {name: p.data.copy() for name, p in model.named_parameters()}


def test_freeze_layers_freezes_a_prefix_of_the_learnable_layers_and_the_optimizer_skips_it():
    model = transfer.mnist1d_cnn(4, rng=0)
    assert transfer.learnable_layers(model) == [0, 2, 4, 7, 9]
    transfer.freeze_layers(model, 3)
    flags = {i: [p.requires_grad for p in layer.parameters()] for i, layer in enumerate(model)}
    assert all(not f for i in (0, 2, 4) for f in flags[i]) and all(flags[7]) and all(flags[9])
    assert model.num_parameters(trainable_only=True) == 32 * 5 * 64 + 64 + 64 * 4 + 4

    before = _params(model)
    X = np.random.default_rng(0).standard_normal((32, 1, 1, 40)).astype(np.float32)
    y = np.arange(32) % 4
    fit(model, CrossEntropyLoss(), Adam(model.parameters(), lr=1e-2), (X, y), epochs=1, batch_size=16,
        progress=False, rng=0)
    after = _params(model)
    for name in before:
        frozen = int(name.split(".")[0]) in (0, 2, 4)
        assert np.array_equal(before[name], after[name]) == frozen, name

    transfer.freeze_layers(model, 0)  # a sweep can undo freezing
    assert all(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("n", [-1, 6, 2.0, True])
def test_freeze_layers_rejects_counts_outside_the_model(n):
    with pytest.raises(ValueError, match="0..5"):
        transfer.freeze_layers(transfer.mnist1d_cnn(rng=0), n)


def test_replace_head_gives_new_classes_and_keeps_the_pretrained_features():
    pretrained = transfer.load_pretrained("mnist1d_cnn_6class")
    model = transfer.replace_head(transfer.load_pretrained("mnist1d_cnn_6class"), 4, rng=1)
    X = transfer.few_shot_task("mnist1d_cnn_6class", 2)[0]
    assert predict(model, X).shape == (8, 4)
    assert isinstance(model[9], Linear) and model[9].weight.shape == (4, 64)
    np.testing.assert_array_equal(predict(model[:9], X), predict(pretrained[:9], X))
    with pytest.raises(ValueError, match="num_classes"):
        transfer.replace_head(model, 0)
    with pytest.raises(TypeError, match="Sequential"):
        transfer.replace_head(model[0][0], 3)


def test_fine_tune_changes_only_the_unfrozen_layers_and_frozen_batch_norm_keeps_its_statistics():
    X, y, _, _ = transfer.few_shot_task("mnist1d_cnn_6class", 5, seed=3)
    model = transfer.replace_head(transfer.load_pretrained("mnist1d_cnn_6class").train(), 4, rng=0)
    before = model.state_dict()
    history = transfer.fine_tune(model, X, y, freeze=3, epochs=5, rng=0)
    after = model.state_dict()
    assert len(history) == 5 and history.train_loss[-1] < history.train_loss[0]
    for key in before:  # parameters *and* running statistics of the three frozen blocks
        frozen = int(key.split(".")[0]) in (0, 2, 4)
        assert np.array_equal(before[key], after[key]) == frozen, key

    transfer.freeze_layers(model, 5)
    with pytest.raises(ValueError, match="nothing to train"):
        transfer.fine_tune(model, X, y, epochs=1)


def test_save_weights_is_byte_reproducible_and_round_trips(tmp_path):
    model = transfer.fashion_cnn(6, rng=0)
    sha1 = transfer.save_weights(model, tmp_path / "a.npz")
    sha2 = transfer.save_weights(model, tmp_path / "b.npz")
    assert sha1 == sha2 == transfer.file_sha256(tmp_path / "a.npz")
    copy = transfer.fashion_cnn(6, rng=1).load(tmp_path / "a.npz")
    x = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)
    np.testing.assert_array_equal(predict(copy, x), predict(model, x))


@pytest.mark.parametrize("name", [pytest.param(n, marks=[pytest.mark.accuracy] if "fashion" in n else [])
                                  for n in NAMES])
def test_shipped_weights_load_and_give_the_documented_held_out_accuracy(name):
    info = transfer.PRETRAINED[name]
    path = transfer.pretrained_path(name)
    assert path.stat().st_size < 1_000_000
    assert transfer.file_sha256(path) == info.sha256
    model = transfer.load_pretrained(name)
    _, _, X_test, y_test = transfer.pretraining_data(name)
    acc = accuracy(predict(model, X_test), y_test)
    print(f"{name}: held-out accuracy {acc:.4f} (documented {info.test_accuracy:.4f}) on {len(y_test)} samples")
    assert abs(acc - info.test_accuracy) <= 0.005  # other BLAS builds may flip a borderline sample or two
    assert acc >= 0.9


def test_load_pretrained_refuses_a_corrupted_file(tmp_path, monkeypatch):
    name = "mnist1d_cnn_6class"
    target = tmp_path / transfer.PRETRAINED[name].filename
    shutil.copy(transfer.pretrained_path(name), target)
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    monkeypatch.setattr(transfer, "PRETRAINED_DIR", tmp_path)
    with pytest.raises(ValueError, match="SHA-256"):
        transfer.load_pretrained(name)
    with pytest.raises(KeyError, match="available"):
        transfer.load_pretrained("imagenet_resnet152")


@pytest.mark.parametrize("name", NAMES)
def test_the_new_task_is_unseen_in_pretraining_and_its_test_set_is_held_out(name):
    info = transfer.PRETRAINED[name]
    X, y, X_test, y_test = transfer.few_shot_task(name, 7, seed=0)
    assert X.shape[0] == 28 and np.array_equal(np.bincount(y), [7, 7, 7, 7])
    assert set(np.unique(y_test)) == {0, 1, 2, 3}
    assert set(info.new_classes).isdisjoint(info.classes) and len(info.new_classes) == 4
    X_old, _, X_old_test, _ = transfer.pretraining_data(name)
    for old in (X_old, X_old_test):
        assert overlap(old, X).size == 0 and overlap(old, X_test).size == 0
    assert overlap(X, X_test).size == 0
    again = transfer.few_shot_task(name, 7, seed=0)
    np.testing.assert_array_equal(again[0], X)
    assert not np.array_equal(transfer.few_shot_task(name, 7, seed=1)[0], X)


@pytest.mark.accuracy
def test_fine_tuning_the_pretrained_network_beats_training_from_scratch():
    """Seed 9 with few labelled samples: 10 per class of MNIST-1D digits 6-9, same budget for both."""
    result = transfer.compare_with_scratch("mnist1d_cnn_6class", n_per_class=10, seeds=range(5), epochs=40)
    mean, runs = result["mean"], result["per_seed"]
    print(f"\nMNIST-1D digits 6-9, 10 labelled per class, 40 epochs, 5 seeds: "
          f"fine-tune all {mean['fine_tune_all']:.3f}, frozen features + new head {mean['feature_extractor']:.3f}, "
          f"from scratch {mean['scratch']:.3f}; margin {result['margin']:+.3f}")
    assert result["margin"] >= 0.10
    assert all(t > s for t, s in zip(runs["fine_tune_all"], runs["scratch"]))
    assert mean["feature_extractor"] > mean["scratch"]


@pytest.mark.accuracy
def test_freeze_sweep_reports_every_setting_and_the_scratch_baseline():
    rows = transfer.freeze_sweep("mnist1d_cnn_6class", n_per_class=10, seeds=(0,), epochs=20)
    assert [r["frozen"] for r in rows] == [0, 1, 2, 3, 4, None]
    params = [r["trainable_parameters"] for r in rows[:-1]]
    assert params == sorted(params, reverse=True) and params[-1] == 64 * 4 + 4
    assert rows[-1]["trainable_parameters"] == params[0] and not rows[-1]["pretrained"]
    assert all(0.25 < r["accuracy"] <= 1 for r in rows)
    assert rows[0]["accuracy"] > rows[-1]["accuracy"]  # fine-tuning everything beats scratch here too


@pytest.mark.accuracy
def test_the_pretraining_script_reproduces_the_documented_accuracy():
    spec = importlib.util.spec_from_file_location("pretrain_script", ROOT / "scripts" / "pretrain.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    _, acc, _ = script.pretrain("mnist1d_cnn_6class", progress=False)
    assert abs(acc - transfer.PRETRAINED["mnist1d_cnn_6class"].test_accuracy) <= 0.01
