"""A character-level text corpus for recurrent language models (seed 7), offline.

The corpus is CPython's own help text, ``pydoc_data.topics`` (part of the standard library, so it
is present on every Python installation; ≈ 465 000 characters of English prose and code, under the
Python Software Foundation licence).  ``CharVocab`` maps characters to integer ids and back, and
``make_char_batches`` cuts the id sequence into (input, next-character target) windows.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from .._rng import get_rng
from .._validate import positive_int


def load_char_corpus(max_chars: int | None = None) -> str:
    """The text of ``pydoc_data.topics`` (all help topics, in sorted key order), optionally truncated."""
    from pydoc_data.topics import topics

    text = "\n\n".join(topics[key].strip() for key in sorted(topics))
    if max_chars is not None:
        text = text[:positive_int("load_char_corpus", max_chars, "max_chars")]
    return text


class CharVocab:
    """Characters ↔ integer ids; ids are assigned in sorted character order.

    ``vocab = CharVocab(text)``; ``ids = vocab.encode("def")`` → int64 array ``(3,)``;
    ``vocab.decode(ids)`` → ``"def"``; ``len(vocab)`` is the number of classes of the output layer.
    """

    def __init__(self, text: str | Iterable[str]) -> None:
        self.chars: list[str] = sorted(set(text))
        if not self.chars:
            raise ValueError("CharVocab needs a non-empty text")
        self.index = {ch: i for i, ch in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """``str`` of length ``L`` → int64 ids ``(L,)``; an unknown character raises a KeyError naming it."""
        try:
            return np.fromiter((self.index[ch] for ch in text), dtype=np.int64, count=len(text))
        except KeyError as err:
            raise KeyError(f"CharVocab.encode: character {err.args[0]!r} is not in the vocabulary "
                           f"({len(self)} characters)") from None

    def decode(self, ids) -> str:
        """Integer ids of any shape (flattened) → ``str``."""
        ids = np.asarray(ids).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise ValueError(f"CharVocab.decode: ids must lie in [0, {len(self)}), got range "
                             f"[{ids.min()}, {ids.max()}]")
        return "".join(self.chars[i] for i in ids)

    def one_hot(self, ids, dtype=np.float32) -> np.ndarray:
        """Ids ``(…)`` → one-hot ``(…, len(vocab))``: the input format of ``RNN``/``LSTM``."""
        return np.eye(len(self), dtype=dtype)[np.asarray(ids)]

    def __repr__(self) -> str:
        return f"CharVocab({len(self)} characters)"


def make_char_batches(text: str | np.ndarray, seq_len: int, batch_size: int = 32, *, vocab: CharVocab | None = None,
                      shuffle: bool = True, rng=None) -> tuple[np.ndarray, np.ndarray]:
    """Cut a text into non-overlapping windows for next-character prediction.

    ``text``: a string (encoded with ``vocab``, built from the text if not given) or int ids.
    Returns ``x, y`` int64 of shape ``(num_batches, batch_size, seq_len)`` with ``y`` = ``x`` shifted
    one character ahead (``y[..., t]`` is the character after ``x[..., t]``).  Windows are shuffled
    (``shuffle=True``, seeded by ``rng``); the remainder that does not fill a batch is dropped.
    """
    seq_len = positive_int("make_char_batches", seq_len, "seq_len")
    batch_size = positive_int("make_char_batches", batch_size, "batch_size")
    if isinstance(text, str):
        ids = (vocab or CharVocab(text)).encode(text)
    else:
        ids = np.asarray(text)
        if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
            raise TypeError(f"make_char_batches expected a str or a 1-D integer array, got {ids.dtype} {ids.shape}")
    n_windows = (len(ids) - 1) // seq_len
    num_batches = n_windows // batch_size
    if num_batches < 1:
        raise ValueError(f"make_char_batches: a text of {len(ids)} characters gives {n_windows} windows of "
                         f"{seq_len}, fewer than one batch of {batch_size}")
    starts = np.arange(n_windows) * seq_len
    if shuffle:
        starts = get_rng(rng).permutation(starts)
    starts = starts[:num_batches * batch_size]
    windows = starts[:, None] + np.arange(seq_len + 1)[None, :]
    seq = ids[windows].astype(np.int64)
    x = seq[:, :-1].reshape(num_batches, batch_size, seq_len)
    y = seq[:, 1:].reshape(num_batches, batch_size, seq_len)
    return x, y
