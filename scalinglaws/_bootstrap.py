"""Bootstrap refits: B resampled data sets refitted in one compiled, vmapped call.

Two schemes (Efron & Tibshirani 1993, ch. 9):

- ``cases``: each replicate reweights the runs with multinomial counts. When runs share an input
  level (e.g. several token counts per model size) the resampling is stratified by that level,
  so every replicate keeps the design's sizes and only the runs within a size are resampled.
- ``residuals``: ``y*_i = g⁻¹(g(ŷ_i) + r*_i)`` with ``r*`` drawn from the fit's residuals (on the
  loss's scale ``g``), centred and inflated by √(n/(n−p)) for the degrees of freedom used.

Each replicate is warm-started at every comparable mode of the original fit and keeps the best
refit, so a replicate may move to another mode when its data favour it. The noise scale of each
replicate is its own √(SSR*/(n−p)).
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._errors import FitError, LawError
from ._fit import FitResult, _bucket, _pad, comparable
from ._law import Law
from ._losses import Loss, make_loss
from ._solver import levenberg_marquardt

KINDS = ("cases", "residuals")
U_START = 30.0  # |u| of a warm start at a bound (unit-cube distance ~1e-13)


@functools.lru_cache(maxsize=64)
def _compiled_refit(law: Law, loss: Loss):
    """jitted ``(u0 (R, p), x, y (R, m, k), w (R, m, k), max_iter) -> (u, f, ok)``, vmapped."""
    bij = law.bijector

    def fgh(u, x, y, w):
        w = w.reshape(-1)
        r, lin = jax.linearize(
            lambda v: loss.residual(law.apply(bij.forward(v), x), y).reshape(-1), u
        )
        jac = jax.vmap(lin, out_axes=1)(jnp.eye(u.shape[0], dtype=u.dtype))
        ok = w > 0
        c = 1.0 / jnp.maximum(jnp.sum(w), 1.0) if loss.mean else 1.0
        f = c * jnp.sum(jnp.where(ok, w * loss.rho(r), 0.0))
        jac = jnp.where(ok[:, None] & jnp.isfinite(jac), jac, 0.0)
        g = c * jnp.sum(jac * jnp.where(ok, w * loss.psi(r), 0.0)[:, None], axis=0)
        wj = jac * jnp.where(ok, w * loss.irls(r), 0.0)[:, None]
        h = c * jnp.sum(wj[:, :, None] * jac[:, None, :], axis=0)
        return f, g, h

    def one(u0, x, y, w, max_iter):
        res = levenberg_marquardt(lambda u: fgh(u, x, y, w), u0, max_iter)
        return res.u, res.f, res.converged

    return jax.jit(jax.vmap(one, in_axes=(0, None, 0, 0, None)))


def strata(x: dict[str, np.ndarray]) -> np.ndarray | None:
    """Labels of the input level runs share (the input with the fewest levels), or None.

    Stratify when some input takes at most n/2 distinct values and at least 2.
    """
    n = len(next(iter(x.values())))
    best = None
    for v in x.values():
        levels, inv = np.unique(v, return_inverse=True)
        if 2 <= len(levels) <= n // 2 and (best is None or len(levels) < best[0]):
            best = (len(levels), inv)
    return None if best is None else best[1]


def case_weights(n: int, B: int, rng: np.random.Generator, groups: np.ndarray | None) -> np.ndarray:
    """Multinomial case counts (B, n); within each stratum when ``groups`` is given."""
    if groups is None:
        return rng.multinomial(n, np.full(n, 1.0 / n), size=B).astype(np.float64)
    w = np.zeros((B, n))
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        w[:, idx] = rng.multinomial(len(idx), np.full(len(idx), 1.0 / len(idx)), size=B)
    return w


def bootstrap(
    fit: FitResult,
    *,
    B: int = 200,
    kind: str = "cases",
    key: Any = 0,
    stratify: bool = True,
    max_iter: int = 200,
) -> dict[str, np.ndarray]:
    """Refit ``fit`` on ``B`` resampled data sets.

    Returns:
        ``{"u": (B', p), "f": (B',), "sigma": (B',), "start": (B',) index of the mode each
        replicate was best from}`` over the B' ≤ B replicates with a finite refit.
    """
    law = fit.law
    if law.nll is not None:
        raise LawError(f"law {law.name!r} is a likelihood law; use --uncertainty laplace or nuts")
    if kind not in KINDS:
        raise LawError(f"unknown bootstrap kind {kind!r}; use 'cases' or 'residuals'")
    if B < 2:
        raise LawError(f"the bootstrap needs B >= 2 replicates, got {B}")
    loss = make_loss(fit.loss, delta=fit.delta)
    rng = np.random.default_rng(key if isinstance(key, (int, np.integer)) else 0)
    x, y = fit.x, fit.y
    n, k = y.shape
    p = law.n_params
    bij = law.bijector
    yhat = np.asarray(law(fit.params, x)).reshape(y.shape)
    if kind == "cases":
        w = case_weights(n, B, rng, strata(x) if stratify else None)
        w = np.repeat(w[:, :, None], k, axis=2)
        ys = np.broadcast_to(y, (B, n, k))
    else:
        r = np.asarray(loss.residual(jnp.asarray(yhat), jnp.asarray(y)))
        r = (r - r.mean(axis=0)) * np.sqrt(n / max(n - p, 1))
        rs = r[rng.integers(0, n, size=(B, n))]  # (B, n, k)
        ys = yhat * np.exp(-rs) if loss.log else yhat - rs  # residual = g(ŷ) − g(y)
        w = np.ones((B, n, k))
    size = _bucket(n)
    xp, _, _ = _pad(x, y, np.ones_like(y), size)
    yp = np.concatenate([ys, np.broadcast_to(ys[:, :1], (B, size - n, k))], axis=1)
    wp = np.concatenate([w, np.zeros((B, size - n, k))], axis=1)

    # warm starts: every comparable mode, each replicate once per mode
    starts = [fit.modes[0]] + [
        m
        for m in fit.modes[1:]
        if comparable(loss, fit.n_runs, fit.modes[0].objective, m.objective)
    ]
    u_modes = np.stack([np.asarray(bij.inverse(jnp.asarray(law.vector(m.params)))) for m in starts])
    # a parameter stored exactly at its bound maps to u = ±inf; start just inside instead
    u_modes = np.clip(
        np.nan_to_num(u_modes, nan=0.0, posinf=U_START, neginf=-U_START), -U_START, U_START
    )
    M = len(u_modes)
    u0 = np.repeat(u_modes, B, axis=0)  # (M·B, p), mode-major
    refit = _compiled_refit(law, loss)
    xj = {kk: jnp.asarray(v) for kk, v in xp.items()}
    u, f, _ = refit(
        jnp.asarray(u0), xj, jnp.asarray(np.tile(yp, (M, 1, 1))), jnp.asarray(np.tile(wp, (M, 1, 1))),
        jnp.asarray(max_iter),
    )  # fmt: skip
    u = np.asarray(u).reshape(M, B, p)
    f = np.asarray(f).reshape(M, B)
    f = np.where(np.isfinite(f) & np.all(np.isfinite(u), axis=2), f, np.inf)
    best = np.argmin(f, axis=0)
    u = u[best, np.arange(B)]
    f = f[best, np.arange(B)]
    ok = np.isfinite(f) & np.all(np.isfinite(u), axis=1)
    if not ok.any():
        raise FitError(f"law {law.name!r}: no bootstrap refit gave a finite objective")
    # per-replicate noise scale from its own weighted residuals
    theta = np.asarray(bij.forward(jnp.asarray(u)))
    pred = np.asarray(
        _batched_apply(law)(jnp.asarray(theta), {kk: jnp.asarray(v) for kk, v in x.items()})
    )
    res = np.asarray(loss.residual(jnp.asarray(pred), jnp.asarray(ys)))
    ssr = np.sum(w * res**2, axis=(1, 2))
    sigma = np.sqrt(ssr / max(n * k - p, 1))
    return {"u": u[ok], "f": f[ok], "sigma": sigma[ok], "start": best[ok]}


@functools.lru_cache(maxsize=64)
def _batched_apply(law: Law):
    return jax.jit(jax.vmap(law.apply, in_axes=(0, None)))
