"""Robust losses for fitting, written as ``sum_i c·w_i·rho(r_i)`` over residuals ``r``.

Each loss gives the residual (on the natural or the log scale), ``rho``, its derivative
``psi = rho'`` and the IRLS weight ``psi(r)/r``, which is what the Gauss–Newton /
Levenberg–Marquardt solver uses as curvature (the standard majoriser for symmetric convex
``rho``, exact for squares).

==========  =====================================  ===========================================
name        residual                               objective
==========  =====================================  ===========================================
mse         ŷ - y                                  mean of r²
log-mse     log ŷ - log y                          mean of r²
huber-log   log ŷ - log y                          sum of Huber_δ(r) (Hoffmann et al. 2022)
asymmetric  ŷ - y                                  mean of κ·r² if r > 0 (over-prediction) else r²
==========  =====================================  ===========================================
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax.numpy as jnp

from ._errors import LawError
from ._numerics import safe_log

LOSSES = ("mse", "log-mse", "huber-log", "asymmetric")


class Loss(NamedTuple):
    name: str
    log: bool  # residuals on the log scale (needs positive targets)
    mean: bool  # objective is a mean (else a sum)
    rho: Callable[[jnp.ndarray], jnp.ndarray]
    psi: Callable[[jnp.ndarray], jnp.ndarray]
    irls: Callable[[jnp.ndarray], jnp.ndarray]
    delta: float = 0.0
    kappa: float = 1.0
    gaussian: bool = True  # rho is a Gaussian negative log-likelihood up to scale

    def residual(self, pred: jnp.ndarray, y: jnp.ndarray) -> jnp.ndarray:
        return safe_log(pred) - jnp.log(y) if self.log else pred - y


@functools.lru_cache(maxsize=64)
def make_loss(name: str = "mse", *, delta: float = 1e-3, kappa: float = 4.0) -> Loss:
    """The loss called ``name`` (one of :data:`LOSSES`).

    Cached: the same arguments give the same object, so compiled fitting code (cached per law
    and loss) is reused across calls.
    """
    if name in ("mse", "log-mse"):
        return Loss(
            name, name == "log-mse", True, lambda r: r**2, lambda r: 2 * r, lambda r: 2.0 + 0 * r
        )
    if name == "huber-log":
        if not delta > 0:
            raise LawError(f"--delta must be > 0 for huber-log, got {delta}")

        def rho(r):
            a = jnp.abs(r)
            return jnp.where(a <= delta, 0.5 * r**2, delta * (a - 0.5 * delta))

        def irls(r):
            return jnp.minimum(1.0, delta / jnp.maximum(jnp.abs(r), 1e-300))

        return Loss(
            name,
            True,
            False,
            rho,
            lambda r: jnp.clip(r, -delta, delta),
            irls,
            delta=delta,
            gaussian=False,
        )
    if name == "asymmetric":
        if not kappa >= 1:
            raise LawError(
                f"asymmetric loss needs kappa >= 1 (penalty on over-prediction), got {kappa}"
            )

        def w(r):
            return 2.0 * jnp.where(r > 0, kappa, 1.0)

        return Loss(
            name,
            False,
            True,
            lambda r: 0.5 * w(r) * r**2,
            lambda r: w(r) * r,
            w,
            kappa=kappa,
            gaussian=False,
        )
    raise LawError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")
