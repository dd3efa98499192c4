"""Unsupervised learning basics: k-means clustering and PCA (seed 1.1).

Seed 1.1: without labels, learning means finding structure in the data — groups of similar
samples (clustering, :class:`KMeans`) or the few directions along which the data vary most
(:class:`PCA`).  Both follow scikit-learn's names (``fit``, ``predict``/``transform``,
``cluster_centers_``, ``explained_variance_ratio_``) so the knowledge transfers.
"""
from __future__ import annotations

import numpy as np

from ._rng import get_rng
from ._validate import check_finite, float_array, positive_int

__all__ = ["KMeans", "PCA", "pairwise_sq_distances"]


def _data(owner: str, X, n_features: int | None = None) -> np.ndarray:
    X = np.asarray(X)
    if X.dtype.kind in "iub":
        X = X.astype(np.float64)
    X = float_array(owner, X, "X")
    if X.ndim != 2:
        raise ValueError(f"{owner} expected X of shape (n_samples, n_features), got shape {X.shape}; "
                         f"flatten images with X.reshape(len(X), -1)")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{owner} was fitted on {n_features} features, got X of shape {X.shape}")
    check_finite(owner, X, "X")
    return X.astype(np.float64, copy=False)


def pairwise_sq_distances(X: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances ``‖x_i − c_k‖²``: ``X (n, d)``, ``C (k, d)`` → ``(n, k)``.

    Uses ``‖x‖² − 2x·c + ‖c‖²`` (one matrix product instead of an ``(n, k, d)`` temporary) and
    clips the tiny negatives that rounding produces.
    """
    d = np.einsum("ij,ij->i", X, X)[:, None] - 2.0 * X @ C.T + np.einsum("ij,ij->i", C, C)[None, :]
    return np.maximum(d, 0.0)


class KMeans:
    """k-means clustering by Lloyd's algorithm with k-means++ initialisation (seed 1.1).

    Shapes: ``fit(X (n, d))``; ``predict(X (m, d)) -> (m,)`` int64 labels;
    ``cluster_centers_ (k, d)``; ``labels_ (n,)``; ``inertia_`` = Σ_i ‖x_i − c_{label_i}‖².

    Each iteration assigns every point to its nearest centre, then moves each centre to the mean
    of its points.  Both steps can only lower the inertia, so ``inertia_history_`` (the inertia
    after each assignment step) is non-increasing and the loop stops when the centres move less
    than ``tol`` (relative to the data's variance) or after ``max_iter`` iterations.
    ``init="k-means++"`` picks each new initial centre with probability proportional to its
    squared distance from the centres chosen so far (Arthur & Vassilvitskii 2007), which avoids
    the two-centres-in-one-blob failure of ``init="random"`` (k distinct random samples).
    A centre that loses all its points is moved to the point farthest from its centre.
    ``n_init`` restarts keep the run with the lowest inertia.
    """

    def __init__(self, n_clusters: int = 8, init: str = "k-means++", max_iter: int = 300, tol: float = 1e-4,
                 n_init: int = 1, rng=None) -> None:
        self.n_clusters = positive_int("KMeans", n_clusters, "n_clusters")
        if init not in ("k-means++", "random"):
            raise ValueError(f"KMeans: init must be 'k-means++' or 'random', got {init!r}")
        self.init = init
        self.max_iter = positive_int("KMeans", max_iter, "max_iter")
        self.n_init = positive_int("KMeans", n_init, "n_init")
        if not tol >= 0:
            raise ValueError(f"KMeans: tol must be non-negative, got {tol!r}")
        self.tol = float(tol)
        self.rng = rng
        self.cluster_centers_: np.ndarray | None = None

    def _init_centers(self, X: np.ndarray, gen: np.random.Generator) -> np.ndarray:
        n, k = X.shape[0], self.n_clusters
        if self.init == "random":
            return X[gen.choice(n, size=k, replace=False)].copy()
        centers = np.empty((k, X.shape[1]))
        centers[0] = X[gen.integers(n)]
        closest = pairwise_sq_distances(X, centers[:1])[:, 0]
        for j in range(1, k):
            total = closest.sum()
            # D² sampling; if every point coincides with a centre, any point will do
            idx = gen.choice(n, p=closest / total) if total > 0 else gen.integers(n)
            centers[j] = X[idx]
            closest = np.minimum(closest, pairwise_sq_distances(X, centers[j:j + 1])[:, 0])
        return centers

    def _lloyd(self, X: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[float], int]:
        threshold = self.tol * float(np.mean(np.var(X, axis=0)))
        history: list[float] = []
        labels = np.zeros(X.shape[0], dtype=np.int64)
        n_iter = 0
        for n_iter in range(1, self.max_iter + 1):
            dist = pairwise_sq_distances(X, centers)
            labels = dist.argmin(axis=1)  # assignment step
            history.append(float(dist[np.arange(X.shape[0]), labels].sum()))
            counts = np.bincount(labels, minlength=self.n_clusters)
            sums = np.zeros_like(centers)
            np.add.at(sums, labels, X)
            new = centers.copy()
            filled = counts > 0
            new[filled] = sums[filled] / counts[filled, None]  # update step: centre = mean of its points
            for j in np.flatnonzero(~filled):  # an empty cluster takes the worst-fitted point
                far = int(dist[np.arange(X.shape[0]), labels].argmax())
                new[j] = X[far]
                dist[far, :] = 0.0  # do not hand the same point to two empty clusters
            shift = float(np.sum((new - centers) ** 2))
            centers = new
            if shift <= threshold:
                break
        dist = pairwise_sq_distances(X, centers)
        labels = dist.argmin(axis=1)
        final = float(dist[np.arange(X.shape[0]), labels].sum())
        if final < history[-1]:
            history.append(final)
        return centers, labels, history, n_iter

    def fit(self, X) -> "KMeans":
        """Cluster ``X (n, d)``.

        Sets ``cluster_centers_``, ``labels_``, ``inertia_``, ``inertia_history_`` and ``n_iter_``.
        """
        X = _data("KMeans", X)
        if X.shape[0] < self.n_clusters:
            raise ValueError(f"KMeans: n_clusters={self.n_clusters} is more than the {X.shape[0]} samples in X")
        gen = get_rng(self.rng)
        best = None
        for _ in range(self.n_init):
            centers, labels, history, n_iter = self._lloyd(X, self._init_centers(X, gen))
            if best is None or history[-1] < best[2][-1]:
                best = (centers, labels, history, n_iter)
        self.cluster_centers_, self.labels_, self.inertia_history_, self.n_iter_ = best
        self.inertia_ = self.inertia_history_[-1]
        return self

    def predict(self, X) -> np.ndarray:
        """Index of the nearest centre for each row: ``X (m, d)`` → ``(m,)`` int64."""
        if self.cluster_centers_ is None:
            raise RuntimeError("KMeans is not fitted yet: call fit(X) first")
        X = _data("KMeans", X, self.cluster_centers_.shape[1])
        return pairwise_sq_distances(X, self.cluster_centers_).argmin(axis=1).astype(np.int64)

    def fit_predict(self, X) -> np.ndarray:
        return self.fit(X).labels_


class PCA:
    """Principal component analysis via the SVD of the centred data (seed 1.1).

    Shapes: ``fit(X (n, d))``; ``components_ (k, d)`` (orthonormal rows, the directions of largest
    variance); ``explained_variance_ (k,)`` = σ²/(n − 1) for the singular values σ;
    ``explained_variance_ratio_ (k,)`` its share of the total variance (sums to 1 when all
    components are kept); ``transform(X (m, d)) -> (m, k)``; ``inverse_transform(Z (m, k)) -> (m, d)``.

    ``n_components``: an int ``k``, ``None`` for all ``min(n, d)``, or a float in (0, 1) for the
    smallest ``k`` that explains at least that fraction of the variance.  Why the SVD and not the
    eigenvectors of the covariance matrix ``XᵀX/(n−1)``: same directions, but forming ``XᵀX``
    squares the condition number and loses the small components to rounding.  Signs are fixed so
    the largest-magnitude entry of each component is positive (the SVD's sign is arbitrary).
    """

    def __init__(self, n_components: int | float | None = None) -> None:
        if n_components is not None:
            if isinstance(n_components, float) and not isinstance(n_components, bool):
                if not 0 < n_components < 1:
                    raise ValueError(f"PCA: a float n_components is a variance fraction in (0, 1), got {n_components}")
            else:
                n_components = positive_int("PCA", n_components, "n_components")
        self.n_components = n_components
        self.components_: np.ndarray | None = None

    def fit(self, X) -> "PCA":
        """Compute ``mean_``, ``components_``, ``explained_variance_(_ratio_)``, ``singular_values_``."""
        X = _data("PCA", X)
        n, d = X.shape
        if n < 2:
            raise ValueError(f"PCA needs at least 2 samples to estimate a variance, got X of shape {X.shape}")
        self.mean_ = X.mean(axis=0)
        U, S, Vt = np.linalg.svd(X - self.mean_, full_matrices=False)
        signs = np.sign(Vt[np.arange(Vt.shape[0]), np.abs(Vt).argmax(axis=1)])
        signs[signs == 0] = 1.0
        Vt = Vt * signs[:, None]
        var = S ** 2 / (n - 1)
        total = var.sum()
        ratio = var / total if total > 0 else np.zeros_like(var)
        k = self.n_components
        if k is None:
            k = S.size
        elif isinstance(k, float):
            k = int(np.searchsorted(np.cumsum(ratio), k - 1e-12) + 1)
            k = min(k, S.size)
        elif k > S.size:
            raise ValueError(f"PCA: n_components={k} exceeds min(n_samples, n_features) = {S.size}")
        self.n_components_ = int(k)
        self.components_ = Vt[:k]
        self.singular_values_ = S[:k]
        self.explained_variance_ = var[:k]
        self.explained_variance_ratio_ = ratio[:k]
        return self

    def _check_fitted(self) -> None:
        if self.components_ is None:
            raise RuntimeError("PCA is not fitted yet: call fit(X) first")

    def transform(self, X) -> np.ndarray:
        """Coordinates in the principal axes: ``(X − mean) Vₖᵀ``, ``(m, d)`` → ``(m, k)``."""
        self._check_fitted()
        X = _data("PCA", X, self.mean_.size)
        return (X - self.mean_) @ self.components_.T

    def fit_transform(self, X) -> np.ndarray:
        return self.fit(X).transform(X)

    def inverse_transform(self, Z) -> np.ndarray:
        """Back to feature space: ``Z Vₖ + mean``, ``(m, k)`` → ``(m, d)``; exact when k = rank(X − mean)."""
        self._check_fitted()
        Z = np.asarray(Z, dtype=np.float64)
        if Z.ndim != 2 or Z.shape[1] != self.n_components_:
            raise ValueError(f"PCA.inverse_transform expected Z of shape (m, {self.n_components_}), got {Z.shape}")
        return Z @ self.components_ + self.mean_
