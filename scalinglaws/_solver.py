"""Vectorised multistart solvers: Levenberg–Marquardt (default) and optax L-BFGS.

Both optimise in the unconstrained space of :class:`~scalinglaws._bijectors.Bijector`, all starts
at once (``vmap``) inside one ``jit``; the loop is a ``lax.while_loop`` that stops when every
start has converged or ``max_iter`` is reached.

The LM solver needs, for a point ``u``, the objective ``f``, its gradient ``g`` and a positive
semi-definite curvature ``H`` (Gauss–Newton with IRLS weights for residual losses; the
eigenvalue-clamped Hessian for likelihood laws). Steps solve ``(H + λ·(diag H + ε)) δ = -g``
by a Cholesky factor (Marquardt scaling, so the solver is invariant to parameter scales); λ
shrinks ×1/3 on an accepted step and grows ×4 on a rejected one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

STALL_EVERY = 25
STALL_RTOL = 1e-8

Curvature = Callable[[jnp.ndarray], tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray]]


class SolverResult(NamedTuple):
    u: jnp.ndarray  # (p,)
    f: jnp.ndarray  # ()
    n_iter: jnp.ndarray  # ()
    converged: jnp.ndarray  # () bool


class LMState(NamedTuple):
    """Levenberg–Marquardt state of one start: resumable, so a multistart driver can run starts
    in segments and drop the converged ones between segments (:func:`lm_init`, :func:`lm_run`)."""

    u: jnp.ndarray  # current iterate and its f, g, H
    f: jnp.ndarray
    g: jnp.ndarray
    h: jnp.ndarray
    lam: jnp.ndarray
    it: jnp.ndarray
    done: jnp.ndarray
    conv: jnp.ndarray
    f_mark: jnp.ndarray  # objective at the last multiple of STALL_EVERY iterations


def _safe(f):
    return jnp.where(jnp.isfinite(f), f, jnp.inf)


def lm_init(fgh: Curvature, u0: jnp.ndarray, *, lam0: float = 1e-3) -> LMState:
    """The state at ``u0`` before any iteration."""
    f0, g0, h0 = fgh(u0)
    return LMState(
        u0, _safe(f0), g0, h0, jnp.asarray(lam0, u0.dtype), jnp.asarray(0),
        ~jnp.isfinite(f0), jnp.asarray(False), _safe(f0),
    )  # fmt: skip


def lm_run(
    fgh: Curvature, s0: LMState, max_iter: jnp.ndarray | int, *, ftol: float = 1e-9
) -> LMState:
    """Iterate from ``s0`` until converged or ``s.it`` reaches ``max_iter`` (may be traced).

    Running to ``m`` and then resuming to ``n`` gives the same iterates as running to ``n``.
    """
    p = s0.u.shape[0]
    eye = jnp.eye(p, dtype=s0.u.dtype)

    def cond(s: LMState):
        return (~s.done) & (s.it < max_iter)

    def body(s: LMState):
        diag = jnp.diag(s.h)
        damp = s.lam * (jnp.diag(diag) + 1e-9 * eye * (1.0 + jnp.max(diag)))
        # H + damping is symmetric positive definite: Cholesky, a third of LU's time at p = 26;
        # a factor that fails (not positive definite in floating point) gives a non-finite
        # step, which is dropped below and raises the damping
        step = jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(s.h + damp), -s.g)
        step = jnp.where(jnp.all(jnp.isfinite(step)), step, jnp.zeros_like(step))
        # predicted decrease of the (nearly undamped) step: negligible -> converged
        pred = -(s.g @ step) - 0.5 * step @ (s.h @ step)
        flat = (s.lam <= 1.0) & (pred <= ftol * (jnp.abs(s.f) + 1e-300))
        u_new = s.u + step
        f_new, g_new, h_new = fgh(u_new)  # one evaluation a step: kept only if accepted
        f_new = _safe(f_new)
        accept = f_new < s.f
        small = accept & ((s.f - f_new) <= ftol * (jnp.abs(f_new) + 1e-300))
        keep = lambda a, b: jnp.where(accept, a, b)
        lam = keep(jnp.maximum(s.lam / 3.0, 1e-12), s.lam * 4.0)
        stuck = lam > 1e12
        f_cur = keep(f_new, s.f)
        # stalled: less than STALL_RTOL relative progress over the last STALL_EVERY iterations
        # (a flat, ill-conditioned valley: the objective has converged, the parameters drift
        # along a direction the data do not determine, which the status reports separately)
        mark = (s.it + 1) % STALL_EVERY == 0
        stalled = mark & ((s.f_mark - f_cur) <= STALL_RTOL * jnp.abs(f_cur))
        f_mark = jnp.where(mark, f_cur, s.f_mark)
        conv = small | stuck | flat | stalled
        return LMState(
            keep(u_new, s.u), f_cur, keep(g_new, s.g), keep(h_new, s.h),
            lam, s.it + 1, conv | ~jnp.isfinite(s.f), conv, f_mark,
        )  # fmt: skip

    return jax.lax.while_loop(cond, body, s0)


def lm_result(s: LMState) -> SolverResult:
    return SolverResult(s.u, s.f, s.it, s.conv & jnp.isfinite(s.f))


def levenberg_marquardt(
    fgh: Curvature,
    u0: jnp.ndarray,
    max_iter: jnp.ndarray | int,
    *,
    ftol: float = 1e-9,
    lam0: float = 1e-3,
) -> SolverResult:
    """Minimise from ``u0``; ``fgh(u) -> (f, g, H)``; ``max_iter`` may be traced."""
    return lm_result(lm_run(fgh, lm_init(fgh, u0, lam0=lam0), max_iter, ftol=ftol))


def lbfgs(
    value: Callable[[jnp.ndarray], jnp.ndarray],
    u0: jnp.ndarray,
    *,
    max_iter: jnp.ndarray | int = 500,
    gtol: float = 1e-9,
) -> SolverResult:
    """optax L-BFGS with its zoom line search, from ``u0``."""
    opt = optax.lbfgs()
    vg = optax.value_and_grad_from_state(value)

    def cond(c):
        _, st, it, gnorm, _ = c
        return (it < max_iter) & (gnorm > gtol)

    def body(c):
        u, st, it, _, _ = c
        f, g = vg(u, state=st)
        upd, st = opt.update(g, st, u, value=f, grad=g, value_fn=value)
        u = optax.apply_updates(u, upd)
        return u, st, it + 1, optax.tree.norm(g), f

    st0 = opt.init(u0)
    c = (u0, st0, jnp.asarray(0), jnp.asarray(jnp.inf, u0.dtype), jnp.asarray(jnp.inf, u0.dtype))
    u, _, it, gnorm, _ = jax.lax.while_loop(cond, body, c)
    f = value(u)
    f = jnp.where(jnp.isfinite(f), f, jnp.inf)
    return SolverResult(u, f, it, (gnorm <= gtol) & jnp.isfinite(f))
