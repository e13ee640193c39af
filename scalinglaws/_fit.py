"""``fit(law, data, *, loss, starts, key)``: every start optimised in one compiled, vmapped call.

The pipeline: data → padded arrays (row counts are bucketed to powers of two with zero weights,
so that the design loop, which adds one run at a time, reuses compiled code) → starting points
in the unit cube (random, Latin hypercube, or an explicit grid such as Hoffmann et al.'s) →
unconstrained space through the law's bijector → Levenberg–Marquardt (or L-BFGS) on all starts
→ distinct local optima grouped into modes → status flags.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy.stats import qmc

from ._errors import DataError, FitError, LawError
from ._law import Law
from ._losses import Loss, make_loss
from ._solver import LMState, SolverResult, lbfgs, lm_init, lm_run

AT_BOUND_TOL = 1e-5  # unit-cube distance from a bound that counts as "at the bound"
MODE_TOL = 1e-2  # unit-cube max-distance under which two optima are the same mode
IDENTIFIABILITY_TOL = 1e-10  # smallest eigenvalue of the normalised Fisher information
MAX_MODES = 10


# -- data ----------------------------------------------------------------------------------------
def as_arrays(law: Law, data: Any) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Runs (``.x``, ``.y``), a DataFrame, or a mapping → (inputs ``{name: (n,)}``, targets (n, k))."""
    if hasattr(data, "x") and hasattr(data, "y"):
        x, y = data.x, data.y
    else:
        try:
            x = {k: data[k] for k in law.inputs}
            y = np.column_stack([np.asarray(data[k], dtype=np.float64) for k in law.outputs])
        except KeyError as err:
            raise DataError(
                f"data has no column {err.args[0]!r} needed by law {law.name!r} "
                f"(inputs {', '.join(law.inputs)}; outputs {', '.join(law.outputs)})"
            ) from None
    x = {k: np.asarray(x[k], dtype=np.float64).reshape(-1) for k in law.inputs}
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    return x, y


def _bucket(n: int) -> int:
    """Padded row count: a power of two up to 64, then the next of 8 steps per octave
    (at most 12.5% padding, a bounded number of compiled shapes as runs are added)."""
    if n <= 64:
        return max(8, 1 << (n - 1).bit_length())
    base = 1 << ((n - 1).bit_length() - 1)
    step = base // 8
    return -(-n // step) * step


def _pad(x: dict[str, np.ndarray], y: np.ndarray, w: np.ndarray, size: int):
    n = y.shape[0]
    if size == n:
        return x, y, w
    idx = np.concatenate([np.arange(n), np.zeros(size - n, dtype=int)])
    xp = {k: v[idx] for k, v in x.items()}
    wp = np.concatenate([w, np.zeros((size - n,) + w.shape[1:])])
    return xp, y[idx], wp


# -- starts --------------------------------------------------------------------------------------
def hoffmann_grid(law: Law) -> np.ndarray:
    """The 4,500-point grid of Hoffmann et al. (2022, approach 3) in natural parameters.

    log A, log B ∈ {0, 5, …, 25}; log E ∈ {−1, −0.5, …, 1}; α, β ∈ {0, 0.5, …, 2}. Points on or
    outside the law's bounds are moved just inside them.
    """
    if set(("E", "A", "B", "alpha", "beta")) - set(law.params):
        raise LawError(
            f"the Hoffmann grid needs a Chinchilla-form law; {law.name!r} has {law.params}"
        )
    grid = itertools.product(
        np.arange(0, 26, 5.0), np.arange(0, 26, 5.0), np.arange(-1, 1.01, 0.5),
        np.arange(0, 2.01, 0.5), np.arange(0, 2.01, 0.5),
    )  # fmt: skip
    rows = []
    for la, lb, le, al, be in grid:
        d = {"A": math.exp(la), "B": math.exp(lb), "E": math.exp(le), "alpha": al, "beta": be}
        rows.append([d[p] for p in law.params])
    return np.asarray(rows)


def make_starts(
    law: Law, starts: int | str | np.ndarray | Sequence[Mapping[str, float]], key: Any
) -> np.ndarray:
    """Starting points in the unit cube, shape (s, p).

    ``starts`` is a number of random points, ``"lhs:<n>"`` for a Latin hypercube, ``"hoffmann"``,
    an array (s, p) of natural parameters, or a sequence of parameter mappings.
    """
    rng = np.random.default_rng(_seed(key))
    bij = law.bijector
    p = law.n_params
    eps = 1e-6
    if isinstance(starts, (int, np.integer)):
        if starts < 1:
            raise LawError(f"starts must be >= 1, got {starts}")
        q = rng.uniform(0.02, 0.98, size=(int(starts), p))
    elif isinstance(starts, str) and starts.startswith("lhs"):
        n = int(starts.split(":", 1)[1]) if ":" in starts else 256
        q = 0.02 + 0.96 * qmc.LatinHypercube(d=p, seed=rng).random(n)
    elif isinstance(starts, str) and starts == "hoffmann":
        q = np.asarray(bij.to_unit(np.maximum(hoffmann_grid(law), bij.lo)))
    elif isinstance(starts, str):
        raise LawError(f"unknown starts {starts!r}; give a number, 'lhs:<n>' or 'hoffmann'")
    else:
        arr = starts
        if len(arr) and isinstance(arr[0], Mapping):
            arr = [law.vector(s) for s in arr]
        arr = np.atleast_2d(np.asarray(arr, dtype=np.float64))
        if arr.shape[1] != p:
            raise LawError(f"starts have {arr.shape[1]} columns, law {law.name!r} has {p} params")
        q = np.asarray(bij.to_unit(np.clip(arr, bij.lo, bij.hi)))
    q = np.nan_to_num(q, nan=0.5)
    return np.clip(q, eps, 1 - eps)


def _seed(key: Any) -> int:
    if key is None:
        return 0
    if isinstance(key, (int, np.integer)):
        return int(key)
    data = np.asarray(
        jax.random.key_data(key) if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) else key
    )
    return int(np.uint64(data.ravel()[-1]))


# -- the compiled solver ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=256)
def _compiled(law: Law, loss: Loss, method: str):
    """(:class:`Solver`, fgh(u, payload), value(u, payload)), jitted."""
    bij = law.bijector

    if law.nll is not None:

        def value(u, data):
            return law.nll(law.as_dict(bij.forward(u)), data)

        def fgh(u, data):
            f, g = jax.value_and_grad(value)(u, data)
            h = jax.hessian(value)(u, data)
            h = 0.5 * (h + h.T)
            ev, vec = jnp.linalg.eigh(h)
            ev = jnp.maximum(jnp.abs(ev), 1e-10 * (1 + jnp.max(jnp.abs(ev))))
            return f, g, (vec * ev) @ vec.T

    else:

        def residuals(u, data):
            x, y, _ = data
            return loss.residual(law.apply(bij.forward(u), x), y).reshape(-1)

        def scale(w):
            return 1.0 / jnp.maximum(jnp.sum(w), 1.0) if loss.mean else 1.0

        def value(u, data):
            w = data[2].reshape(-1)
            r = residuals(u, data)
            return scale(w) * jnp.sum(jnp.where(w > 0, w * loss.rho(r), 0.0))

        def fgh(u, data):
            w = data[2].reshape(-1)
            r, lin = jax.linearize(lambda v: residuals(v, data), u)
            # the Jacobian transposed, (p, m): rows contiguous for the reductions over m below
            # (lr & bsz sl_2, 16 starts × 256 rows × 26 parameters: 0.94 ms against 1.44 ms
            # for the (m, p) layout)
            jt = jax.vmap(lin)(jnp.eye(u.shape[0], dtype=u.dtype))
            ok = w > 0
            c = scale(w)
            f = c * jnp.sum(jnp.where(ok, w * loss.rho(r), 0.0))
            jt = jnp.where(ok[None, :] & jnp.isfinite(jt), jt, 0.0)
            g = c * jnp.sum(jt * jnp.where(ok, w * loss.psi(r), 0.0)[None, :], axis=1)
            wj = jt * jnp.where(ok, w * loss.irls(r), 0.0)[None, :]
            if u.shape[0] <= 8:  # small p: a fused elementwise reduction beats batched matmul
                h = c * jnp.sum(wj[:, None, :] * jt[None, :, :], axis=2)
            else:
                h = c * (wj @ jt.T)
            return f, g, h

    if method == "lbfgs":

        def solve_one(u0, data, max_iter):
            return lbfgs(lambda u: value(u, data), u0, max_iter=max_iter)

        solver = Solver(jax.jit(jax.vmap(solve_one, in_axes=(0, None, None))))
    else:
        solver = Solver(
            None,
            jax.jit(jax.vmap(lambda u0, data: lm_init(lambda u: fgh(u, data), u0), (0, None))),
            jax.jit(
                jax.vmap(lambda s, data, n: lm_run(lambda u: fgh(u, data), s, n), (0, None, None))
            ),
        )
    return solver, jax.jit(fgh), jax.jit(value)


# -- results ---------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Mode:
    """A distinct local optimum: its parameters, objective and how many starts reached it."""

    params: dict[str, float]
    objective: float
    count: int
    weight: float = float("nan")


@dataclasses.dataclass(frozen=True, eq=False)
class FitResult:
    """The outcome of :func:`fit`.

    Attributes:
        params: best parameters by name. ``theta``: the same as a vector; ``u``: unconstrained.
        objective: the loss at ``params``. ``modes``: distinct optima, best first.
        status: flags — ``converged`` or ``not converged``, ``parameter at bound: …``,
            ``not identifiable: …``, ``multiple modes: …``, ``too few levels of …``.
    """

    law: Law
    params: dict[str, float]
    theta: np.ndarray
    u: np.ndarray
    objective: float
    loss: str
    n_runs: int
    status: list[str]
    modes: list[Mode]
    n_starts: int
    n_converged: int
    seconds: float
    x: dict[str, np.ndarray] = dataclasses.field(repr=False)
    y: np.ndarray = dataclasses.field(repr=False)
    delta: float = 1e-3
    notes: list[str] = dataclasses.field(default_factory=list)

    @property
    def converged(self) -> bool:
        return "converged" in self.status

    def predict(
        self, x: Mapping[str, Any], params: Mapping[str, float] | None = None
    ) -> np.ndarray:
        """The law at the fitted (or given) parameters on inputs ``x``."""
        return self.law(self.params if params is None else params, x)

    def to_dict(self) -> dict[str, Any]:
        return {
            "law": self.law.name,
            "params": {k: float(v) for k, v in self.params.items()},
            "objective": float(self.objective),
            "loss": self.loss,
            "delta": self.delta,
            "n_runs": int(self.n_runs),
            "status": list(self.status),
            "modes": [
                {"params": m.params, "objective": m.objective, "count": m.count}
                | ({} if math.isnan(m.weight) else {"weight": m.weight})
                for m in self.modes
            ],
            "n_starts": self.n_starts,
            "n_converged": self.n_converged,
            "seconds": self.seconds,
            "notes": list(self.notes),
        }


def fit(
    law: Law,
    data: Any,
    *,
    loss: str | Loss = "mse",
    starts: int | str | np.ndarray | Sequence[Mapping[str, float]] = 256,
    key: Any = 0,
    delta: float = 1e-3,
    kappa: float = 4.0,
    weights: np.ndarray | None = None,
    method: str = "lm",
    max_iter: int | None = None,
    init: np.ndarray | Sequence[Mapping[str, float]] | None = None,
    polish: int = 256,
    screen_iter: int = 8,
) -> FitResult:
    """Fit ``law`` to ``data`` from many starts at once.

    Args:
        law: a :class:`Law`.
        data: Runs (``.x``/``.y``), a DataFrame, or a mapping of columns; for likelihood laws
            (``law.nll``) a mapping of arrays passed to ``law.nll``.
        loss: ``"mse"``, ``"log-mse"``, ``"huber-log"`` (δ = ``delta``) or ``"asymmetric"``
            (over-prediction weighted by ``kappa``).
        starts: number of random starts, ``"lhs:<n>"``, ``"hoffmann"`` or explicit points.
        key: an int seed or a ``jax.random`` key; the result is deterministic given it.
        weights: per-run weights (n,), default ones.
        method: ``"lm"`` (Levenberg–Marquardt, default) or ``"lbfgs"`` (optax).
        max_iter: iteration limit per start; default 2,000 for ``"lm"`` and 500 for ``"lbfgs"``.
            LM starts that stop early leave the compiled batch (see :func:`_solve_chunked`), so a
            high limit only costs the few starts that crawl. On the bundled Farseer pool the best
            start needs about 1,800 iterations to meet the convergence test; the 512-start fit
            still takes about 10 s, as at a limit of 500.
        init: extra starting points (natural parameters), e.g. a previous fit (warm start).
        polish: with more starts than this, every start first runs ``screen_iter``
            iterations and only the best ``polish`` are iterated to convergence.

    Returns:
        A :class:`FitResult`.
    """
    t0 = time.perf_counter()
    lossobj = loss if isinstance(loss, Loss) else make_loss(loss, delta=delta, kappa=kappa)
    if method not in ("lm", "lbfgs"):
        raise LawError(f"unknown method {method!r}; use 'lm' or 'lbfgs'")
    if max_iter is None:
        max_iter = 2000 if method == "lm" else 500
    q = make_starts(law, starts, key)
    if init is not None:
        q = np.concatenate([make_starts(law, init, key), q])
    bij = law.bijector
    u0 = np.asarray(bij.inverse(bij.from_unit(q)))
    n_starts = len(u0)

    if law.nll is not None:
        x, y = {}, np.zeros((0, 1))
        payload = {k: jnp.asarray(v) for k, v in data.items()}
        n_runs = int(len(next(iter(data.values()))))
    else:
        x, y = as_arrays(law, data)
        n_runs = y.shape[0]
        if lossobj.log and np.any(y <= 0):
            i = int(np.argmax((y <= 0).any(axis=1)))
            raise DataError(
                f"loss {lossobj.name!r} takes the log of the targets, but row {i + 1} has "
                f"{y[i].tolist()}; use --loss mse or remove non-positive targets"
            )
        w = (
            np.ones_like(y)
            if weights is None
            else np.broadcast_to(
                np.asarray(weights, dtype=np.float64).reshape(-1, 1), y.shape
            ).copy()
        )
        xp, yp, wp = _pad(x, y, w, _bucket(n_runs))
        payload = ({k: jnp.asarray(v) for k, v in xp.items()}, jnp.asarray(yp), jnp.asarray(wp))

    solver, fgh, _ = _compiled(law, lossobj, method)
    # dead starts are retried in calls of the screening's shape: no extra compilation
    c = _chunk_size(u0, payload, polish)
    u0, state = live_starts(law, solver, u0, payload, c)
    if len(u0) > polish:
        # screen: a few iterations from every start, then polish the best `polish` of them
        screen = _solve_chunked(solver, u0, payload, screen_iter, polish, state=state)
        f_screen = np.where(np.isfinite(screen.f), screen.f, np.inf)
        u0 = np.asarray(screen.u)[np.argsort(f_screen, kind="stable")[:polish]]
        state = None
    res = _solve_chunked(solver, u0, payload, max_iter, polish, state=state)
    u_all, f_all = np.asarray(res.u), np.asarray(res.f)
    conv_all = np.asarray(res.converged)
    finite = np.isfinite(f_all)
    if not finite.any():
        raise FitError(
            f"law {law.name!r}: no start gave a finite objective on {n_runs} runs; check that "
            "the data are in the law's units and its bounds cover plausible values"
        )
    order = np.argsort(np.where(finite, f_all, np.inf))
    best = order[0]
    u_best = u_all[best]
    theta = np.asarray(bij.forward(u_best))
    modes = _modes(law, u_all[order][finite[order]], f_all[order][finite[order]])
    status = _status(law, lossobj, u_best, bool(conv_all[best]), modes, x, n_runs, fgh, payload)
    params = {p: float(v) for p, v in zip(law.params, theta)}
    return FitResult(
        law=law, params=params, theta=theta, u=u_best, objective=float(f_all[best]),
        loss=lossobj.name, n_runs=n_runs, status=status, modes=modes, n_starts=n_starts,
        n_converged=int(conv_all.sum()), seconds=time.perf_counter() - t0, x=x, y=y,
        delta=delta,
    )  # fmt: skip


def revive_starts(
    law: Law, u: np.ndarray, objective: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """Starts ``u`` (s, p) whose ``objective`` is not finite, pulled toward the bounds' centre.

    Some laws are undefined on much of their box (a negative base under a fractional power, as
    vocab sl_3 with its coefficients in [-1e4, 1e4]: 78% of its random starts): their random
    starts would sit dead through the whole fit, and a law with no finite random start could not
    be fitted at all.
    Each dead start halves its distance to the centre of the unit cube until its objective is
    finite; after six halvings it is the centre. Live starts are returned unchanged, and ``u``
    itself (not a copy) when no start is dead, so a caller can keep what it computed at ``u``.
    """
    dead = np.flatnonzero(~np.isfinite(np.asarray(objective(u))))
    if len(dead) == 0:
        return u
    bij = law.bijector
    u = np.array(u, dtype=np.float64)

    def same_shape(fn, a):  # the maps run on u's shape: eager ops compile once, not per count
        return np.asarray(fn(jnp.asarray(np.concatenate([a, u[len(a) :]]))))[: len(a)]

    q = same_shape(lambda v: bij.to_unit(bij.forward(v)), u[dead])
    for k in range(1, 8):
        s = 0.5**k if k < 7 else 0.0
        trial = same_shape(lambda v: bij.inverse(bij.from_unit(v)), 0.5 + s * (q - 0.5))
        ok = np.isfinite(np.asarray(objective(trial)))
        u[dead[ok]] = trial[ok]
        dead, q = dead[~ok], q[~ok]
        if len(dead) == 0:
            break
    return u


MAX_CHUNK_ELEMENTS = 2**25


def _chunk_size(u0: np.ndarray, payload: Any, chunk: int) -> int:
    """Starts per compiled call: ``chunk``, at most the start count and a memory bound."""
    leaves = jax.tree_util.tree_leaves(payload)
    per_start = max(1, sum(int(np.prod(v.shape)) for v in leaves)) * u0.shape[1]
    return int(max(1, min(chunk, u0.shape[0], max(16, MAX_CHUNK_ELEMENTS // per_start))))


class Solver(NamedTuple):
    """A law's compiled multistart solver: ``solve(u0 (s, p), payload, max_iter)`` (L-BFGS), or
    Levenberg–Marquardt as ``init(u0, payload) -> LMState`` and ``run(state, payload, max_iter)``,
    resumable, so :func:`_solve_chunked` can drop converged starts between segments."""

    solve: Callable | None
    init: Callable | None = None
    run: Callable | None = None


SEGMENT = 10  # Levenberg–Marquardt iterations between compactions of the running starts
TAIL_DIV = 8  # the last few running starts go in chunks of chunk // TAIL_DIV


def live_starts(
    law: Law, solver: Solver, u: np.ndarray, payload: Any, chunk: int
) -> tuple[np.ndarray, LMState | None]:
    """Starts ``u`` with the dead ones revived (:func:`revive_starts`, evaluated in chunks of
    ``chunk``), and the solver's state at them for :func:`_solve_chunked` when none was dead
    (else None: that call computes the states of the revived starts)."""
    f, state = _start_states(solver, u, payload, chunk)
    out = revive_starts(
        law, u, lambda v: f if v is u else _start_states(solver, v, payload, chunk)[0]
    )
    return out, (state if out is u else None)


def _chunks(rows: np.ndarray, size: int) -> tuple[list[np.ndarray], int]:
    """``rows`` in chunks of ``size`` (the last padded with the first row), and their count."""
    n = -(-len(rows) // size)
    pad = np.concatenate([rows, np.repeat(rows[:1], n * size - len(rows))])
    return [pad[i * size : (i + 1) * size] for i in range(n)], len(rows)


def _gather(outs: list, n: int) -> Any:
    """The first ``n`` starts of per-chunk outputs, as one tree of host arrays."""
    outs = jax.device_get(outs)  # numpy leaves, one transfer each
    if len(outs) == 1:
        return jax.tree_util.tree_map(lambda a: a[:n], outs[0])
    return jax.tree_util.tree_map(lambda *a: np.concatenate(a)[:n], *outs)


def _start_states(
    solver: Solver, u0: np.ndarray, payload: Any, chunk: int
) -> tuple[np.ndarray, LMState | None]:
    """The objective at each start (non-finite where the law is undefined), and for
    Levenberg–Marquardt the solver's state there (in chunks of exactly ``chunk``), which
    :func:`_solve_chunked` takes as ``state`` instead of computing it again.

    A multistart fit evaluates its starts once to revive the dead ones
    (:func:`revive_starts`); handing the state on saves an evaluation of f, g and H per start.
    """
    if solver.run is None:
        f = np.asarray(_solve_chunked(solver, u0, payload, 0, chunk, fixed=True).f)
        return np.where(np.isfinite(f), f, np.inf), None
    parts, n = _chunks(np.arange(u0.shape[0]), chunk)
    state = _gather([solver.init(u0[i], payload) for i in parts], n)
    return state.f, state


def _solve_chunked(
    solver: Solver,
    u0: np.ndarray,
    payload: Any,
    max_iter: int,
    chunk: int,
    fixed: bool = False,
    state: LMState | None = None,
) -> SolverResult:
    """Run the solver over starts in chunks of one size (one compiled shape, bounded memory).

    The chunk shrinks to the start count and to a memory bound, unless ``fixed`` (callers that
    run many small start counts on one law and want a single compiled shape). ``state``: the
    Levenberg–Marquardt state at ``u0`` if already computed (:func:`_start_states` with the
    chunk this call uses).

    A vmapped while loop runs every start of a chunk until the slowest one stops, and the median
    start of a multistart fit converges in a few iterations while a few crawl to ``max_iter``.
    So Levenberg–Marquardt runs in segments (:data:`SEGMENT` iterations, then doubling: 10, 20, 40,
    …), and after each one the starts still running are packed into as few chunks as they fill
    (chunks of a smaller size once at most half a chunk is left). Each start's iterates are
    those of one uninterrupted run (:func:`lm_run` resumes exactly).
    """
    s = u0.shape[0]
    if not fixed:
        chunk = _chunk_size(u0, payload, chunk)
    # the iteration limit is traced: one dtype whatever the caller passed (a Python int is
    # weakly typed, np.int64 is not, and each would compile the solver again)
    max_iter = int(max_iter)
    if solver.run is None:
        parts, _ = _chunks(np.arange(s), chunk)
        return _gather([solver.solve(u0[i], payload, max_iter) for i in parts], s)
    if state is None:
        state = _start_states(solver, u0, payload, chunk)[1]
    tail = max(1, chunk // TAIL_DIV)  # few starts left (the slow tail): chunks of this size
    limit = 0
    while limit < max_iter:
        limit = min(limit + max(SEGMENT, limit), max_iter)  # 10, 20, 40, 80, ...
        active = np.flatnonzero(~state.done & (state.it < limit))
        if len(active) == 0:
            break
        parts, n = _chunks(active, tail if len(active) <= chunk // 2 else chunk)
        new = _gather(
            [solver.run(LMState(*(a[i] for a in state)), payload, np.int64(limit)) for i in parts],
            n,
        )
        state = LMState(*(a.copy() for a in state))
        for a, b in zip(state, new, strict=True):
            a[active] = b
    # lm_result's rule, on the host arrays
    return SolverResult(state.u, state.f, state.it, state.conv & np.isfinite(state.f))


def _modes(law: Law, u_sorted: np.ndarray, f_sorted: np.ndarray) -> list[Mode]:
    bij = law.bijector
    q = np.asarray(bij.to_unit(bij.forward(u_sorted)))
    reps: list[int] = []
    counts: list[int] = []
    for i in range(len(q)):
        for j, r in enumerate(reps):
            if np.max(np.abs(q[i] - q[r])) < MODE_TOL:
                counts[j] += 1
                break
        else:
            if len(reps) < MAX_MODES:
                reps.append(i)
                counts.append(1)
    theta = np.asarray(bij.forward(u_sorted[reps]))
    return [
        Mode({p: float(v) for p, v in zip(law.params, theta[k])}, float(f_sorted[i]), counts[k])
        for k, i in enumerate(reps)
    ]


def comparable(loss: Loss, n: int, f_best: float, f_other: float) -> bool:
    """Does an optimum with objective ``f_other`` explain the data about as well as the best?

    For Gaussian losses: likelihood ratio within e² (n/2·log(f_other/f_best) < 2); otherwise
    within 1% of the objective.
    """
    if f_best <= 0:
        return f_other <= 1e-12
    if loss.gaussian and loss.mean:
        return 0.5 * n * math.log(f_other / f_best) < 2.0
    return (f_other - f_best) <= 0.01 * abs(f_best)


def _status(law, loss, u_best, converged, modes, x, n_runs, fgh, payload) -> list[str]:
    status = ["converged" if converged else "not converged"]
    bij = law.bijector
    q = np.asarray(bij.to_unit(bij.forward(u_best)))
    at = [p for p, qi in zip(law.params, q) if qi < AT_BOUND_TOL or qi > 1 - AT_BOUND_TOL]
    if at:
        status.append("parameter at bound: " + ", ".join(at))
    free = np.array([p not in at for p in law.params])
    # identifiability: the Gauss-Newton/Fisher matrix in u-space, free parameters only,
    # normalised to unit diagonal (a scale-free correlation-like matrix)
    _, _, h = fgh(jnp.asarray(u_best), payload)
    h = np.asarray(h)[np.ix_(free, free)]
    names = [p for p in law.params if p not in at]
    if len(names):
        d = np.sqrt(np.clip(np.diag(h), 0, None))
        dead = [n for n, di in zip(names, d) if not di > 0]
        if dead:
            status.append("not identifiable: no effect of " + ", ".join(dead))
        else:
            c = h / np.outer(d, d)
            ev, vec = np.linalg.eigh(c)
            if ev[0] < IDENTIFIABILITY_TOL * max(ev[-1], 1.0):
                v = np.abs(vec[:, 0])
                involved = [names[i] for i in np.argsort(-v) if v[i] > 0.2]
                status.append(
                    f"not identifiable: {', '.join(involved)} trade off "
                    f"(condition number {ev[-1] / max(ev[0], 1e-300):.1e})"
                )
    for k, v in x.items():
        levels = len(np.unique(v))
        if levels < 3:
            status.append(f"too few levels of {k}: {levels} distinct value(s)")
    close = [m for m in modes[1:] if comparable(loss, n_runs, modes[0].objective, m.objective)]
    if close:
        status.append(
            f"multiple modes: {len(close) + 1} distinct optima explain the data comparably"
        )
    return status
