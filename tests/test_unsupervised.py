"""k-means and PCA (seed 1.1)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from dlcourse.unsupervised import PCA, KMeans, pairwise_sq_distances

pytestmark = pytest.mark.unsupervised


def adjusted_rand_index(a: np.ndarray, b: np.ndarray) -> float:
    """Hubert & Arabie's ARI: 1 for identical partitions (up to renaming), ≈ 0 for random ones."""
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    table = np.zeros((ai.max() + 1, bi.max() + 1))
    np.add.at(table, (ai, bi), 1)

    def pairs(x):
        return float(np.sum(x * (x - 1) / 2))

    index, rows, cols, total = pairs(table), pairs(table.sum(1)), pairs(table.sum(0)), pairs(np.array([len(a)]))
    expected = rows * cols / total
    return (index - expected) / (0.5 * (rows + cols) - expected)


def blobs(seed: int, k: int = 4, per: int = 50, std: float = 0.3):
    rng = np.random.default_rng(seed)
    centers = np.array([[0, 0], [6, 0], [0, 6], [6, 6], [3, 10], [-5, 3]], dtype=np.float64)[:k]
    X = np.concatenate([c + std * rng.standard_normal((per, 2)) for c in centers])
    return X, np.repeat(np.arange(k), per), centers


@pytest.mark.parametrize("seed", range(5))
def test_kmeans_recovers_well_separated_blobs(seed):
    X, labels, centers = blobs(seed, k=5)
    km = KMeans(5, rng=seed).fit(X)
    assert adjusted_rand_index(km.labels_, labels) == pytest.approx(1.0)
    # each centre is the mean of its blob
    for j in range(5):
        np.testing.assert_allclose(km.cluster_centers_[j], X[km.labels_ == j].mean(axis=0), atol=1e-12)
    order = np.argmin(pairwise_sq_distances(centers, km.cluster_centers_), axis=1)
    np.testing.assert_allclose(km.cluster_centers_[order], centers, atol=0.15)
    np.testing.assert_array_equal(km.predict(X), km.labels_)


def test_kmeans_on_the_bundled_generator():
    from dlcourse.data import make_blobs

    X, y = make_blobs(300, centers=np.array([[-6.0, 0.0], [0.0, 6.0], [6.0, 0.0]]), std=0.5, rng=1)
    km = KMeans(3, rng=0).fit(X)
    assert adjusted_rand_index(km.labels_, y) == pytest.approx(1.0)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 6), init=st.sampled_from(["k-means++", "random"]),
       n=st.integers(10, 80), d=st.integers(1, 4))
def test_inertia_history_is_non_increasing(seed, k, init, n, d):
    X = np.random.default_rng(seed).standard_normal((n, d))
    km = KMeans(k, init=init, rng=seed, tol=0.0, max_iter=100).fit(X)
    history = np.array(km.inertia_history_)
    assert np.all(np.diff(history) <= 1e-9 * max(1.0, history[0]))
    expected = np.sum((X - km.cluster_centers_[km.labels_]) ** 2)
    assert km.inertia_ == pytest.approx(expected, rel=1e-10)
    assert km.cluster_centers_.shape == (k, d) and km.labels_.shape == (n,)


def test_kmeans_plus_plus_beats_a_bad_random_start_on_average():
    X, labels, _ = blobs(0, k=6, per=30, std=0.4)
    pp = [KMeans(6, init="k-means++", rng=s).fit(X).inertia_ for s in range(10)]
    rnd = [KMeans(6, init="random", rng=s).fit(X).inertia_ for s in range(10)]
    assert np.mean(pp) <= np.mean(rnd)


def test_kmeans_errors():
    with pytest.raises(ValueError, match="more than the 3 samples"):
        KMeans(4).fit(np.ones((3, 2)))
    with pytest.raises(ValueError, match="NaN"):
        KMeans(2).fit(np.array([[0.0, 1.0], [np.nan, 2.0], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="init"):
        KMeans(2, init="kmeans")
    with pytest.raises(RuntimeError, match="not fitted"):
        KMeans(2).predict(np.ones((2, 2)))
    km = KMeans(2, rng=0).fit(np.random.default_rng(0).standard_normal((10, 3)))
    with pytest.raises(ValueError, match="3 features"):
        km.predict(np.ones((2, 2)))


def test_kmeans_duplicate_points_do_not_break_initialisation():
    X = np.zeros((10, 2))
    km = KMeans(3, rng=0).fit(X)
    assert km.inertia_ == 0.0 and np.all(np.isfinite(km.cluster_centers_))


# --- PCA ----------------------------------------------------------------------------------------
@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 40), d=st.integers(1, 8))
def test_pca_matches_numpy_svd_and_reconstructs_exactly(seed, n, d):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) @ rng.standard_normal((d, d)) + rng.standard_normal(d)
    pca = PCA().fit(X)
    Xc = X - X.mean(axis=0)
    _, S, Vt = np.linalg.svd(Xc, full_matrices=False)
    k = min(n, d)
    assert pca.components_.shape == (k, d)
    # same directions up to sign
    np.testing.assert_allclose(np.abs(np.sum(pca.components_ * Vt, axis=1)), 1.0, atol=1e-8)
    np.testing.assert_allclose(pca.explained_variance_, S ** 2 / (n - 1), rtol=1e-10, atol=1e-12)
    if np.linalg.matrix_rank(Xc) == k:
        np.testing.assert_allclose(np.sort(pca.explained_variance_)[::-1],
                                   np.sort(np.linalg.eigvalsh(np.atleast_2d(np.cov(X, rowvar=False))))[::-1][:k],
                                   rtol=1e-7, atol=1e-9)
    assert pca.explained_variance_ratio_.sum() == pytest.approx(1.0)
    assert np.all(np.diff(pca.explained_variance_ratio_) <= 1e-12)
    Z = pca.transform(X)
    np.testing.assert_allclose(pca.inverse_transform(Z), X, atol=1e-9 * max(1.0, np.abs(X).max()))
    np.testing.assert_allclose(Z.var(axis=0, ddof=1), pca.explained_variance_, rtol=1e-8, atol=1e-10)


def test_pca_truncation_and_variance_fraction():
    rng = np.random.default_rng(0)
    # 3 strong directions in 10-D plus small noise
    X = rng.standard_normal((200, 3)) @ rng.standard_normal((3, 10)) * 5 + 0.01 * rng.standard_normal((200, 10))
    pca = PCA(2).fit(X)
    assert pca.transform(X).shape == (200, 2)
    assert pca.inverse_transform(pca.transform(X)).shape == (200, 10)
    assert PCA(0.999).fit(X).n_components_ == 3
    full = PCA().fit(X)
    assert full.explained_variance_ratio_[:3].sum() > 0.999
    # the rank-3 reconstruction error is the discarded variance
    p3 = PCA(3).fit(X)
    err = np.sum((p3.inverse_transform(p3.transform(X)) - X) ** 2) / (len(X) - 1)
    assert err == pytest.approx(full.explained_variance_[3:].sum(), rel=1e-8)


def test_pca_on_the_bundled_digits():
    from dlcourse.data import load_digits

    X = load_digits(flatten=True).X_train.astype(np.float64)
    pca = PCA(0.9).fit(X)
    assert 10 < pca.n_components_ < 40  # 64 pixels, ~20 components explain 90 %
    assert pca.explained_variance_ratio_.sum() >= 0.9


def test_pca_errors():
    with pytest.raises(ValueError, match="at least 2 samples"):
        PCA().fit(np.ones((1, 3)))
    with pytest.raises(ValueError, match="exceeds"):
        PCA(5).fit(np.ones((4, 3)) + np.arange(3))
    with pytest.raises(ValueError, match=r"\(m, 2\)"):
        PCA(2).fit(np.random.default_rng(0).standard_normal((5, 3))).inverse_transform(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match="not fitted"):
        PCA().transform(np.ones((2, 2)))
