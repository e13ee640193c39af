"""Laplace approximation: a Gaussian in the unconstrained space at each mode of a fit.

For residual losses the data precision is the Gauss–Newton / Fisher information
``Jᵀ J / σ²`` with ``J = ∂r/∂u`` (residuals on the loss's scale, natural or log) and the noise
variance ``σ² = SSR / (n − p)`` estimated at the best mode. For likelihood laws (``law.nll``) it
is the observed information (the Hessian of the negative log-likelihood). The weak prior is the
one the bounds imply: uniform (log-uniform on log-scale parameters) within them, i.e. a
logistic density on ``u`` with curvature ``2σ(u)(1 − σ(u))`` — at most 1/2, so the data dominate
wherever they inform a parameter, and an unidentified direction keeps the full width of its
bounds instead of collapsing to a confident number.

Modes that explain the data comparably (see :func:`scalinglaws._fit.comparable`) each get a
component, weighted by their Laplace evidence ``exp(−f_m/(2σ²)) · |Σ_m|^½ · prior(u_m)``.

This module is deliberately small and pure: the design loop calls it hundreds of times.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._fit import FitResult, _bucket, _compiled, _pad, comparable
from ._law import Law
from ._losses import make_loss
from ._numerics import sigmoid


def prior_precision(u: jnp.ndarray) -> jnp.ndarray:
    """Curvature of −log p(u) of the bounds prior (logistic in u), elementwise: 2σ(u)(1−σ(u))."""
    s = sigmoid(u)
    return 2.0 * s * (1.0 - s)


def prior_logpdf(u: jnp.ndarray) -> jnp.ndarray:
    """log p(u) of the bounds prior, summed over the last axis."""
    return jnp.sum(-jax.nn.softplus(-u) - jax.nn.softplus(u), axis=-1)


def prediction_jacobian(law: Law, u: jnp.ndarray, x: Mapping[str, Any]) -> jnp.ndarray:
    """∂ prediction / ∂u at unconstrained ``u`` (p,) on inputs ``x``: shape (n, k, p)."""
    bij = law.bijector
    xs = {k: jnp.asarray(x[k], dtype=jnp.float64) for k in law.inputs}
    return jax.jacfwd(lambda v: law.apply(bij.forward(v), xs))(jnp.asarray(u))


@dataclasses.dataclass(frozen=True)
class Component:
    """One Gaussian of the mixture: mean and covariance in u-space, its weight and objective."""

    mean: np.ndarray  # (p,)
    cov: np.ndarray  # (p, p)
    weight: float
    objective: float

    @property
    def precision(self) -> np.ndarray:
        return np.linalg.inv(self.cov)


@dataclasses.dataclass(frozen=True, eq=False)
class LaplaceApprox:
    """A mixture of Gaussians in u-space (one per comparable mode) and the noise scale.

    Attributes:
        law: the law. ``components``: Gaussians, weights summing to one.
        sigma: run-to-run noise sd, on the residual scale (log scale for log losses).
        log_residuals: whether residuals (and so ``sigma``) are on the log scale.
    """

    law: Law
    components: tuple[Component, ...]
    sigma: float
    log_residuals: bool
    n_runs: int

    def sample_u(self, n: int, key: Any = 0) -> np.ndarray:
        """Draws (n, p) in u-space from the mixture."""
        rng = np.random.default_rng(key if isinstance(key, (int, np.integer)) else None)
        w = np.array([c.weight for c in self.components])
        which = rng.choice(len(w), size=n, p=w / w.sum())
        out = np.empty((n, self.law.n_params))
        for i, c in enumerate(self.components):
            m = which == i
            if m.any():
                L = np.linalg.cholesky(c.cov + 1e-12 * np.eye(len(c.mean)))
                out[m] = c.mean + rng.standard_normal((m.sum(), len(c.mean))) @ L.T
        return out

    def sample(self, n: int, key: Any = 0) -> np.ndarray:
        """Parameter draws (n, p) on the natural scale."""
        return np.asarray(self.law.bijector.forward(self.sample_u(n, key)))


def laplace(fit: FitResult, *, data: Any = None, all_modes: bool = True) -> LaplaceApprox:
    """The Laplace approximation of ``fit``'s posterior (see module docstring)."""
    law = fit.law
    loss = make_loss(fit.loss, delta=fit.delta)
    _, fgh, _ = _compiled(law, loss, "lm")
    bij = law.bijector
    if law.nll is not None:
        payload = {k: jnp.asarray(v) for k, v in (data or {}).items()}
        sigma2, scale = 1.0, 1.0
    else:
        x, y = fit.x, fit.y
        w = np.ones_like(y)
        xp, yp, wp = _pad(x, y, w, _bucket(len(y)))
        payload = ({k: jnp.asarray(v) for k, v in xp.items()}, jnp.asarray(yp), jnp.asarray(wp))
        m = y.size
        r = np.asarray(loss.residual(jnp.asarray(law(fit.params, x)).reshape(y.shape), y))
        sigma2 = float(np.sum(r**2) / max(m - law.n_params, 1))
        sigma2 = max(sigma2, 1e-300)
        # the solver's curvature is c·Jᵀ W J with c = 1/m for mean losses; rescale to Jᵀ J / σ²
        scale = (m if loss.mean else 1.0) / (2.0 if loss.name != "huber-log" else 1.0) / sigma2
    modes = fit.modes if all_modes else fit.modes[:1]
    best_f = modes[0].objective
    comps, logw = [], []
    for mode in modes:
        if mode is not modes[0] and not comparable(loss, fit.n_runs, best_f, mode.objective):
            continue
        u = jnp.asarray(bij.inverse(jnp.asarray(law.vector(mode.params))))
        f, _, h = fgh(u, payload)
        if law.nll is None and loss.name == "huber-log":
            # Huber's IRLS curvature down-weights large residuals; use Gaussian Fisher JᵀJ
            h = _gauss_newton(law, loss, u, payload)
        prec = np.asarray(h) * scale + np.diag(np.asarray(prior_precision(u)))
        prec = 0.5 * (prec + prec.T)
        cov = np.linalg.inv(prec)
        sign, logdet = np.linalg.slogdet(cov)
        data_term = -mode.objective * (scale if law.nll is None else 1.0)
        if law.nll is None and loss.mean:
            data_term = -0.5 * fit.n_runs * math.log(max(mode.objective, 1e-300) / max(best_f, 1e-300))
        logw.append(data_term + 0.5 * logdet + float(prior_logpdf(u)))
        comps.append((np.asarray(u), cov, float(mode.objective)))
    logw = np.asarray(logw)
    wts = np.exp(logw - logw.max())
    wts /= wts.sum()
    components = tuple(Component(u, c, float(wi), f) for (u, c, f), wi in zip(comps, wts))
    return LaplaceApprox(law, components, math.sqrt(sigma2), bool(loss.log), fit.n_runs)


def _gauss_newton(law, loss, u, payload):
    x, y, w = payload
    bij = law.bijector

    def res(v):
        return loss.residual(law.apply(bij.forward(v), x), y).reshape(-1)

    jac = jax.jacfwd(res)(u)
    ok = (w.reshape(-1) > 0)[:, None]
    jac = jnp.where(ok, jac, 0.0)
    return 2.0 * jac.T @ jac  # matches the scale convention of a sum-of-squares objective
