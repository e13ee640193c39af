"""``propose``: the next costed runs to launch, within a budget — the one place where budget and
acquisition logic meet (used by ``sl propose``, ``sl bench`` and the closed loop).

:class:`DesignLoop` holds one design problem: every configuration as a row (candidates, targets,
observed and in-flight runs), their costs, the current multistart fit and its mode posterior.
``propose(q, remaining)`` returns up to q picks whose total cost fits ``remaining``;
``observe``/``refit`` advance it. :func:`propose` wraps it for tables.

Cold start (nothing observed): a small cheap design of ``n₀ = ⌈2.5 p / k⌉`` runs (``hedge``:
one, or the batch :func:`propose` is asked for) within the initial budget, its runs in flight
counted — the cheapest ones (``cold_start="cheapest"``, the paper's and the default for every
method) or a cost-aware greedy maximin design in standardised (log-)input space (``"spread"``):
each next run maximises ``min_j ‖x − x_j‖ / (cost/total)^γ``. On ScaleBench the
cheapest start scores better: ``hedge`` on moe at 1% (10 laws × 5 seeds) 0.41 from the cheapest
runs against −0.09 from ``spread``, which spends the initial budget on costlier runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from scalinglaws._io import numeric_columns
from scalinglaws._law import Law, get_law

from ._acquisition import (
    METHODS,
    MODEL_METHODS,
    START_CHUNK,
    ModePosterior,
    affine_parts,
    build_posterior,
    design_bucket,
    fit_multistart,
    law_jacobians,
    linear_map,
    select_batch,
    standardised_inputs,
    target_distance,
    target_weights,
)
from ._budget import DesignError, parse_budget
from ._costs import CostModel, cost_model, fitted_cost_model, is_fitted_spec

__all__ = [
    "COLD_STARTS",
    "DesignLoop",
    "checkpoint_schedule",
    "kept_median",
    "near_optima",
    "plausible",
    "predict_target",
    "propose",
    "resolve_target",
]

COLD_STARTS = ("cheapest", "spread")
# ``hedge``'s checkpoint fits weight each observed run by (d_min / d)^HEDGE_LOCALIZE, d its
# distance to the target region (see :meth:`DesignLoop.final_fit`)
HEDGE_LOCALIZE = 1.0
# ``hedge`` predicts only with optima whose target predictions stay within this many observed
# ranges of the observed outcomes, while one does (see :meth:`DesignLoop.final_predict`)
PLAUSIBLE_RANGES = 10.0
# ``hedge`` starts from this many runs (the cheapest), the other model-based methods from the
# paper's ⌈2.5 p / k⌉ (see :class:`DesignLoop`)
HEDGE_INIT_RUNS = 1
# the checkpoint fits (:meth:`DesignLoop.final_fit`) of ``sl bench`` and of ``hedge``'s proposals
CHECKPOINT_STARTS = 256


def checkpoint_schedule(law: Law) -> tuple[Any, Any]:
    """``(polish, screen_iter)`` of the checkpoint fits: every one of :data:`CHECKPOINT_STARTS`
    starts runs 30 iterations and the best 64 are polished; for laws of more than 16 parameters
    (domain mixture, lr & bsz), whose Levenberg–Marquardt steps cost most, the best 64 after 30
    and the best 16 after 30 more: the same R² on domain sl_1 and sl_7 (random and all-data,
    2 seeds) in less time."""
    return ((64, 16), (30, 30)) if law.n_params > 16 else (64, 30)


def near_optima(f: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mask of the multistart optima (objectives ``f``, best first, so it is always in) that
    the outputs ``y`` cannot tell apart from the best: within one unit of deviance,
    ``f ≤ f_best·(1 + 1/n)`` for n observed outputs, plus 1e-8·Var y for fits that
    interpolate."""
    n = int(np.isfinite(y).sum())
    return f <= f[0] * (1.0 + 1.0 / n) + 1e-8 * float(np.nanvar(y))


class CheckpointFit(NamedTuple):
    """The last :meth:`DesignLoop.final_fit`: the observed runs it fitted, its near optima
    (best first, :func:`near_optima`), every finite optimum and their objectives."""

    runs: frozenset[int]
    near: np.ndarray
    optima: np.ndarray
    f: np.ndarray


def plausible(pred: np.ndarray, y: np.ndarray, ranges: float = PLAUSIBLE_RANGES) -> np.ndarray:
    """Mask of the predictions ``pred`` (n, T, k) that are finite and lie within ``ranges``
    observed ranges of the observed outcomes ``y`` (m, k), for every output j:
    ``lo_j − ranges·r_j ≤ pred ≤ hi_j + ranges·r_j`` with ``r_j = hi_j − lo_j``. An output
    with no range yet (fewer than two distinct outcomes observed) only needs to be finite."""
    seen = np.isfinite(y).any(axis=0)
    lo, hi = np.full(y.shape[1], -np.inf), np.full(y.shape[1], np.inf)
    lo[seen], hi[seen] = np.nanmin(y[:, seen], axis=0), np.nanmax(y[:, seen], axis=0)
    screened = seen & (hi > lo)
    lo, hi = np.where(screened, lo, -np.inf), np.where(screened, hi, np.inf)
    r = np.where(screened, ranges * (hi - lo), 0.0)
    inside = np.isfinite(pred) & (pred >= lo - r) & (pred <= hi + r)
    return np.all(inside.reshape(len(pred), -1), axis=1)


def kept_median(pred: np.ndarray, f: np.ndarray, y: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``hedge``'s checkpoint prediction from the predictions ``pred`` (n, T, k) of optima with
    objectives ``f`` (best first) fitted to ``y``: the median over the near optima of the best
    optimum in the mask ``keep``; with none kept, of the best finite one; with none finite, the
    best optimum's predictions."""
    if not keep.any():  # none kept: the screen is off, every finite optimum counts
        keep = np.all(np.isfinite(pred.reshape(len(pred), -1)), axis=1)
    if not keep.any():
        return pred[0]
    use = np.flatnonzero(keep)
    return np.median(pred[use[near_optima(f[use], y)]], axis=0)


class DesignLoop:
    """State of one active-design problem over a fixed set of configurations (rows).

    Args:
        law: the law. x: inputs ``{name: (R,)}`` of every row. y: outputs (R, k), NaN if unknown.
        costs: (R,) cost of each row. candidates: rows that may be proposed. target: rows whose
            predictions matter (the extrapolation region). total_cost: what γ's cost fraction and
            percentage budgets refer to (the pool's total cost).
        method: one of :data:`METHODS`. gamma: cost exponent. seed: randomness.
        init_budget: cost allowed for the cold-start design of the model-based methods (the
            others need no fit). cold_start: ``"cheapest"`` (default) or ``"spread"`` (see the
            module docstring).
        fit_starts: multistart size of the refits between acquisitions.
        init_runs: size of the cold-start design; default ``⌈2.5 p / k⌉`` (the paper's), for
            ``hedge`` from the cheapest runs :data:`HEDGE_INIT_RUNS`.
        localize: exponent α of the target-localised weights of :meth:`final_fit` (0: an
            unweighted fit); default :data:`HEDGE_LOCALIZE` for ``hedge``, 0 for the others.
    """

    def __init__(
        self,
        law: Law,
        x: dict[str, np.ndarray],
        y: np.ndarray,
        costs: np.ndarray,
        candidates: np.ndarray,
        target: np.ndarray,
        total_cost: float,
        *,
        method: str = "mspe",
        gamma: float = 0.4,
        seed: int = 0,
        init_budget: float | None = None,
        cold_start: str = "cheapest",
        fit_starts: int = 16,
        init_runs: int | None = None,
        localize: float | None = None,
    ) -> None:
        if method not in METHODS:
            raise DesignError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
        self.law = law
        self.x = {k: np.asarray(x[k], dtype=np.float64) for k in law.inputs}
        self.y = np.asarray(y, dtype=np.float64).reshape(len(costs), -1)
        self.costs = np.asarray(costs, dtype=np.float64)
        self.candidates = np.asarray(candidates, dtype=int)
        self.target = np.asarray(target, dtype=int)
        self.total_cost = float(total_cost)
        self.method = method
        self.gamma = float(gamma)
        self.rng = np.random.default_rng(seed)
        self.seed = int(seed)
        self.init_budget = init_budget
        if cold_start not in COLD_STARTS:
            raise DesignError(
                f"unknown cold start {cold_start!r}; choose one of {', '.join(COLD_STARTS)}"
            )
        self.cold_start = cold_start
        self.fit_starts = int(fit_starts)
        self.localize = float(
            (HEDGE_LOCALIZE if method == "hedge" else 0.0) if localize is None else localize
        )
        self._dist: np.ndarray | None = None  # each row's distance to the target region
        self.refit_iter = 60  # warm-started refits between acquisitions converge fast
        self.observed: list[int] = []
        self.inflight: list[int] = []
        self.used = np.zeros(len(self.costs), dtype=bool)
        self.post: ModePosterior | None = None
        self.warm: list[np.ndarray] = []
        self.n_refits = 0
        self._jac = self._pred = None
        self._final: CheckpointFit | None = None
        self._affine: tuple[np.ndarray, np.ndarray] | None | bool = False  # False: not checked
        if init_runs is None:
            init_runs = (
                HEDGE_INIT_RUNS
                if method == "hedge" and cold_start == "cheapest"
                else math.ceil(2.5 * law.n_params / self.y.shape[1])
            )
        self.n_init = max(1, int(init_runs))

    # -- bookkeeping ---------------------------------------------------------------------------
    def observe(self, rows: Sequence[int]) -> None:
        """Mark rows as observed (their ``y`` must be known)."""
        for r in rows:
            self.observed.append(int(r))
            self.used[int(r)] = True
            if int(r) in self.inflight:
                self.inflight.remove(int(r))

    def launch(self, rows: Sequence[int]) -> None:
        """Mark rows as in flight: no outcome yet, but no longer candidates."""
        for r in rows:
            self.inflight.append(int(r))
            self.used[int(r)] = True

    # -- fitting -------------------------------------------------------------------------------
    def refit(self) -> None:
        """Multistart fit on the observed rows (warm-started) and the mode posterior."""
        if not self.observed:
            self.post = None
            return
        obs = np.asarray(self.observed)
        y = self.y[obs]
        warm = np.asarray(self.warm) if self.warm else None
        thetas, f = fit_multistart(
            self.law, {k: v[obs] for k, v in self.x.items()}, y, starts=self.fit_starts,
            warm=warm, seed=self.seed * 7919 + self.n_refits, max_iter=self.refit_iter,
        )  # fmt: skip
        self.n_refits += 1
        # Jacobians of every start on the observed (row count padded to a power of two, so the
        # compiled kernel is reused) and target rows; on all rows only for the chosen modes
        cond = np.asarray(self.inflight, dtype=int)
        need = len(obs) + len(cond)
        nb = design_bucket(need)
        rows_o = np.concatenate([obs, cond, np.full(nb - need, obs[0])])
        _, jac_o = law_jacobians(self.law, thetas, {k: v[rows_o] for k, v in self.x.items()})
        pred_t, jac_t = law_jacobians(
            self.law, thetas, {k: v[self.target] for k, v in self.x.items()}
        )
        yv = float(np.nanvar(y)) if len(obs) > 1 else float(np.nanmean(y**2)) * 1e-2
        self.post = build_posterior(
            self.law, thetas, f, jac_o[:, : len(obs)], pred_t, jac_t,
            n_obs=len(obs), y_var=yv, jac_cond=jac_o[:, len(obs) : len(obs) + len(cond)],
            cluster=self.method in ("mspe", "hedge"),
        )  # fmt: skip
        pj = [law_jacobians(self.law, t[None], self.x) for t in self.post.thetas]
        self._pred = np.concatenate([a for a, _ in pj])
        self._jac = np.concatenate([b for _, b in pj])
        self._remember(thetas[0])

    def target_dist(self) -> np.ndarray:
        """Each row's distance to the nearest target row (:func:`target_distance`, scaled over
        the pool; 0 for the target rows), computed once."""
        if self._dist is None:
            pool = np.setdiff1d(np.arange(len(self.costs)), self.target)
            self._dist = np.zeros(len(self.costs))
            self._dist[pool] = target_distance(self.x, pool, self.target)
        return self._dist

    def _weights(self, obs: np.ndarray) -> np.ndarray | None:
        """Target-localised fit weights of the runs ``obs`` (None without ``localize``)."""
        if self.localize <= 0:
            return None
        return target_weights(self.target_dist()[obs], self.localize)

    def _remember(self, theta: np.ndarray) -> None:
        if not any(np.allclose(theta, w, rtol=1e-6, atol=1e-12) for w in self.warm):
            self.warm.append(np.asarray(theta))
        self.warm = self.warm[-8:]

    def final_fit(
        self,
        starts: int = 64,
        seed: int = 0,
        polish: int | Sequence[int] | None = None,
        screen_iter: int | Sequence[int] = 8,
    ) -> np.ndarray | None:
        """Best parameters of a wider multistart fit (warm-started from earlier fits); with
        ``polish`` < ``starts``, only the best ``polish`` screened starts run to convergence
        (see :func:`fit_multistart`). The same observed runs return the previous result.

        With ``localize`` = α > 0 (``hedge``) the fit is weighted least squares, each run weighted
        by ``(d_min / d)^α`` with d its distance to the nearest target row in standardised
        (log-)input space (:func:`target_distance`): where the law is misspecified, the runs
        nearest the extrapolation region decide the fit, and where it is right the weights
        change little (only how the noise is averaged). The best weighted optimum also joins
        the warm starts of later design fits. On ScaleBench's full pools the weighted fit
        (α = 1) scores R² 0.56 against 0.21 unweighted on lr_bsz, 0.94 against 0.90 on
        data_con, 0.46 against 0.37 on sparsity, and loses a little on moe (0.78 against 0.82)
        and farseer (0.94 against 0.95).
        """
        if not self.observed:
            return None
        key = frozenset(self.observed)
        if self._final is not None and self._final.runs == key:  # same runs: same fit
            return self._final.near[0]
        obs = np.asarray(self.observed)
        warm = list(self.warm)
        if self.post is not None:
            warm += list(self.post.thetas)
        y = self.y[obs]
        thetas, f = fit_multistart(
            self.law, {k: v[obs] for k, v in self.x.items()}, y, starts=starts,
            warm=np.asarray(warm) if warm else None, seed=seed, polish=polish,
            screen_iter=screen_iter, weights=self._weights(obs),
        )  # fmt: skip
        if not np.isfinite(f[0]):
            return None
        self._remember(thetas[0])
        fin = np.isfinite(f)
        self._final = CheckpointFit(key, thetas[near_optima(f, y)], thetas[fin], f[fin])
        return thetas[0]

    def final_predict(self, x: dict[str, np.ndarray]) -> np.ndarray | None:
        """Predictions (T, k) at inputs ``x`` of the last :meth:`final_fit` (None before one).

        ``hedge`` predicts with the median, per output, over every optimum the data cannot tell
        apart from the best: objective within one unit of deviance, ``f ≤ f_best·(1 + 1/n)`` for
        n observed outputs (plus 1e-8·Var y, for fits that interpolate). Where the law is
        identified these optima coincide; where it is not, the best one is an arbitrary point of
        a flat valley, and the valley's median extrapolates better (ScaleBench, hedge's runs:
        parallel at 5% 0.55 → 0.84, domain sl_3 at 20% 0.60 → 0.96). The median, not the mean:
        a few optima of the valley extrapolate wildly (domain sl_3: mean 0.18). The other
        methods predict with the best optimum, as the paper.

        Before the median, ``hedge`` sets aside every optimum whose target predictions leave
        the observed outcomes by more than :data:`PLAUSIBLE_RANGES` times their range
        (:func:`plausible`), and takes the near optima of the best one that remains. A fit
        that predicts a loss many times anything observed has usually carried the target into
        a region where the law breaks down: a clamp or a pole, a negative base raised to a
        power. If no optimum is plausible, the rule is off. The multiple is generous: on
        ScaleBench, at every checkpoint of hedge's runs, the true target outcomes lie within 4.9
        observed ranges of the observed ones. There the rule decides domain mixture sl_6, whose
        clamp at a zero effective proportion makes its least-squares fits predict 10²–10⁶ at
        some target mixtures (hedge's runs, 10 seeds: −0.47 / −0.29 / −0.05 → 0.64 / 0.87 /
        0.87), and parallel sl_9 at 5% (0.23 → 0.84); on moe and sparsity it sets none aside.

        Where the law is affine in its parameters (none with a positive lower bound:
        :func:`affine_parts`), the valley is a flat subspace and ``hedge`` predicts instead with
        its maximum a posteriori point under the design's weak bounds prior
        (:func:`linear_map`, closed form; the checkpoint fit's weights, noise variance its mean
        squared error). On ScaleBench's five such laws (domain sl_1, sl_7, sl_9; lr_bsz sl_9,
        sl_10), on hedge's own runs, this scored above the valley median at every checkpoint:
        domain sl_7 at 20% −1.00 → 0.92, sl_1 0.32 → 0.99, the task's 20% cell 0.53 → 0.79 (the
        whole bench, 10 seeds).
        """
        if self._final is None:
            return None
        affine = self.affine() if self.method == "hedge" else None
        if affine is not None:
            f0, jac = affine
            obs = np.asarray(self.observed)
            theta = linear_map(
                f0[obs], jac[obs], self.y[obs], self.law, self._weights(obs),
                theta_ref=self._final.near[0],
            )  # fmt: skip
            return law_jacobians(self.law, theta[None], x)[0][0]
        if self.method != "hedge":
            return self._predict(self._final.near[:1], x)[0]
        pred = self._predict(self._final.optima, x)
        y = self.y[np.asarray(self.observed)]
        return kept_median(pred, self._final.f, y, plausible(pred, y))

    def _predict(self, thetas: np.ndarray, x: dict[str, np.ndarray]) -> np.ndarray:
        """Predictions (n, T, k) of the parameters ``thetas`` (n, p) at inputs ``x``, in
        chunks of START_CHUNK padded with the first: the refits' compiled kernel is reused."""
        c = START_CHUNK if len(thetas) > 1 else 1
        th = np.concatenate([thetas, np.repeat(thetas[:1], -len(thetas) % c, axis=0)])
        pred = [law_jacobians(self.law, th[i : i + c], x)[0] for i in range(0, len(th), c)]
        return np.concatenate(pred)[: len(thetas)]

    def affine(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(f₀, J)`` over every row if the law is affine in its parameters (see
        :func:`affine_parts`), else None; checked once."""
        if self._affine is False:
            self._affine = affine_parts(self.law, self.x)
        return self._affine

    # -- proposing -----------------------------------------------------------------------------
    def available(self) -> np.ndarray:
        return self.candidates[~self.used[self.candidates]]

    def y_range(self) -> tuple[float, float]:
        """Where a candidate's outcome may fall, for MSPE's quadrature: the observed range
        widened by 1 each side, not below 0 when every observed outcome is positive."""
        obs_y = self.y[np.asarray(self.observed)]
        lo, hi = float(np.nanmin(obs_y)) - 1.0, float(np.nanmax(obs_y)) + 1.0
        if np.nanmin(obs_y) > 0:
            lo = max(lo, 0.0)
        return lo, hi

    @property
    def cold(self) -> bool:
        """True while a model-based method has nothing observed and fewer than ``n_init`` runs
        in flight: its next proposal is (the rest of) the cold-start design, whose runs in
        flight count towards its size and its budget."""
        return (
            self.method in MODEL_METHODS and not self.observed and len(self.inflight) < self.n_init
        )

    def propose(self, q: int, remaining: float) -> list[tuple[int, float]]:
        """Up to ``q`` rows whose total cost is at most ``remaining``: ``[(row, score), ...]``."""
        cand = self.available()
        if len(cand) == 0 or q < 1:
            return []
        if self.cold:
            return self._cold(cand, q, remaining)
        model = self.method in MODEL_METHODS
        if model and self.post is None:
            self.refit()
        if model and self.post is None:  # only in-flight runs: nothing to fit yet
            return []
        kw: dict[str, Any] = {}
        if model:
            kw = dict(
                post=self.post, jac_cand=self._jac[:, cand], pred_cand=self._pred[:, cand],
                jac_target=self._jac[:, self.target], pred_target=self._pred[:, self.target],
                y_range=self.y_range(),
            )  # fmt: skip
        picks = select_batch(
            self.method, costs=self.costs[cand], total_cost=self.total_cost, remaining=remaining,
            q=q, gamma=self.gamma, rng=self.rng, **kw,
        )  # fmt: skip
        return [(int(cand[i]), s) for i, s in picks]

    def _cold(self, cand: np.ndarray, q: int, remaining: float) -> list[tuple[int, float]]:
        fly = np.asarray(self.inflight, dtype=int)  # the design's runs launched already
        limit = remaining if self.init_budget is None else min(remaining, self.init_budget)
        limit -= float(self.costs[fly].sum())
        n = min(q, self.n_init - len(fly))
        c = self.costs[cand]
        order = np.argsort(c, kind="stable")
        picks: list[tuple[int, float]] = []
        if self.cold_start == "cheapest":
            spent = 0.0
            for j, i in enumerate(order):
                if len(picks) >= n:
                    break
                # the design's first run is taken even beyond the initial budget
                if (j == 0 and not len(fly) and c[i] <= remaining) or spent + c[i] <= limit:
                    picks.append((int(cand[i]), float(self.total_cost / c[i])))
                    spent += c[i]
            return picks
        z = standardised_inputs(self.x, np.concatenate([cand, fly]), len(cand))
        z, z_fly = z[: len(cand)], z[len(cand) :]
        pen = np.maximum(c / self.total_cost, 1e-300) ** self.gamma
        chosen: list[int] = []
        spent = 0.0
        if len(fly):  # the design goes on from its runs in flight
            dmin = np.min(np.linalg.norm(z[:, None, :] - z_fly[None], axis=2), axis=1)
        else:
            first = order[0]
            if c[first] > remaining:
                return []
            chosen.append(first)
            spent = c[first]
            picks.append((int(cand[first]), float(1.0 / pen[first])))
            dmin = np.linalg.norm(z - z[first], axis=1)
        while len(chosen) < n:
            ok = (spent + c <= limit) & (dmin > 0)
            if not ok.any():
                break
            score = np.where(ok, dmin / pen, -np.inf)
            i = int(np.argmax(score))
            chosen.append(i)
            spent += c[i]
            picks.append((int(cand[i]), float(score[i])))
            dmin = np.minimum(dmin, np.linalg.norm(z - z[i], axis=1))
        return picks


# -- tables ---------------------------------------------------------------------------------------
def _key(df: pd.DataFrame, inputs: Sequence[str]) -> list[tuple[float, ...]]:
    arr = df[list(inputs)].to_numpy(dtype=np.float64)
    return [tuple(float(f"{v:.12g}") for v in row) for row in arr]


def _need(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DesignError(
            f"{what} lacks column(s) {', '.join(missing)} needed by the law; its columns are "
            f"{', '.join(map(str, df.columns))}"
        )


def _costs_of(cm: CostModel, df: pd.DataFrame, what: str, charged: bool = False) -> np.ndarray:
    try:
        return cm.charged(df, what=what) if charged else cm(df, what=what)
    except DesignError:
        if "cost" in df.columns:
            return CostModel("column", "cost")(df, what=what)
        raise


def resolve_target(
    target: pd.DataFrame | str | int | None,
    pool: pd.DataFrame,
    pool_cost: np.ndarray,
    inputs: Sequence[str],
) -> tuple[pd.DataFrame, int | None]:
    """The target configurations (the columns ``inputs``, index reset) and, unless ``target``
    is a table, k: ``"top:k"`` or ``k`` is the k most costly pool configurations, None the most
    costly 5% of the pool."""
    if isinstance(target, pd.DataFrame):
        _need(target, inputs, "the target table")
        if len(target) == 0:
            raise DesignError("the target table is empty; give at least one configuration")
        numeric_columns(target, inputs, "the target table")  # a one-line error, if any
        return target[list(inputs)].reset_index(drop=True), None
    k = max(1, math.ceil(0.05 * len(pool)))
    if target is not None:
        text = str(target).strip().lower()
        try:
            k = int(text.split(":", 1)[1]) if text.startswith("top:") else int(text)
        except ValueError:
            raise DesignError(
                f"target {target!r} is neither a table nor 'top:k'; write e.g. top:10"
            ) from None
        if k < 1:
            raise DesignError(f"target {target!r} asks for {k} configurations; use k >= 1")
    order = np.argsort(-np.asarray(pool_cost), kind="stable")[:k]
    return pool.iloc[order][list(inputs)].reset_index(drop=True), k


class _Problem(NamedTuple):
    loop: DesignLoop
    pool: pd.DataFrame  # reindexed 0..m-1: the loop's first m rows
    pool_cost: np.ndarray
    spent: float  # cost of the observed and in-flight runs
    target: pd.DataFrame  # the target configurations (the law's inputs): rows m..m+t-1
    unfitted: pd.DataFrame  # runs without a finite outcome (inputs, cost): spent, not fitted
    cost_model: CostModel


def _problem(
    pool: pd.DataFrame | None,
    law: Law | str,
    *,
    cost: str | CostModel,
    runs: pd.DataFrame | None,
    in_flight: pd.DataFrame | None,
    target: pd.DataFrame | str | int | None,
    method: str,
    gamma: float,
    seed: int,
    fit_starts: int,
    cold_start: str,
) -> _Problem:
    """The design problem of :func:`propose` and :func:`predict_target` as a
    :class:`DesignLoop`: rows are the pool, then the target, then the observed and in-flight
    runs (observed and launched in the loop); a pool configuration already run or in flight
    is not a candidate."""
    law = get_law(law)
    if pool is None or len(pool) == 0:
        raise DesignError("the candidate pool is empty; give a pool table with at least one row")
    _need(pool, law.inputs, "the pool")
    table = pool.reset_index(drop=True)  # as given, for the proposals
    pool = numeric_columns(table, law.inputs, "the pool")
    if runs is not None and len(runs):
        _need(runs, [*law.inputs, *law.outputs], "the runs table")
        runs = numeric_columns(
            runs, [*law.inputs, *law.outputs], "the runs table", missing_ok=law.outputs
        ).reset_index(drop=True)
    if is_fitted_spec(cost):
        cm = fitted_cost_model(str(cost), runs, law.inputs)
    else:
        cm = cost_model(cost, pool.columns)
    pool_cost = cm(pool, what="pool")
    total = float(pool_cost.sum())
    k = len(law.outputs)
    frames_x, frames_y, frames_c = [], [], []
    spent = 0.0
    obs_keys: set[tuple[float, ...]] = set()
    n_obs = n_fly = 0
    unfitted = pd.DataFrame({**{c: [] for c in law.inputs}, "cost": []})
    if runs is not None and len(runs):
        yr = runs[list(law.outputs)].to_numpy(np.float64)
        good = np.all(np.isfinite(yr), axis=1)
        # a run without a finite outcome (diverged, or not recorded) was still run: it counts as
        # spent and is not proposed again, but there is nothing to fit
        c = _costs_of(cm, runs, "runs table", charged=True)
        spent += float(c.sum())
        obs_keys |= set(_key(runs, law.inputs))
        unfitted = runs.loc[~good, list(law.inputs)].assign(cost=c[~good])
        frames_x.append(runs.loc[good, list(law.inputs)])
        frames_y.append(yr[good])
        frames_c.append(c[good])
        n_obs = int(good.sum())
    if in_flight is not None and len(in_flight):
        _need(in_flight, law.inputs, "the in-flight table")
        in_flight = numeric_columns(in_flight, law.inputs, "the in-flight table")
        c = _costs_of(cm, in_flight, "in-flight table")
        spent += float(c.sum())
        obs_keys |= set(_key(in_flight, law.inputs))
        frames_x.append(in_flight[list(law.inputs)])
        frames_y.append(np.full((len(in_flight), k), np.nan))
        frames_c.append(c)
        n_fly = len(in_flight)
    free = np.array([key not in obs_keys for key in _key(pool, law.inputs)])
    tx, _ = resolve_target(target, table, pool_cost, law.inputs)
    m, t = len(pool), len(tx)
    x_all = pd.concat([pool[list(law.inputs)], tx, *frames_x], ignore_index=True)
    y_all = (
        np.vstack([np.full((m + t, k), np.nan), *frames_y])
        if frames_y
        else np.full((m + t, k), np.nan)
    )
    c_all = np.concatenate([pool_cost, np.ones(t), *frames_c])
    loop = DesignLoop(
        law, {c: x_all[c].to_numpy(np.float64) for c in law.inputs}, y_all, c_all,
        np.flatnonzero(free), np.arange(m, m + t), total, method=method, gamma=gamma,
        seed=seed, cold_start=cold_start, fit_starts=fit_starts,
    )  # fmt: skip
    loop.observe(range(m + t, m + t + n_obs))
    loop.launch(range(m + t + n_obs, m + t + n_obs + n_fly))
    return _Problem(loop, table, pool_cost, spent, tx, unfitted, cm)


def _checkpoint_fit(loop: DesignLoop, seed: int) -> np.ndarray | None:
    """The loop's checkpoint fit as ``sl bench`` runs it (:data:`CHECKPOINT_STARTS` starts,
    :func:`checkpoint_schedule`)."""
    polish, screen = checkpoint_schedule(loop.law)
    return loop.final_fit(CHECKPOINT_STARTS, seed=seed, polish=polish, screen_iter=screen)


def propose(
    pool: pd.DataFrame,
    law: Law | str,
    *,
    cost: str | CostModel,
    budget: str | float,
    runs: pd.DataFrame | None = None,
    in_flight: pd.DataFrame | None = None,
    target: pd.DataFrame | str | int | None = None,
    method: str = "mspe",
    batch: int | None = None,
    gamma: float = 0.4,
    seed: int = 0,
    fit_starts: int = 32,
    cold_start: str = "cheapest",
) -> pd.DataFrame:
    """The next runs to launch from ``pool`` within ``budget``.

    Args:
        pool: candidate configurations (one row each; the law's input columns at least).
        law: a :class:`Law` or a law name.
        cost: cost model — an expression over columns (``"6*N*D"``), a column name,
            ``"fit:COL"`` (a power law of the law's inputs fitted to the runs' measured costs
            COL; ``"fit:COL~N,D"`` names the features; a run is charged what it measured), or a
            :class:`CostModel` (e.g. from :func:`fit_cost_model`).
        budget: ``"10%"`` of the pool's total cost, or an absolute cost. Observed and in-flight
            runs count as spent.
        runs: observed runs (inputs and the law's outputs); None for a cold start.
        in_flight: launched runs without outcomes (inputs only); they condition the design.
        target: configurations to predict well (a table), ``"top:k"`` / ``k`` for the k most
            costly pool configurations; default the most costly 5% of the pool.
        method: one of ``random, cheapest, inverse-cost, dopt, vopt, mspe, hedge``. ``hedge``
            scores candidates as ``mspe`` does, but starts from the single cheapest run
            (:data:`HEDGE_INIT_RUNS`, or the ``batch`` cheapest when a batch is asked for: idle
            executors cost wall time, and nothing is known yet to choose the others by; a
            ``"spread"`` cold start keeps ⌈2.5 p / k⌉ runs) and,
            with runs observed, first fits the law weighted towards the target region
            (:meth:`DesignLoop.final_fit`, as at each checkpoint of ``sl bench``), so the
            design fit also starts from that optimum.
        batch: at most this many proposals (default: until the budget is exhausted).
        gamma: cost exponent γ in ``score / (cost/total)^γ``. seed: randomness (deterministic).
        cold_start: with no runs observed, the model-based methods start from the ``"cheapest"``
            runs (default) or a space-filling ``"spread"`` design, within 20% of the budget.

    Returns:
        The proposals in pick order: the pool's columns plus ``cost``, ``score`` and
        ``cumulative_spend`` (observed + in flight + proposals so far). ``attrs``: the
        ``budget``, what was ``spent_before``, the pool's ``total_cost``, the ``cost_model``,
        how many runs had no outcome to fit (``unfitted``), and ``waiting``: True when a
        model-based method proposes nothing because no run is observed yet and its cold-start
        design is all in flight.
    """
    pb = _problem(
        pool, law, cost=cost, runs=runs, in_flight=in_flight, target=target, method=method,
        gamma=gamma, seed=seed, fit_starts=fit_starts, cold_start=cold_start,
    )  # fmt: skip
    loop, pool, pool_cost = pb.loop, pb.pool, pb.pool_cost
    total = loop.total_cost
    limit = parse_budget(budget, total)
    spent = pb.spent
    if spent >= limit * (1 - 1e-12):
        raise DesignError(
            f"budget {budget} ({limit:.6g}) is already spent: observed and in-flight runs cost "
            f"{spent:.6g}; raise --budget or drop runs"
        )
    if not len(loop.candidates):
        raise DesignError(
            "the candidate pool is empty: every pool configuration is already observed or in "
            "flight; add configurations to the pool"
        )
    if batch is not None and batch < 1:
        raise DesignError(f"--batch must be >= 1, got {batch}")
    loop.init_budget = 0.2 * limit
    if method == "hedge" and batch is not None and loop.cold:
        # an explicit batch fills that many executors: hedge's one-run cold start has nothing
        # to choose the others by, so it takes the next cheapest too (as the paper's design;
        # the paper's methods keep their design's size)
        loop.n_init = max(loop.n_init, int(batch))
    if method == "hedge" and loop.observed:
        # as at a checkpoint of its replay: the target-localised wide fit, whose best optimum
        # joins the warm starts of the design fit that scores the candidates
        _checkpoint_fit(loop, seed)
    q = int(batch) if batch is not None else len(pool)
    picks = loop.propose(q, limit - spent)
    rows = [r for r, _ in picks]
    out = pool.iloc[rows].reset_index(drop=True).copy()
    out["cost"] = pool_cost[rows]
    out["score"] = [s for _, s in picks]
    out["cumulative_spend"] = spent + np.cumsum(pool_cost[rows]) if rows else []
    # nothing observed and the cold-start design all in flight: no fit to score candidates by
    waiting = not rows and loop.method in MODEL_METHODS and not loop.observed
    out.attrs.update(
        budget=limit, spent_before=spent, total_cost=total, method=method,
        unfitted=len(pb.unfitted), cost_model=pb.cost_model, waiting=waiting,
    )  # fmt: skip
    return out


def predict_target(
    pool: pd.DataFrame,
    law: Law | str,
    *,
    cost: str | CostModel,
    runs: pd.DataFrame,
    target: pd.DataFrame | str | int | None = None,
    method: str = "hedge",
    seed: int = 0,
) -> pd.DataFrame:
    """The design's estimate of the law's outputs at the target configurations, from ``runs``.

    The checkpoint estimator ``sl bench`` scores on the target region (R² at each budget
    checkpoint): for ``hedge`` the median over the optima of a target-localised fit that the
    runs cannot tell apart, after setting aside optima whose target predictions are implausible
    (:meth:`DesignLoop.final_predict`); for the paper's methods the best optimum of an
    unweighted fit. Arguments as :func:`propose` (the pool sets the cost scale and the
    distances to the target region that localise ``hedge``'s fit).

    Returns:
        The target configurations (the law's inputs), one column per output of the law.
        ``attrs``: ``method``, ``n_runs`` and ``implausible``, the number of target rows whose
        estimate is non-finite or lies more than :data:`PLAUSIBLE_RANGES` observed ranges
        outside the observed outcomes (see :func:`plausible`): an extrapolation not to trust.
    """
    if runs is None or not len(runs):
        raise DesignError(
            "target predictions need observed runs; give a runs table with the law's outputs"
        )
    pb = _problem(
        pool, law, cost=cost, runs=runs, in_flight=None, target=target, method=method,
        gamma=0.4, seed=seed, fit_starts=32, cold_start="cheapest",
    )  # fmt: skip
    loop = pb.loop
    if not loop.observed or _checkpoint_fit(loop, seed) is None:
        raise DesignError(
            "the law cannot be fitted to the runs (no run with finite outputs, or no finite "
            "fit); check the runs table's output columns"
        )
    m, t = len(pb.pool), len(pb.target)
    pred = loop.final_predict({k: v[m : m + t] for k, v in loop.x.items()})
    out = pb.target.copy()
    for j, name in enumerate(loop.law.outputs):
        out[name] = pred[:, j]
    y = loop.y[np.asarray(loop.observed)]
    far = ~plausible(pred[:, None, :], y)  # per target row: one "optimum" of one row each
    out.attrs.update(method=method, n_runs=len(loop.observed), implausible=int(far.sum()))
    return out
