"""Laplace approximation: a Gaussian in the unconstrained space at each mode of a fit.

Model. Residuals ``r_i = g(ŷ_i) − g(y_i)`` on the loss's scale (``g = log`` for log losses,
identity otherwise) are independent noise: Gaussian ``N(0, σ²)`` for squared losses, Student-t
``t_ν(0, s)`` (ν = 4) for ``huber-log`` — Huber's robustness expressed as a heavy-tailed
likelihood. The prior is the one the bounds imply: uniform (log-uniform on log-scale parameters)
within them, which on ``u`` is the logistic density ``p(u) = σ(u)(1 − σ(u))``.

Gaussian at a mode ``u_m``. The precision is the Fisher information plus the prior curvature:

    Λ_m = c · Jᵀ J + diag(2σ(u)(1 − σ(u))),        J = ∂r/∂u  (n·k × p)

with ``c = 1/σ²`` (Gaussian; ``σ² = SSR/(n − p)`` at the best mode) or ``c = (ν+1)/((ν+3)s²)``
(Student-t, expected information; ``s`` the maximum-likelihood scale). For likelihood laws
(``law.nll``) Λ is the observed information, the Hessian of the negative log-likelihood. The
prior curvature is at most 1/2, so the data dominate wherever they inform a parameter, and an
unidentified direction keeps the full width of its bounds instead of collapsing to a confident
number.

Modes that explain the data comparably (see :func:`scalinglaws._fit.comparable`) each get a
component, weighted by their Laplace evidence

    w_m ∝ p(y | u_m) · p(u_m) · (2π)^{p/2} |Λ_m|^{−1/2}.

This module is deliberately small and pure: the design loop calls it hundreds of times.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._fit import FitResult, _bucket, _compiled, _pad, comparable
from ._law import Law
from ._losses import Loss, make_loss
from ._numerics import sigmoid

STUDENT_DF = 4.0
U_CLIP = 12.0  # |u| beyond this is "at the bound" (unit-cube distance < 1e-5)  # degrees of freedom of the Student-t likelihood that matches huber-log


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


def likelihood_of(loss: str | Loss) -> str:
    """The noise model matching a loss: ``"student-t"`` for huber-log, else ``"gaussian"``."""
    name = loss if isinstance(loss, str) else loss.name
    return "student-t" if name == "huber-log" else "gaussian"


def noise_loglik(r: np.ndarray, sigma: float, likelihood: str, df: float = STUDENT_DF) -> float:
    """Σ log p(r_i) for residuals ``r`` under the noise model (Gaussian sd / Student-t scale σ)."""
    r = np.asarray(r, dtype=np.float64).ravel()
    n = r.size
    if likelihood == "student-t":
        c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
        return float(
            n * (c - math.log(sigma)) - (df + 1) / 2 * np.sum(np.log1p((r / sigma) ** 2 / df))
        )
    return float(
        -0.5 * np.sum((r / sigma) ** 2) - n * (math.log(sigma) + 0.5 * math.log(2 * math.pi))
    )


def noise_scale(r: np.ndarray, n_params: int, likelihood: str, df: float = STUDENT_DF) -> float:
    """The noise scale at a mode: √(SSR/(n−p)) (Gaussian) or the Student-t ML scale.

    The Student-t scale solves ``s² = (ν+1)/(ν·m) · Σ r²/(1 + r²/(ν s²))`` (fixed point), with
    the same degrees-of-freedom correction ``m = n − p``.
    """
    r = np.asarray(r, dtype=np.float64).ravel()
    m = max(r.size - n_params, 1)
    s2 = max(float(np.sum(r**2)) / m, 1e-300)
    if likelihood == "student-t":
        for _ in range(100):
            new = (df + 1) / (df * m) * float(np.sum(r**2 / (1 + r**2 / (df * s2))))
            new = max(new, 1e-300)
            if abs(new - s2) <= 1e-10 * s2:
                s2 = new
                break
            s2 = new
    return math.sqrt(s2)


def fisher_factor(sigma: float, likelihood: str, df: float = STUDENT_DF) -> float:
    """Expected information per residual: 1/σ² (Gaussian) or (ν+1)/((ν+3)s²) (Student-t)."""
    if likelihood == "student-t":
        return (df + 1) / ((df + 3) * sigma**2)
    return 1.0 / sigma**2


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
        sigma: run-to-run noise scale on the residual scale (log scale for log losses): the
            Gaussian sd, or the Student-t scale when ``likelihood == "student-t"``.
        log_residuals: whether residuals (and so ``sigma``) are on the log scale.
        likelihood: ``"gaussian"``, ``"student-t"`` or ``"nll"`` (the law's own likelihood).
        df: Student-t degrees of freedom (unused otherwise).
    """

    law: Law
    components: tuple[Component, ...]
    sigma: float
    log_residuals: bool
    n_runs: int
    likelihood: str = "gaussian"
    df: float = STUDENT_DF

    def sample_u(self, n: int, key: Any = 0) -> np.ndarray:
        """Draws (n, p) in u-space from the mixture."""
        return self.sample_labelled(n, key)[0]

    def sample(self, n: int, key: Any = 0) -> np.ndarray:
        """Parameter draws (n, p) on the natural scale."""
        return np.asarray(self.law.bijector.forward(self.sample_u(n, key)))

    def sample_labelled(self, n: int, key: Any = 0) -> tuple[np.ndarray, np.ndarray]:
        """Draws (n, p) in u-space and the index of the component each came from."""
        rng = np.random.default_rng(key if isinstance(key, (int, np.integer)) else None)
        w = np.array([c.weight for c in self.components])
        which = rng.choice(len(w), size=n, p=w / w.sum())
        out = np.empty((n, self.law.n_params))
        for i, c in enumerate(self.components):
            m = which == i
            if m.any():
                out[m] = c.mean + rng.standard_normal((m.sum(), len(c.mean))) @ _chol(c.cov).T
        return out, which


def _chol(cov: np.ndarray) -> np.ndarray:
    p = cov.shape[0]
    jitter = 1e-12 * max(float(np.max(np.abs(np.diag(cov)))), 1e-300)
    for _ in range(8):
        try:
            return np.linalg.cholesky(cov + jitter * np.eye(p))
        except np.linalg.LinAlgError:
            jitter *= 100
    ev, vec = np.linalg.eigh(0.5 * (cov + cov.T))
    return vec * np.sqrt(np.clip(ev, 0, None))


@functools.lru_cache(maxsize=256)
def _residual_jacobian(law: Law, loss: Loss):
    """jitted ``(u, x, y, w) -> (r (m,), J (m, p))`` with padded rows zeroed."""
    bij = law.bijector

    def res(v, x, y):
        return loss.residual(law.apply(bij.forward(v), x), y).reshape(-1)

    def rj(u, x, y, w):
        r, lin = jax.linearize(lambda v: res(v, x, y), u)
        jac = jax.vmap(lin, out_axes=1)(jnp.eye(u.shape[0], dtype=u.dtype))
        ok = w.reshape(-1) > 0
        jac = jnp.where(ok[:, None] & jnp.isfinite(jac), jac, 0.0)
        return jnp.where(ok, r, 0.0), jac

    return jax.jit(rj)


def laplace(
    fit: FitResult,
    *,
    data: Any = None,
    all_modes: bool = True,
    likelihood: str | None = None,
    df: float = STUDENT_DF,
    refine: bool = True,
) -> LaplaceApprox:
    """The Laplace approximation of ``fit``'s posterior (see module docstring).

    Args:
        fit: a :class:`~scalinglaws.FitResult`.
        data: for likelihood laws, the arrays passed to ``law.nll`` (residual laws use ``fit.x``,
            ``fit.y``).
        all_modes: one component per comparable mode (else the best mode only).
        likelihood: ``"gaussian"`` or ``"student-t"``; default from the loss (:func:`likelihood_of`).
        df: Student-t degrees of freedom.
        refine: move each mode to the posterior mode in ``u`` (likelihood × bounds prior) before
            expanding; this matters for parameters fitted at a bound, whose likelihood mode
            sits at ``u → ±∞`` where the Gaussian would be meaningless.
    """
    law = fit.law
    loss = make_loss(fit.loss, delta=fit.delta)
    bij = law.bijector
    modes = fit.modes if all_modes else fit.modes[:1]
    best_f = modes[0].objective
    keep = [m for m in modes if m is modes[0] or comparable(loss, fit.n_runs, best_f, m.objective)]
    us = [np.asarray(bij.inverse(jnp.asarray(law.vector(m.params)))) for m in keep]

    comps, logw = [], []
    if law.nll is not None:
        _, fgh, _ = _compiled(law, loss, "lm")
        payload = {k: jnp.asarray(v) for k, v in (data or {}).items()}
        for mode, u in zip(keep, us, strict=False):
            f, _, h = fgh(jnp.asarray(u), payload)
            prec = np.asarray(h) + np.diag(np.asarray(prior_precision(u)))
            comps.append((u, prec, float(mode.objective)))
            logw.append(-float(f))
        sigma, lik = float("nan"), "nll"
    else:
        lik = likelihood or likelihood_of(loss)
        x, y = fit.x, fit.y
        xp, yp, wp = _pad(x, y, np.ones_like(y), _bucket(len(y)))
        rj = _residual_jacobian(law, loss)
        args = ({k: jnp.asarray(v) for k, v in xp.items()}, jnp.asarray(yp), jnp.asarray(wp))
        r0, _ = rj(jnp.asarray(us[0]), *args)
        ok = wp.reshape(-1) > 0
        sigma = noise_scale(np.asarray(r0)[ok], law.n_params, lik, df)
        c = fisher_factor(sigma, lik, df)
        for mode, u in zip(keep, us, strict=False):
            u = np.clip(u, -U_CLIP, U_CLIP)  # at a bound: start the refinement just inside it
            if refine:
                u = _map_refine(lambda v: rj(jnp.asarray(v), *args), u, sigma, lik, df)
            r, jac = (np.asarray(a) for a in rj(jnp.asarray(u), *args))
            prec = c * jac.T @ jac + np.diag(np.asarray(prior_precision(u)))
            comps.append((u, prec, float(mode.objective)))
            logw.append(noise_loglik(r[ok], sigma, lik, df))
        comps, logw = _dedupe(law, comps, logw)
    out, lw = [], []
    for (u, prec, f), ll in zip(comps, logw, strict=False):
        cov = _safe_inv(prec)
        _, logdet = np.linalg.slogdet(cov)
        lw.append(ll + 0.5 * logdet + float(prior_logpdf(jnp.asarray(u))))
        out.append((u, cov, f))
    lw = np.asarray(lw)
    wts = np.exp(lw - lw.max())
    wts /= wts.sum()
    components = tuple(
        Component(u, c, float(wi), f) for (u, c, f), wi in zip(out, wts, strict=False)
    )
    return LaplaceApprox(law, components, sigma, bool(loss.log), fit.n_runs, lik, df)


def _neg_log_post(r: np.ndarray, u: np.ndarray, sigma: float, lik: str, df: float) -> float:
    return -noise_loglik(r, sigma, lik, df) - float(prior_logpdf(jnp.asarray(u)))


def _map_refine(
    rj, u0: np.ndarray, sigma: float, lik: str, df: float, iters: int = 50
) -> np.ndarray:
    """Damped Gauss–Newton on −log p(u | y) (noise scale fixed), from ``u0``.

    Gradient ``Jᵀ ψ(r) + (2σ(u) − 1)`` with ``ψ(r) = r/σ²`` (Gaussian) or
    ``(ν+1) r/(ν σ² + r²)`` (Student-t); curvature ``c·JᵀJ + diag(2σ(u)(1 − σ(u)))``.
    Padded rows have zero residual and Jacobian, so they do not contribute.
    """
    c = fisher_factor(sigma, lik, df)

    def parts(u):
        r, jac = (np.asarray(a) for a in rj(u))
        return r, jac

    u = np.asarray(u0, dtype=np.float64)
    r, jac = parts(u)
    f = _neg_log_post(r, u, sigma, lik, df)
    lam = 1e-3
    for _ in range(iters):
        psi = r / sigma**2 if lik == "gaussian" else (df + 1) * r / (df * sigma**2 + r**2)
        su = np.asarray(sigmoid(u))
        g = jac.T @ psi + (2 * su - 1)
        h = c * jac.T @ jac + np.diag(2 * su * (1 - su))
        if np.max(np.abs(g)) < 1e-6:
            break
        step = np.linalg.solve(h + lam * np.diag(np.diag(h) + 1e-12), -g)
        u_new = u + step
        r_new, jac_new = parts(u_new)
        f_new = _neg_log_post(r_new, u_new, sigma, lik, df)
        if np.isfinite(f_new) and f_new <= f:
            done = f - f_new <= 1e-10 * (abs(f) + 1)
            u, r, jac, f, lam = u_new, r_new, jac_new, f_new, max(lam / 3, 1e-9)
            if done:
                break
        else:
            lam *= 4
            if lam > 1e8:
                break
    return u


def _safe_inv(prec: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric precision with eigenvalues floored at 1e-12 of the largest."""
    prec = 0.5 * (prec + prec.T)
    ev, vec = np.linalg.eigh(prec)
    ev = np.maximum(ev, 1e-12 * max(float(ev.max()), 1e-300))
    cov = (vec / ev) @ vec.T
    return 0.5 * (cov + cov.T)


def _dedupe(law: Law, comps: list, logw: list) -> tuple[list, list]:
    """Merge components whose refined means coincide (unit-cube distance < 1e-2)."""
    bij = law.bijector
    out, lw, qs = [], [], []
    for comp, ll in zip(comps, logw, strict=False):
        q = np.asarray(bij.to_unit(bij.forward(jnp.asarray(comp[0]))))
        if any(np.max(np.abs(q - q2)) < 1e-2 for q2 in qs):
            continue
        qs.append(q)
        out.append(comp)
        lw.append(ll)
    return out, lw
