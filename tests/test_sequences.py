"""Sequence data (seed 7): sine, adding problem, copy task, MNIST-1D and the character corpus."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from dlcourse.data.mnist1d import (_gaussian_smooth, _linear_resample, generate_mnist1d, make_mnist1d,
                                   mnist1d_templates)
from dlcourse.data.sequences import (ADDING_BASELINE_MSE, adding_baseline_mse, make_adding_problem, make_copy_task,
                                     make_sine)
from dlcourse.data.text import CharVocab, load_char_corpus, make_char_batches

pytestmark = pytest.mark.data


# -- synthetic sequences ------------------------------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 20), T=st.integers(2, 60), seed=st.integers(0, 1000))
def test_adding_problem_structure(n, T, seed):
    x, y = make_adding_problem(n, T, rng=seed)
    assert x.shape == (n, T, 2) and y.shape == (n, 1) and x.dtype == y.dtype == np.float32
    markers = x[..., 1]
    np.testing.assert_array_equal(markers.sum(axis=1), 2)                    # exactly two marks
    assert np.all(np.argmax(markers[:, :T // 2], axis=1) < T // 2)
    assert np.all(markers[:, :T // 2].sum(axis=1) == 1)                      # one in each half
    np.testing.assert_allclose(y[:, 0], (x[..., 0] * markers).sum(axis=1), rtol=1e-6)
    assert np.all((x[..., 0] >= 0) & (x[..., 0] <= 1))


def test_adding_problem_baseline_is_one_sixth():
    _, y = make_adding_problem(200_000, 10, rng=0)
    assert ADDING_BASELINE_MSE == pytest.approx(1 / 6)
    assert adding_baseline_mse(y) == pytest.approx(1 / 6, abs=3e-3)          # Var(u1 + u2) = 2/12
    assert float(np.mean((y - 1.0) ** 2)) == pytest.approx(0.167, abs=3e-3)  # predicting the mean 1.0


def test_sine_target_is_the_next_clean_value():
    x, y = make_sine(5, 30, rng=1)
    assert x.shape == y.shape == (5, 30, 1) and x.dtype == np.float32
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
    noisy, target = make_sine(5, 30, noise=0.1, rng=1)
    np.testing.assert_array_equal(target, y)                                 # same waves, noise on inputs only
    assert 0.05 < np.std(noisy - x) < 0.15


def test_copy_task_layout():
    x, y = make_copy_task(4, T=7, n_symbols=5, copy_len=3, rng=2)
    length = 7 + 2 * 3
    assert x.shape == (4, length, 7) and y.shape == (4, length) and y.dtype == np.int64
    tokens = x.argmax(axis=-1)
    np.testing.assert_array_equal(x.sum(axis=-1), 1)
    np.testing.assert_array_equal(y[:, -3:], tokens[:, :3])                  # the symbols come back at the end
    assert np.all(y[:, :-3] == 0) and np.all((tokens[:, :3] >= 1) & (tokens[:, :3] <= 5))
    np.testing.assert_array_equal(tokens[:, 7 + 3 - 1], 6)                   # the delimiter
    assert np.all(tokens[:, 3:7 + 3 - 1] == 0) and np.all(tokens[:, -3:] == 0)
    raw, _ = make_copy_task(4, T=7, n_symbols=5, copy_len=3, one_hot=False, rng=2)
    np.testing.assert_array_equal(raw, tokens)


def test_generators_are_seeded():
    a, b = make_adding_problem(3, 10, rng=5), make_adding_problem(3, 10, rng=5)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], make_adding_problem(3, 10, rng=6)[0])


# -- MNIST-1D -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mnist1d():
    return make_mnist1d()


def test_mnist1d_shapes_dtypes_and_balance(mnist1d):
    d = mnist1d
    assert d.x_train.shape == (4000, 40) and d.x_test.shape == (1000, 40) and d["t"].shape == (40,)
    assert d.x_train.dtype == np.float32 and d.y_train.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(d.y_train, minlength=10), 400)
    np.testing.assert_array_equal(np.bincount(d.y_test, minlength=10), 100)
    allx = np.concatenate([d.x_train, d.x_test])
    assert abs(allx.mean()) < 1e-4 and abs(allx.std() - 1) < 1e-4           # standardised as the reference
    assert np.isfinite(allx).all()


def test_mnist1d_is_deterministic(mnist1d):
    again = make_mnist1d()
    for key in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(again[key], mnist1d[key])
    other = make_mnist1d(seed=7)
    assert not np.array_equal(other.x_train, mnist1d.x_train)
    small = make_mnist1d(n_train=25, n_test=15, seed=3)
    assert small.x_train.shape == (25, 40) and small.y_test.shape == (15,)


def test_mnist1d_templates_and_noise_free_variant():
    t = mnist1d_templates()
    assert t.shape == (10, 12)
    np.testing.assert_allclose(t[:, 0], 0)
    np.testing.assert_allclose(t[:, -1], 0, atol=1e-12)                      # signals start and end at 0
    assert len({tuple(np.round(r, 6)) for r in t}) == 10                      # ten distinct digits
    labels = np.arange(10)
    clean = generate_mnist1d(labels, np.random.default_rng(0), padding=(0, 0), scale_coeff=0.0,
                             max_translation=1, corr_noise_scale=0.0, iid_noise_scale=0.0, shear_scale=0.0)
    # without any transformation the sample is the template resampled to 40 points
    expected = np.stack([np.interp(np.linspace(0, 1, 40), np.linspace(0, 1, 12), r + 1e-8) for r in t])
    np.testing.assert_allclose(clean, expected, atol=1e-12)


def test_mnist1d_helpers_match_scipy_and_numpy():
    from scipy.ndimage import gaussian_filter1d

    x = np.random.default_rng(0).standard_normal((4, 72))
    np.testing.assert_allclose(_gaussian_smooth(x, 2.0), gaussian_filter1d(x, 2.0, axis=-1), atol=1e-12)
    lengths = np.array([13, 50, 72])
    buf = np.zeros((3, 73))
    buf[:, :72] = x[:3]
    ref = np.stack([np.interp(np.linspace(0, 1, 72), np.linspace(0, 1, n), buf[i, :n]) for i, n in enumerate(lengths)])
    np.testing.assert_allclose(_linear_resample(buf, lengths, 72), ref, atol=1e-12)


def _softmax_regression_accuracy(x, y, x_test, y_test, steps=300, lr=0.5):
    """Full-batch gradient descent on multinomial logistic regression (numpy, ~0.2 s)."""
    xb = np.hstack([x, np.ones((len(x), 1))]).astype(np.float64)
    xt = np.hstack([x_test, np.ones((len(x_test), 1))]).astype(np.float64)
    w = np.zeros((xb.shape[1], 10))
    onehot = np.eye(10)[y]
    for _ in range(steps):
        z = xb @ w
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        w -= lr * xb.T @ (p - onehot) / len(x)
    return float(np.mean((xt @ w).argmax(axis=1) == y_test)), float(np.mean((xb @ w).argmax(axis=1) == y))


def test_mnist1d_is_not_linearly_separable(mnist1d):
    """Published: logistic regression 32 %.  Far above chance (10 %), far below the CNN's 94 %."""
    d = mnist1d
    test_acc, train_acc = _softmax_regression_accuracy(d.x_train, d.y_train, d.x_test, d.y_test)
    assert 0.2 < test_acc < 0.45, test_acc
    assert train_acc < 0.5, train_acc
    # without translation and noise the same linear model does much better: those make the task hard
    easy = make_mnist1d(max_translation=1, corr_noise_scale=0.0, iid_noise_scale=0.0, shear_scale=0.0)
    assert _softmax_regression_accuracy(easy.x_train, easy.y_train, easy.x_test, easy.y_test)[0] > test_acc + 0.2


# -- character corpus ---------------------------------------------------------------------------------
def test_char_corpus_vocab_round_trip():
    text = load_char_corpus()
    assert len(text) > 400_000 and "def " in text
    vocab = CharVocab(text)
    assert 60 < len(vocab) < 200
    sample = text[1000:1500]
    ids = vocab.encode(sample)
    assert ids.dtype == np.int64 and ids.shape == (500,) and vocab.decode(ids) == sample
    np.testing.assert_array_equal(vocab.one_hot(ids[:3]).argmax(-1), ids[:3])
    assert load_char_corpus(max_chars=100) == text[:100]
    with pytest.raises(KeyError, match="not in the vocabulary"):
        CharVocab("abc").encode("abd")


def test_char_batches_shift_by_one():
    text = load_char_corpus(max_chars=5000)
    vocab = CharVocab(text)
    x, y = make_char_batches(text, seq_len=20, batch_size=8, vocab=vocab, rng=0)
    assert x.shape == y.shape == (4999 // 20 // 8, 8, 20) and x.dtype == np.int64
    np.testing.assert_array_equal(x[..., 1:], y[..., :-1])
    ids = vocab.encode(text)
    for window_x, window_y in zip(x.reshape(-1, 20)[:10], y.reshape(-1, 20)[:10]):
        start = int(np.flatnonzero((np.lib.stride_tricks.sliding_window_view(ids, 20) == window_x).all(1))[0])
        np.testing.assert_array_equal(ids[start + 1:start + 21], window_y)
    x2, _ = make_char_batches(text, seq_len=20, batch_size=8, vocab=vocab, shuffle=False)
    np.testing.assert_array_equal(x2[0, 0], ids[:20])
    with pytest.raises(ValueError, match="fewer than one batch"):
        make_char_batches("short text", seq_len=20, batch_size=8)
