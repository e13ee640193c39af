"""Bijections from the real line onto a parameter's bounds (no clipping, ever).

A bounded parameter ``lo < θ < hi`` is reached from ``u ∈ ℝ`` by ``θ = lo + (hi - lo)·σ(u)``
(numpyro's ``biject_to(interval)``). When both bounds are positive and span more than three
decades the map runs on the log scale, ``θ = exp(log lo + (log hi - log lo)·σ(u))``, so that a
uniform draw in ``u``-space is log-uniform in ``θ`` and a unit step in ``u`` is a relative step in
``θ`` — which is what the optimiser and the Laplace approximation want for coefficients such
as ``A ∈ [1e-3, 1e9]``.

Everything here is vectorised over a leading axis of parameters: ``lo``, ``hi`` and ``log_scale``
are arrays of shape ``(p,)``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from ._numerics import logit, sigmoid

LOG_SCALE_DECADES = 3.0


class Bijector(NamedTuple):
    """Elementwise bijection ``u ↦ θ`` for a vector of bounded parameters."""

    lo: np.ndarray  # (p,) lower bounds, natural scale
    hi: np.ndarray  # (p,) upper bounds, natural scale
    log_scale: np.ndarray  # (p,) bool: map on log(θ)

    @classmethod
    def from_bounds(cls, bounds: np.ndarray, log_scale: np.ndarray | None = None) -> Bijector:
        bounds = np.asarray(bounds, dtype=np.float64)
        lo, hi = bounds[:, 0], bounds[:, 1]
        if log_scale is None:
            with np.errstate(divide="ignore", invalid="ignore"):
                log_scale = (lo > 0) & (np.log10(hi / lo) > LOG_SCALE_DECADES)
        return cls(lo, hi, np.asarray(log_scale, dtype=bool))

    def _ends(self):
        a = np.where(self.log_scale, np.log(np.where(self.log_scale, self.lo, 1.0)), self.lo)
        b = np.where(self.log_scale, np.log(np.where(self.log_scale, self.hi, 1.0)), self.hi)
        return a, b

    def forward(self, u: jnp.ndarray) -> jnp.ndarray:
        """Unconstrained ``u`` (..., p) → parameters θ (..., p), strictly inside the bounds."""
        a, b = self._ends()
        z = a + (b - a) * sigmoid(u)
        return jnp.where(self.log_scale, jnp.exp(z), z)

    def inverse(self, theta: jnp.ndarray) -> jnp.ndarray:
        """Parameters θ (..., p) strictly inside the bounds → ``u`` (..., p)."""
        a, b = self._ends()
        z = jnp.where(self.log_scale, jnp.log(jnp.where(self.log_scale, theta, 1.0)), theta)
        return logit((z - a) / (b - a))

    def from_unit(self, q: jnp.ndarray) -> jnp.ndarray:
        """Unit-cube point ``q ∈ (0, 1)^p`` → parameters (uniform, or log-uniform on log scale)."""
        a, b = self._ends()
        z = a + (b - a) * q
        return jnp.where(self.log_scale, jnp.exp(z), z)

    def to_unit(self, theta: jnp.ndarray) -> jnp.ndarray:
        a, b = self._ends()
        z = jnp.where(self.log_scale, jnp.log(jnp.where(self.log_scale, theta, 1.0)), theta)
        return (z - a) / (b - a)

    def log_abs_det_jacobian(self, u: jnp.ndarray) -> jnp.ndarray:
        """``log |dθ/du|`` summed over the last axis."""
        a, b = self._ends()
        s = sigmoid(u)
        z = a + (b - a) * s
        log_dz = jnp.log(b - a) + jnp.log(s) + jnp.log1p(-s)
        return jnp.sum(log_dz + jnp.where(self.log_scale, z, 0.0), axis=-1)
