"""BLAS threading for code that runs many small matrix products one after another."""
from __future__ import annotations

_controller = None


def one_blas_thread():
    """Context manager: BLAS (OpenBLAS, MKL) limited to one thread while it is open.

    For small products between elementwise work — an LSTM step's ``(256, 75) @ (75, 32)``, a widget's
    network ``64 × 64`` — a second OpenBLAS thread costs more in synchronisation than it saves: a
    ``(32, 64) @ (64, 256)`` product took 16 µs with one thread and 26 µs with two here, and the
    slowest widget moves were 20–45 % faster (``benchmarks/bench_rnn.py``, ``benchmarks/bench_widgets.py``).
    Entering and leaving costs 10–20 µs.
    """
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController  # imported late: it inspects every loaded library

        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")
