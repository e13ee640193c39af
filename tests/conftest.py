"""Shared test settings: float64 (scalinglaws enables it on import) and default tolerances."""

from __future__ import annotations

import numpy as np
import pytest

import scalinglaws  # noqa: F401  (enables float64 before any jax array is made)

# default tolerances; every loosening in a test carries a comment
RTOL = 1e-6
FD_RTOL = 1e-4  # autodiff vs central finite differences


@pytest.fixture(scope="session")
def chinchilla_truth() -> dict[str, float]:
    return {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


def chinchilla_grid(n_sizes: int = 40, n_ratios: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """N from 70M to 10B, 5–40 tokens per parameter, log-spaced: a realistic pilot grid."""
    N = np.repeat(np.geomspace(7e7, 1e10, n_sizes), n_ratios)
    D = N * np.tile(np.geomspace(5, 40, n_ratios), n_sizes)
    return N, D
