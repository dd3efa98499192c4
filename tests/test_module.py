"""The Module/Parameter contract of DESIGN.md: accumulation, modes, state, save/load."""
import os

import numpy as np
import pytest

import dlcourse
from dlcourse.nn import Dropout, Flatten, Linear, Module, Parameter, ReLU, Sequential

pytestmark = pytest.mark.module


def mlp():
    return Sequential(Linear(4, 5), ReLU(), Dropout(0.5), Linear(5, 3))


def test_gradients_accumulate_until_zero_grad():
    model = mlp().eval()
    x = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    dout = np.ones((6, 3), np.float32)
    model(x)
    model.backward(dout)
    once = {n: p.grad.copy() for n, p in model.named_parameters()}
    model(x)
    model.backward(dout)
    for n, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, 2 * once[n], rtol=1e-6)
        assert p.backward_count == 2
    model.zero_grad()
    assert all(not p.grad.any() and p.backward_count == 0 for p in model.parameters())


def test_named_parameters_follow_pytorch_names_and_layout():
    names = [n for n, _ in mlp().named_parameters()]
    assert names == ["0.weight", "0.bias", "3.weight", "3.bias"]
    layer = Linear(7, 2)
    assert layer.weight.shape == (2, 7) and layer.bias.shape == (2,)
    assert mlp().num_parameters() == 4 * 5 + 5 + 5 * 3 + 3


def test_train_and_eval_switch_every_submodule():
    model = mlp()
    assert all(m.training for m in model.modules())
    model.eval()
    assert not any(m.training for m in model.modules())
    x = np.ones((3, 4), np.float32)
    np.testing.assert_array_equal(model(x), model(x))  # dropout off in eval


def test_state_dict_is_a_copy_not_a_reference():
    model = mlp()
    state = model.state_dict()
    before = state["0.weight"].copy()
    model[0].weight.data += 1.0
    np.testing.assert_array_equal(state["0.weight"], before)


def test_load_state_dict_checks_keys_and_shapes():
    model = mlp()
    state = model.state_dict()
    with pytest.raises(KeyError, match="missing keys"):
        model.load_state_dict({k: v for k, v in state.items() if k != "0.bias"})
    state["0.weight"] = np.zeros((9, 9))
    with pytest.raises(ValueError, match="0.weight has shape"):
        model.load_state_dict(state)


def test_save_and_load_roundtrip_atomically(tmp_path):
    a, b = mlp(), mlp()
    path = tmp_path / "sub" / "model.npz"
    a.save(path)
    assert os.listdir(path.parent) == ["model.npz"]  # no temporary file left behind
    b.load(path)
    for (na, pa), (nb, pb) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(pa.data, pb.data)


def test_double_and_float_convert_parameters_and_outputs_keep_input_dtype():
    model = mlp().eval()
    x32 = np.ones((2, 4), np.float32)
    assert model(x32).dtype == np.float32
    model.double()
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in model.parameters())
    assert model(x32.astype(np.float64)).dtype == np.float64
    model.float()
    assert all(p.dtype == np.float32 for p in model.parameters())


def test_flatten_roundtrip():
    f = Flatten()
    x = np.arange(24, dtype=np.float64).reshape(2, 3, 2, 2)
    assert f(x).shape == (2, 12)
    np.testing.assert_array_equal(f.backward(f(x)), x)


def test_freeze_excludes_from_trainable_count():
    model = mlp()
    model[0].freeze()
    assert model.num_parameters(trainable_only=True) == 5 * 3 + 3


def test_sequential_rejects_non_modules_and_unknown_kwargs():
    with pytest.raises(TypeError, match="argument 1 is int"):
        Sequential(Linear(2, 2), 3)
    with pytest.raises(TypeError, match="unexpected keyword"):
        Linear(2, 2, bais=False)


def test_parameter_rejects_gradient_of_wrong_shape():
    p = Parameter(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"\(3, 2\) does not match"):
        p.accumulate(np.zeros((3, 2)))


def test_seed_makes_initialisation_reproducible():
    dlcourse.seed(7)
    a = mlp()
    dlcourse.seed(7)
    b = mlp()
    for pa, pb in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(pa.data, pb.data)
    with pytest.raises(TypeError):
        dlcourse.seed(1.5)


def test_custom_module_discovers_children_and_parameters():
    class Net(Module):
        def __init__(self):
            super().__init__()
            self.blocks = [Linear(2, 2), Linear(2, 2)]
            self.head = Linear(2, 1)

    assert [n for n, _ in Net().named_parameters()] == [
        "blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias", "head.weight", "head.bias"]


def test_backward_without_the_input_gradient_gives_the_same_parameter_gradients():
    """Training skips dL/dx of the first layer (the data is not learned); parameters must not notice."""
    from dlcourse.nn import Conv2d, Flatten, Linear, ReLU, Sequential

    rng = np.random.default_rng(0)
    for model, shape in [(Sequential(Linear(6, 5, rng=1), ReLU(), Linear(5, 3, rng=2)), (4, 6)),
                         (Sequential(Flatten(), Linear(12, 3, rng=3)), (2, 3, 4)),
                         (Sequential(Conv2d(2, 3, 3, padding=1, rng=4), ReLU(), Flatten(), Linear(48, 2, rng=5)),
                          (2, 2, 4, 4))]:
        x = rng.standard_normal(shape)
        dout = rng.standard_normal(model(x).shape)
        dx = model.backward(dout)
        full = [p.grad.copy() for p in model.parameters()]
        model.zero_grad()
        model(x)
        assert model.backward(dout, input_grad=False) is None
        assert dx.shape == x.shape
        for p, g in zip(model.parameters(), full):
            np.testing.assert_allclose(p.grad, g, rtol=1e-6)


def test_training_backward_skips_the_input_gradient_wherever_the_model_can():
    from dlcourse.nn import Conv2d, Linear, ReLU, Sequential
    from dlcourse.nn.module import backward_to_parameters

    class PlantedBug(Linear):  # overrides backward(dout) without input_grad: still trained
        def backward(self, dout):
            return super().backward(dout)

    rng = np.random.default_rng(1)
    for model, shape in [(Linear(4, 3, rng=0), (5, 4)), (Conv2d(1, 2, 3, rng=0), (2, 1, 5, 5)),
                         (Sequential(Linear(4, 3, rng=0), ReLU()), (5, 4)), (PlantedBug(4, 3, rng=0), (5, 4))]:
        x = rng.standard_normal(shape)
        dout = rng.standard_normal(model(x).shape)
        model.backward(dout)
        expected = [p.grad.copy() for p in model.parameters()]
        model.zero_grad()
        model(x)
        backward_to_parameters(model, dout)
        for p, g in zip(model.parameters(), expected):
            np.testing.assert_allclose(p.grad, g, rtol=1e-6)
