"""Acquisition functions for budget-aware active design, vectorised over every candidate.

Notation. A law ``f(θ, x)`` with p parameters and k outputs. Parameters are handled in the
paper's design coordinates ``z``: ``z_j = log θ_j`` when the lower bound of θ_j is positive, else
``z_j = θ_j``; the Jacobian of a prediction is ``J = ∂f/∂z`` with shape (n, k, p). The posterior of
each fit mode is the Laplace approximation

    Σ = (Σ_obs Jᵢᵀ Jᵢ / σ² + Λ₀)⁻¹,   Λ₀ = diag(1 / (range_j / 4)²)   (a weak prior from bounds)

with the noise variance ``σ²`` the posterior mean of an inverse-gamma(a₀ = 2, b₀ = 2·Var y) prior
updated with the residuals: ``σ² = (b₀ + n·mse/2) / (a₀ + n/2 − 1)``.

For candidate c with Jacobian ``J_c`` (k, p) and the target Jacobians ``J_t`` (T·k, p):

- D-optimal:  ``log det(I_k + J_c Σ J_cᵀ / σ²)``  (information gain about θ);
- V-optimal:  ``tr(S_c⁻¹ C_cᵀ C_c)``, ``C_c = J_t Σ J_cᵀ`` (T·k, k), ``S_c = σ² I + J_c Σ J_cᵀ``
  — the reduction of Σ_t Var f(θ, x_t) from observing c; for k = 1 it is
  ``Σ_t (g_tᵀ Σ j_c)² / (σ² + j_cᵀ Σ j_c)``;
- MSPE (the paper's): ``Σ_m w_m ΔV_m + ΔV_inter`` where ``ΔV_m`` is V-optimal in mode m and
  ``ΔV_inter = V_inter − E_y[V_inter(y)]``, ``V_inter = Σ_{m<l} w_m w_l ‖f̂_m − f̂_l‖²`` over the
  targets; after observing ``y`` each mode's target prediction moves by the Kalman gain,
  ``f̂_m(y) = f̂_m + g_m (y − μ_m(c))``, ``g_m = C_c / S_c``, and its weight becomes
  ``w_m φ_m(y) / p(y)``; the expectation over the Gaussian-mixture predictive
  ``p(y) = Σ_m w_m N(y; μ_m(c), S_m,c)`` is a 1-D quadrature on a shared grid.

Every score is then divided by ``(cost_c / total pool cost)^γ``. A batch of q proposals is chosen
greedily; after each pick every mode's covariance is conditioned on it,
``Σ ← Σ − Σ J_cᵀ S_c⁻¹ J_c Σ`` (the variance reduction does not depend on the unseen outcome);
the between-mode term, which does, is evaluated once per batch.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from scipy.special import expit, logit

from scalinglaws._fit import _compiled, _pad, _solve_chunked, live_starts
from scalinglaws._law import Law
from scalinglaws._losses import make_loss

__all__ = [
    "METHODS",
    "affine_parts",
    "ModePosterior",
    "build_posterior",
    "dopt_gain",
    "fit_multistart",
    "law_jacobians",
    "linear_map",
    "mspe_inter_gain",
    "select_batch",
    "vopt_gain",
]

METHODS = ("random", "cheapest", "inverse-cost", "dopt", "vopt", "mspe", "hedge")
MODEL_METHODS = ("dopt", "vopt", "mspe", "hedge")
SIGMA2_A0 = 2.0
N_QUAD = 96  # nodes per candidate (a grid spanning that candidate's predictive)
START_CHUNK = 16  # multistart fits run in chunks of this many starts (one compiled shape)
FIT_MEMO_BYTES = 64 * 2**20  # results of recent multistart fits kept for identical calls
_MSE = make_loss("mse")  # one object: the compiled solver is cached per (law, loss)


# -- fitting ---------------------------------------------------------------------------------------
def _np_forward(law: Law, u: np.ndarray) -> np.ndarray:
    bij = law.bijector
    a, b = bij._ends()
    z = a + (b - a) * expit(u)
    return np.where(bij.log_scale, np.exp(np.where(bij.log_scale, z, 0.0)), z)


def _np_inverse(law: Law, theta: np.ndarray) -> np.ndarray:
    bij = law.bijector
    a, b = bij._ends()
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(bij.log_scale, np.log(np.where(bij.log_scale, theta, 1.0)), theta)
        q = (z - a) / (b - a)
    q = np.clip(np.nan_to_num(q, nan=0.5), 1e-9, 1 - 1e-9)
    return logit(q)


def random_thetas(law: Law, n: int, rng: np.random.Generator) -> np.ndarray:
    """n random parameter vectors (n, p): uniform in the bounds (log-uniform on log scales)."""
    bij = law.bijector
    a, b = bij._ends()
    z = a + (b - a) * rng.uniform(0.02, 0.98, size=(n, law.n_params))
    return np.where(bij.log_scale, np.exp(np.where(bij.log_scale, z, 0.0)), z)


def design_bucket(n: int, outputs: int = 1) -> int:
    """Padded row count of the design loop's fits: a power of two from 32 to 256, then four steps
    per octave (320, 384, 448, 512, 640, …).

    Coarser than :func:`scalinglaws._fit._bucket`: a design trajectory refits at every row count
    from a handful to hundreds, and compiling a solver per shape costs more than the padding of
    small fits. Above 256 rows the padding (at most 25%) costs more than the compilations.

    With ``outputs`` k > 1 per row the smallest bucket is 32/k rows (a power of two, at least
    8): a residual vector of at least 32, not 32 rows. Domain mixture (5 outputs, 35–40
    parameters, 4–10 runs per group at its checkpoints) padded to 32 rows spent most of each
    Levenberg–Marquardt step on padding: on 8 rows one f, g, H of 16 starts of sl_6 takes
    0.33 ms against 0.79 ms on 32.
    """

    def pow2(m: int) -> int:  # the smallest power of two >= m
        return 1 << (m - 1).bit_length()

    n = max(n, 1)
    if n <= 256:  # at least 32/k rows (k outputs each) and 8
        return max(8, pow2(-(-32 // max(outputs, 1))), pow2(n))
    step = (1 << ((n - 1).bit_length() - 1)) // 4
    return -(-n // step) * step


def fit_multistart(
    law: Law,
    x: Mapping[str, np.ndarray],
    y: np.ndarray,
    *,
    starts: int,
    warm: np.ndarray | None = None,
    seed: int = 0,
    max_iter: int = 200,
    polish: int | Sequence[int] | None = None,
    screen_iter: int | Sequence[int] = 8,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Least squares (mean squared error over the n·k outputs) from ``starts`` points at once.

    A lean path to the compiled Levenberg–Marquardt solver of :func:`scalinglaws.fit`: rows
    padded to :func:`design_bucket`, starts run in chunks of :data:`START_CHUNK`, so each law
    compiles one solver per row bucket whatever the start count. Warm starts ``warm`` (natural
    parameters, (w, p)) replace up to half of the random starts. With ``polish`` < ``starts``,
    every start first runs ``screen_iter`` iterations and only the best ``polish`` (and every warm
    start) run to ``max_iter``: a wide search for ill-conditioned laws at a small cost. Sequences
    make it successive halving: ``polish=(64, 16), screen_iter=(30, 60)`` runs every start 30
    iterations, the best 64 another 60, and the best 16 of those another ``max_iter``.
    ``weights`` (n,): each run's weight in the mean squared error (weighted least squares;
    integer weights equal repeated rows), e.g. :func:`target_weights`.

    The fit is a deterministic function of its arguments, so the most recent results (up to
    :data:`FIT_MEMO_BYTES`) are kept and an identical call returns a copy of them
    (:func:`clear_fit_memo` empties the store). In ``sl bench`` the model-based baselines begin
    from the same cold-start design with the same seed and so ask for identical fits: lr_bsz
    sl_2, every method, seeds 1–2, ran 1.2× faster with bit-identical rows; over the whole
    benchmark the gain is within run-to-run noise (``benchmarks/scalebench.md``, "Speed").

    Returns:
        thetas (starts, p) and objectives (starts,), best first; non-finite objectives are inf.
    """
    key = _fit_key(
        law, x, y, warm, weights, (starts, seed, max_iter, _ints(polish), _ints(screen_iter))
    )
    hit = _FIT_MEMO.get(key)
    if hit is None:
        hit = _fit_multistart(
            law, x, y, starts=starts, warm=warm, seed=seed, max_iter=max_iter, polish=polish,
            screen_iter=screen_iter, weights=weights,
        )  # fmt: skip
        _FIT_MEMO.put(key, hit)
    return hit[0].copy(), hit[1].copy()


class _Memo:
    """Least-recently-used store of array tuples, bounded by their total size in bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.items: OrderedDict = OrderedDict()
        self.nbytes = 0

    def get(self, key):
        if key in self.items:
            self.items.move_to_end(key)
        return self.items.get(key)

    def put(self, key, value: tuple[np.ndarray, ...]) -> None:
        self.items[key] = value
        self.nbytes += sum(a.nbytes for a in value)
        while self.nbytes > self.max_bytes and len(self.items) > 1:
            self.nbytes -= sum(a.nbytes for a in self.items.popitem(last=False)[1])

    def clear(self) -> None:
        self.items.clear()
        self.nbytes = 0


# keyed by (law, digest): a law compares by identity, and the key keeps it alive
_FIT_MEMO = _Memo(FIT_MEMO_BYTES)


def clear_fit_memo() -> None:
    """Forget the results that :func:`fit_multistart` keeps for identical calls."""
    _FIT_MEMO.clear()


def _ints(v: int | Sequence[int] | None) -> tuple[int, ...] | None:
    return None if v is None else tuple(int(a) for a in np.atleast_1d(v))


def _fit_key(law: Law, x, y, warm, weights, scalars: tuple) -> tuple[Law, str]:
    """The law and a digest of every other input of a multistart fit."""
    h = hashlib.blake2b(repr(scalars).encode(), digest_size=20)
    for a in (*(x[k] for k in law.inputs), y, warm, weights):
        if a is None:
            h.update(b"none")
        else:
            a = np.ascontiguousarray(a, dtype=np.float64)
            h.update(repr(a.shape).encode())
            h.update(a.tobytes())
    return law, h.hexdigest()


def _fit_multistart(
    law: Law,
    x: Mapping[str, np.ndarray],
    y: np.ndarray,
    *,
    starts: int,
    warm: np.ndarray | None,
    seed: int,
    max_iter: int,
    polish: int | Sequence[int] | None,
    screen_iter: int | Sequence[int],
    weights: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    th0 = random_thetas(law, starts, rng)
    n_warm = 0
    if warm is not None and len(warm):
        w = np.asarray(warm, dtype=np.float64)[: starts // 2]
        th0[: len(w)] = w
        n_warm = len(w)
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    xs = {k: np.asarray(x[k], dtype=np.float64) for k in law.inputs}
    w8 = np.where(np.isfinite(y), 1.0, 0.0)
    if weights is not None:
        w8 = w8 * np.asarray(weights, dtype=np.float64).reshape(len(y), 1)
    yy = np.where(np.isfinite(y), y, 0.0)
    xp, yp, wp = _pad(xs, yy, w8, design_bucket(len(yy), yy.shape[1]))
    payload = ({k: jnp.asarray(v) for k, v in xp.items()}, jnp.asarray(yp), jnp.asarray(wp))
    solver = _compiled(law, _MSE, "lm")[0]

    def run(u0: np.ndarray, iters: int, state=None) -> tuple[np.ndarray, np.ndarray]:
        res = _solve_chunked(solver, u0, payload, iters, START_CHUNK, fixed=True, state=state)
        return np.asarray(res.u), np.where(np.isfinite(res.f), res.f, np.inf)

    u0, state = live_starts(law, solver, _np_inverse(law, th0), payload, START_CHUNK)
    keeps = [] if polish is None else list(np.atleast_1d(polish).astype(int))
    iters = list(np.atleast_1d(screen_iter).astype(int)) if keeps else []
    if len(iters) != len(keeps):
        raise ValueError(
            f"polish {polish!r} and screen_iter {screen_iter!r} need one iteration count per "
            "polish stage"
        )
    if keeps and keeps[0] >= starts:  # nothing to screen out: every start runs to max_iter
        keeps, iters = [], []
    u, f = u0, None
    idx = np.arange(starts)  # rows of (u, f) still being refined, best first after each stage
    for keep, it in zip([starts, *keeps], [*iters, max_iter], strict=True):
        if f is not None:
            rank = idx[np.argsort(f[idx], kind="stable")]
            warm_first = np.concatenate([np.arange(n_warm), rank[rank >= n_warm]])
            idx = warm_first[: max(keep, n_warm)]
        # the first stage runs every start from u0: the states live_starts computed
        u_new, f_new = run(u[idx], it, state if f is None else None)
        u, f = u.copy(), np.full(starts, np.inf) if f is None else f.copy()
        u[idx], f[idx] = u_new, f_new
    order = np.argsort(f, kind="stable")
    return _np_forward(law, u[order]), f[order]


def standardised_inputs(
    x: Mapping[str, np.ndarray], rows: np.ndarray, n_ref: int | None = None
) -> np.ndarray:
    """Inputs of ``rows`` as columns (len(rows), d): log scale for an input positive on every
    one of them, centred and scaled by the first ``n_ref`` of them (default: all), so no input
    dominates by its units; an input constant on those is a column of zeros."""
    rows = np.asarray(rows, dtype=int)
    ref = slice(None) if n_ref is None else slice(0, n_ref)
    cols = []
    for v in x.values():
        v = np.asarray(v, dtype=np.float64)[rows]
        v = np.log(v) if np.all(v > 0) else v
        sd = v[ref].std()
        cols.append((v - v[ref].mean()) / sd if sd > 0 else np.zeros_like(v))
    return np.column_stack(cols)


def target_distance(
    x: Mapping[str, np.ndarray], rows: np.ndarray, target: np.ndarray
) -> np.ndarray:
    """Distance (len(rows),) from each of ``rows`` to the nearest ``target`` row, Euclidean
    over :func:`standardised_inputs` (scaled on ``rows``)."""
    rows, target = np.asarray(rows, dtype=int), np.asarray(target, dtype=int)
    if len(target) == 0:
        return np.zeros(len(rows))
    z = standardised_inputs(x, np.concatenate([rows, target]), len(rows))
    a, b = z[: len(rows)], z[len(rows) :]
    d2 = np.full(len(rows), np.inf)
    for i in range(0, len(b), 256):  # bounded memory for large target sets
        blk = b[i : i + 256]
        d2 = np.minimum(d2, ((a[:, None, :] - blk[None, :, :]) ** 2).sum(-1).min(axis=1))
    return np.sqrt(d2)


def target_weights(dist: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Fit weights that favour runs near the target region: ``(d_min / d)^alpha``, mean one.

    ``dist`` as from :func:`target_distance`, floored at 1e-6 of its median so a run inside the
    target region gets a finite weight.
    """
    d = np.asarray(dist, dtype=np.float64)
    d = np.maximum(d, 1e-6 * max(float(np.median(d)), 1e-300))
    w = (d.min() / d) ** float(alpha)
    return w / w.mean()


# -- Jacobians in design coordinates ---------------------------------------------------------------
@functools.cache
def _kernel(law: Law):
    logp = jnp.asarray(law.bijector.lo > 0)

    def one(theta, x):
        pred = law.apply(theta, x)
        jac = jax.jacfwd(lambda t: law.apply(t, x))(theta)  # (n, k, p)
        jac = jac * jnp.where(logp, theta, 1.0)
        return pred, jnp.where(jnp.isfinite(jac), jac, 0.0)

    return jax.jit(jax.vmap(one, in_axes=(0, None)))


def law_jacobians(
    law: Law, thetas: np.ndarray, x: Mapping[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Predictions (s, n, k) and design-coordinate Jacobians ``∂f/∂z`` (s, n, k, p) at s thetas."""
    xs = {k: jnp.asarray(np.asarray(x[k], dtype=np.float64)) for k in law.inputs}
    pred, jac = _kernel(law)(jnp.asarray(np.atleast_2d(thetas)), xs)
    return np.asarray(pred), np.asarray(jac)


def prior_precision_z(law: Law) -> np.ndarray:
    """Λ₀ diagonal (p,): ``1 / (range/4)²`` with the range in z (log range for lo > 0)."""
    lo, hi = law.bounds_array.T
    width = np.where(lo > 0, np.log(np.where(lo > 0, hi / np.where(lo > 0, lo, 1.0), 2.0)), hi - lo)
    return 1.0 / (width / 4.0) ** 2


def affine_parts(
    law: Law, x: Mapping[str, np.ndarray], seed: int = 0
) -> tuple[np.ndarray, np.ndarray] | None:
    """``(f₀, J)`` with ``f(θ) = f₀ + J θ`` at inputs ``x`` ((n, k) and (n, k, p)) when the law is
    affine in its parameters and none has a positive lower bound (design coordinates z = θ, so
    the weak prior of :func:`prior_precision_z` is Gaussian in θ itself); None otherwise.

    Checked at three points of the bounds box, one near its middle and two at random: the same
    outputs must be finite at each (the others, e.g. log 0, get a NaN intercept) and there the
    Jacobians must agree, and so must the intercepts ``f(θ) − J θ``. A law nonlinear in any
    parameter fails the check (an exp(...) that underflows to 0 at random points does not at
    the middle).
    """
    lo, hi = law.bounds_array.T
    if np.any(lo > 0):
        return None
    u = np.random.default_rng(seed).uniform(size=(3, law.n_params))
    u[0] = 0.5 + 0.01 * (u[0] - 0.5)  # near the middle: no overflow nor underflow to 0
    th = lo + (hi - lo) * u
    out = [law_jacobians(law, t[None], x) for t in th]
    fa, ja = out[0][0][0], out[0][1][0]
    ok = np.isfinite(fa)
    if not ok.any():
        return None
    ca = fa - ja @ th[0]
    scale = max(float(np.abs(fa[ok]).max(initial=0.0)), float(np.abs(ja[ok]).max(initial=0.0)))
    tol = dict(rtol=1e-7, atol=1e-9 * max(scale, 1e-300) * (1 + np.abs(th).max()))
    for t, (fb, jb) in zip(th[1:], out[1:], strict=True):
        fb, jb = fb[0], jb[0]
        if np.any(ok != np.isfinite(fb)):  # e.g. exp(...) overflowing at one point
            return None
        if not (
            np.allclose(ja[ok], jb[ok], **tol) and np.allclose(ca[ok], (fb - jb @ t)[ok], **tol)
        ):
            return None
    return np.where(ok, ca, np.nan), ja


def linear_map(
    f0: np.ndarray,
    jac: np.ndarray,
    y: np.ndarray,
    law: Law,
    weights: np.ndarray | None = None,
    sigma2: float | None = None,
    theta_ref: np.ndarray | None = None,
) -> np.ndarray:
    """Maximum a posteriori θ of a law affine in θ (``f = f₀ + J θ``, :func:`affine_parts`) on
    outputs ``y`` (n, k) under the design's weak prior (mean the bounds' midpoint, precision
    :func:`prior_precision_z`) and Gaussian noise of variance ``sigma2`` on each run, scaled by
    ``1/weights``: θ = (JᵀWJ/σ² + Λ)⁻¹ (JᵀW(y − f₀)/σ² + Λ·mid), in closed form.

    ``sigma2`` defaults to the mean squared error of ``theta_ref`` (e.g. the least-squares fit),
    floored at 1e-6·Var y (and 1e-24·mean y², for a single run). Entries with a non-finite
    output or intercept are left out.
    """
    ok = np.isfinite(y) & np.isfinite(f0)
    w = np.broadcast_to((np.ones(len(y)) if weights is None else weights)[:, None], y.shape)[ok]
    j, r = jac[ok], (y - f0)[ok]
    if sigma2 is None:
        res = r - j @ theta_ref if theta_ref is not None else r
        yo = y[ok]
        sigma2 = max(
            float(np.mean(res**2)), 1e-6 * float(np.var(yo)), 1e-24 * float(np.mean(yo**2))
        )
    lam = prior_precision_z(law)
    mid = law.bounds_array.mean(1)
    # least squares on the stacked system [√W J/σ; √Λ] θ = [√W (y − f₀)/σ; √Λ mid], not the
    # normal equations: they square its conditioning, and an exact fit (σ → 0) ruins that
    sw, sl = np.sqrt(w) / np.sqrt(max(sigma2, 1e-300)), np.sqrt(lam)
    a = np.concatenate([sw[:, None] * j, np.diag(sl)])
    return np.linalg.lstsq(a, np.concatenate([sw * r, sl * mid]), rcond=None)[0]


def safe_inv(h: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric PSD matrix (..., p, p) with eigenvalues floored at 1e-10·max."""
    h = 0.5 * (h + np.swapaxes(h, -1, -2))
    ev, vec = np.linalg.eigh(h)
    floor = np.maximum(1e-10 * ev[..., -1:], 1e-30)
    ev = np.maximum(ev, floor)
    return (vec / ev[..., None, :]) @ np.swapaxes(vec, -1, -2)


# -- posterior over fit modes -------------------------------------------------------------------
@dataclasses.dataclass
class ModePosterior:
    """Laplace mixture over distinct fit modes (design coordinates).

    Attributes:
        thetas: (K, p) representative parameters; ``weights`` (K,) sum to one (best first is
            not guaranteed; ``best`` is the lowest-objective theta). ``covs``: (K, p, p).
        reps: indices of the representatives among the fitted starts.
        sigma2: noise variance. ``mse``: best objective. ``n_obs``: runs fitted.
    """

    thetas: np.ndarray
    weights: np.ndarray
    covs: np.ndarray
    reps: np.ndarray
    sigma2: float
    best: np.ndarray
    best_index: int
    mse: float
    n_obs: int


def bayesian_sigma2(mse: float, n: int, y_var: float) -> float:
    """``σ² = (b₀ + n·mse/2)/(a₀ + n/2 − 1)`` with a₀ = 2, b₀ = 2·Var y."""
    b0 = SIGMA2_A0 * max(y_var, 1e-300)
    return float((b0 + n * mse / 2.0) / (SIGMA2_A0 + n / 2.0 - 1.0))


def build_posterior(
    law: Law,
    thetas: np.ndarray,
    f: np.ndarray,
    jac_obs: np.ndarray,
    pred_eval: np.ndarray,
    jac_eval: np.ndarray,
    *,
    n_obs: int,
    y_var: float,
    jac_cond: np.ndarray | None = None,
    good_ratio: float = 2.0,
    cluster: bool = True,
) -> ModePosterior:
    """Modes of a multistart fit and their Laplace covariances (the paper's construction).

    Starts within ``good_ratio`` × the best objective are kept; their covariances are
    ``(Jᵀ J/σ² + Λ₀)⁻¹`` over the observed rows (``jac_obs`` (s, n, k, p)) plus conditioning rows
    (``jac_cond`` (s, r, k, p): runs in flight, whose outcome is unknown). Starts are clustered
    by the symmetric KL divergence of their predictive distributions on the evaluation inputs
    (``pred_eval`` (s, T, k), ``jac_eval`` (s, T, k, p)) — complete linkage, the cut with the best
    silhouette — and weighted by BIC, ``w ∝ exp(−(n log mse + p log n)/(2τ))``.
    """
    p = law.n_params
    good = np.flatnonzero(np.isfinite(f) & (f <= max(f[0], 1e-300) * good_ratio + 1e-30))
    good = good[np.all(np.isfinite(pred_eval[good].reshape(len(good), -1)), axis=1)]
    if len(good) == 0:
        good = np.array([0])
    sigma2 = bayesian_sigma2(float(f[0]), n_obs, y_var)
    lam0 = prior_precision_z(law)
    jo = jac_obs[good].reshape(len(good), -1, p)
    h = np.einsum("snp,snq->spq", jo, jo) / sigma2
    if jac_cond is not None and jac_cond.shape[1]:
        jc = jac_cond[good].reshape(len(good), -1, p)
        h = h + np.einsum("snp,snq->spq", jc, jc) / sigma2
    h = h + np.diag(lam0)[None]
    covs = safe_inv(h)
    mses = np.maximum(f[good], 1e-300)
    nn = max(n_obs, 1)
    k_all = len(good)
    if k_all <= 2 or not cluster:
        tau = max(1.0, nn / (2.0 * p))
        reps = np.arange(k_all) if cluster else np.array([0])
        bic = nn * np.log(mses[reps]) + p * np.log(nn)
        logw = -bic / (2.0 * tau)
    else:
        je = jac_eval[good].reshape(k_all, -1, p)
        mus = pred_eval[good].reshape(k_all, -1)
        s2 = np.maximum(np.einsum("snp,spq,snq->sn", je, covs, je), 0.0) + sigma2
        dm = mus[:, None, :] - mus[None, :, :]
        va, vb = s2[:, None, :], s2[None, :, :]
        with np.errstate(over="ignore", invalid="ignore"):  # far modes: inf, capped below
            skl = 0.25 * (va / vb + vb / va - 2 + dm**2 * (1 / va + 1 / vb))
        dist = np.log1p(np.clip(np.nan_to_num(skl.mean(-1), nan=1e12, posinf=1e12), 0, None))
        np.fill_diagonal(dist, 0.0)
        dist = 0.5 * (dist + dist.T)
        labels = _cluster(dist)
        reps = np.array([np.flatnonzero(labels == c)[np.argmin(mses[labels == c])]
                         for c in np.unique(labels)])  # fmt: skip
        bic = nn * np.log(mses[reps]) + p * np.log(nn)
        logw = -bic / 2.0
    w = np.exp(logw - logw.max())
    w /= w.sum()
    keep = w > 1e-3
    reps, w = reps[keep], w[keep] / w[keep].sum()
    order = np.argsort(mses[reps], kind="stable")
    reps, w = reps[order], w[order]
    return ModePosterior(
        thetas=thetas[good[reps]], weights=w, covs=covs[reps], reps=good[reps], sigma2=sigma2,
        best=thetas[0], best_index=0, mse=float(f[0]), n_obs=n_obs,
    )  # fmt: skip


def _cluster(dist: np.ndarray) -> np.ndarray:
    k = len(dist)
    z = linkage(squareform(np.nan_to_num(dist, nan=30, posinf=30), checks=False), "complete")
    best, best_labels = -1.0, np.ones(k, dtype=int)
    for h in sorted(set(z[:, 2])):
        labels = fcluster(z, t=h + 1e-10, criterion="distance")
        nc = len(set(labels))
        if nc < 2 or nc >= k:
            continue
        s = _silhouette(dist, labels)
        if s > best:
            best, best_labels = s, labels.copy()
    return best_labels if best >= 0.01 else np.ones(k, dtype=int)


def _silhouette(dist: np.ndarray, labels: np.ndarray) -> float:
    uniq = np.unique(labels)
    same = labels[:, None] == labels[None, :]
    np.fill_diagonal(same, False)
    n_same = same.sum(1)
    a = np.where(n_same > 0, (dist * same).sum(1) / np.maximum(n_same, 1), 0.0)
    b = np.full(len(labels), np.inf)
    for c in uniq:
        m = labels == c
        b = np.where(labels != c, np.minimum(b, dist[:, m].mean(1)), b)
    s = np.where(n_same > 0, (b - a) / np.maximum(np.maximum(a, b), 1e-300), 0.0)
    return float(s.mean())


# -- gains -------------------------------------------------------------------------------------
def _leverage(cov: np.ndarray, jc: np.ndarray, sigma2: float) -> tuple[np.ndarray, np.ndarray]:
    """``A = J_c Σ`` (m, k, p) and ``S = σ² I + J_c Σ J_cᵀ`` (m, k, k)."""
    a = jc @ cov
    s = np.einsum("mkp,mlp->mkl", a, jc) + sigma2 * np.eye(jc.shape[1])
    return a, s


def vopt_gain(cov: np.ndarray, jc: np.ndarray, jt: np.ndarray, sigma2: float) -> np.ndarray:
    """Reduction of Σ_t Var f(x_t) from observing each candidate: ``tr(S_c⁻¹ C_cᵀ C_c)``.

    Args:
        cov: Σ (p, p). jc: candidate Jacobians (m, k, p). jt: target Jacobians (T·k, p).
    Returns:
        (m,) gains ≥ 0.
    """
    b = jt @ cov  # (Tk, p)
    if jc.shape[1] == 1:
        # Σ_t (b_tᵀ j)² = jᵀ (bᵀ b) j: one (p, p) matrix instead of a (T·k, m) cross product
        j = jc[:, 0, :]
        s = sigma2 + np.sum((j @ cov) * j, axis=1)
        return np.sum((j @ (b.T @ b)) * j, axis=1) / s
    _, s = _leverage(cov, jc, sigma2)
    cross = np.einsum("tp,mkp->mtk", b, jc)
    ctc = np.einsum("mtk,mtl->mkl", cross, cross)
    return np.einsum("mkl,mlk->m", np.linalg.inv(s), ctc)


def dopt_gain(cov: np.ndarray, jc: np.ndarray, sigma2: float) -> np.ndarray:
    """Information gain ``log det(I + J_c Σ J_cᵀ/σ²)`` for each candidate (m,)."""
    if jc.shape[1] == 1:
        j = jc[:, 0, :]
        return np.log1p(np.maximum(np.sum((j @ cov) * j, axis=1), 0.0) / sigma2)
    _, s = _leverage(cov, jc, sigma2)
    sign, logdet = np.linalg.slogdet(s / sigma2)
    return np.where(sign > 0, logdet, 0.0)


def mspe_inter_gain(
    weights: np.ndarray,
    covs: np.ndarray,
    mu_c: np.ndarray,
    jc: np.ndarray,
    mu_t: np.ndarray,
    jt: np.ndarray,
    sigma2: float,
    y_range: tuple[float, float],
    n_quad: int = N_QUAD,
) -> np.ndarray:
    """Expected reduction of the between-mode disagreement, ``V_inter − E_y[V_inter(y)]``.

    Args (K modes, m candidates, T targets; single-output laws):
        weights (K,), covs (K, p, p), mu_c (K, m) candidate predictions, jc (K, m, p),
        mu_t (K, T) target predictions, jt (K, T, p), y_range: clip of the quadrature grid.
    Returns:
        (m,) gains ≥ 0 (zeros when K = 1).
    """
    kk, m = mu_c.shape
    if kk < 2:
        return np.zeros(m)
    s2 = np.empty((kk, m))
    gains = []
    for k in range(kk):
        s2[k] = sigma2 + np.sum((jc[k] @ covs[k]) * jc[k], axis=1)
        gains.append((jt[k] @ covs[k] @ jc[k].T) / s2[k][None, :])  # (T, m)
    sig = np.sqrt(s2)
    # a grid per candidate over [min_k μ_k − 4σ_k, max_k μ_k + 4σ_k], clipped to y_range
    lo = np.maximum((mu_c - 4 * sig).min(0), y_range[0])
    hi = np.minimum((mu_c + 4 * sig).max(0), y_range[1])
    bad = ~(hi > lo)
    lo = np.where(bad, (mu_c - 4 * sig).min(0), lo)
    hi = np.where(bad, (mu_c + 4 * sig).max(0), hi)
    grid = lo[None, :] + (hi - lo)[None, :] * np.linspace(0.0, 1.0, n_quad)[:, None]  # (Q, m)
    phi = np.exp(-0.5 * (grid[None] - mu_c[:, None, :]) ** 2 / s2[:, None, :])
    phi /= np.sqrt(2 * np.pi) * sig[:, None, :]  # (K, Q, m)
    pmix = np.maximum(np.einsum("k,kqm->qm", weights, phi), 1e-300)
    before, after = 0.0, np.zeros(m)
    for k in range(kk):
        for ell in range(k + 1, kk):
            wkl = weights[k] * weights[ell]
            delta = (mu_t[k] - mu_t[ell])[:, None]
            before += wkl * float(np.sum(delta**2))
            a = delta - gains[k] * mu_c[k][None, :] + gains[ell] * mu_c[ell][None, :]
            b = gains[k] - gains[ell]
            ca, cb, cc = np.sum(a**2, 0), 2 * np.sum(a * b, 0), np.sum(b**2, 0)
            poly = ca[None] + cb[None] * grid + cc[None] * grid**2
            after += wkl * np.trapezoid(phi[k] * phi[ell] / pmix * poly, grid, axis=0)
    return np.maximum(before - after, 0.0)


def condition(cov: np.ndarray, j: np.ndarray, sigma2: float) -> np.ndarray:
    """Σ after observing a run with Jacobian ``j`` (k, p): ``Σ − Σ jᵀ (σ²I + j Σ jᵀ)⁻¹ j Σ``."""
    with np.errstate(over="ignore", invalid="ignore"):
        a = j @ cov
        s = a @ j.T + sigma2 * np.eye(j.shape[0])
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(s))):
        return cov  # a Jacobian that overflows: leave Σ as it is rather than poison it
    return cov - a.T @ np.linalg.solve(s, a)


# -- batch selection -------------------------------------------------------------------------
def select_batch(
    method: str,
    *,
    costs: np.ndarray,
    total_cost: float,
    remaining: float,
    q: int,
    gamma: float = 0.4,
    rng: np.random.Generator,
    post: ModePosterior | None = None,
    jac_cand: np.ndarray | None = None,
    pred_cand: np.ndarray | None = None,
    jac_target: np.ndarray | None = None,
    pred_target: np.ndarray | None = None,
    y_range: tuple[float, float] = (-np.inf, np.inf),
    inter_weight: float = 1.0,
) -> list[tuple[int, float]]:
    """Greedily choose up to ``q`` candidates (positions into ``costs``) that fit ``remaining``.

    Model-based methods need ``post`` and, per representative mode (K), ``jac_cand``
    (K, m, k, p), ``pred_cand`` (K, m, k), ``jac_target`` (K, T, k, p), ``pred_target`` (K, T, k).
    Scores are ``gain / (cost/total_cost)^γ``; after each pick the covariances are conditioned
    on it. Returns ``[(position, score), ...]`` in pick order.
    """
    m = len(costs)
    avail = np.ones(m, dtype=bool)
    left = float(remaining)
    picks: list[tuple[int, float]] = []
    penalty = np.maximum(costs / total_cost, 1e-300) ** gamma
    covs = None if post is None else post.covs.copy()
    cache: dict[str, np.ndarray] = {}
    for _ in range(q):
        ok = avail & (costs <= left * (1 + 1e-12))
        if not ok.any():
            break
        if method == "random":
            score = rng.uniform(size=m)
        elif method == "cheapest":
            score = total_cost / costs
        elif method == "inverse-cost":
            pr = np.where(ok, 1.0 / costs, 0.0)
            i = int(rng.choice(m, p=pr / pr.sum()))
            score = pr / pr.sum()
            picks.append((i, float(score[i])))
            avail[i] = False
            left -= costs[i]
            continue
        else:
            # a candidate whose Jacobian overflows (J Σ Jᵀ beyond 1e308; seen in the replay of
            # the domain mixture task) gets a non-finite gain: scored −inf below, without a
            # RuntimeWarning on the user's console
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                score = _model_score(
                    method, post, covs, jac_cand, pred_cand, jac_target, pred_target, y_range,
                    inter_weight, cache,
                ) / penalty  # fmt: skip
        score = np.where(np.isfinite(score), score, -np.inf)
        i = int(np.argmax(np.where(ok, score, -np.inf)))
        if not ok[i]:  # no finite score among the affordable ones: the first of them
            i = int(np.flatnonzero(ok)[0])
        picks.append((i, float(score[i])))
        avail[i] = False
        left -= costs[i]
        if covs is not None:
            for k in range(len(covs)):
                covs[k] = condition(covs[k], jac_cand[k, i], post.sigma2)
    return picks


def _model_score(method, post, covs, jc, mc, jt, mt, y_range, inter_weight, cache) -> np.ndarray:
    s2 = post.sigma2
    if method == "dopt":
        return dopt_gain(covs[0], jc[0], s2)
    tk = jt.shape[1] * jt.shape[2]
    p = jt.shape[-1]
    if method == "vopt":
        return vopt_gain(covs[0], jc[0], jt[0].reshape(tk, p), s2)
    intra = sum(
        w * vopt_gain(covs[k], jc[k], jt[k].reshape(tk, p), s2) for k, w in enumerate(post.weights)
    )
    if len(post.weights) > 1 and jc.shape[2] == 1 and inter_weight > 0:
        if "inter" not in cache:  # the between-mode term is computed once per batch
            cache["inter"] = mspe_inter_gain(
                post.weights, covs, mc[:, :, 0], jc[:, :, 0, :], mt[:, :, 0], jt[:, :, 0, :], s2,
                y_range,
            )  # fmt: skip
        return intra + inter_weight * cache["inter"]
    return intra
