"""One posterior interface over three methods: Laplace, bootstrap and NUTS.

:func:`posterior` turns a :class:`~scalinglaws.FitResult` into a :class:`Posterior`: weighted
parameter draws (natural scale, ``(S, p)``), the noise scale of each draw, the mode each draw
belongs to, the modes' weights, diagnostics and status notes. Everything downstream —
parameter summaries, predictive intervals, compute-optimal allocations, extrapolation plots —
works on the draws, whichever method produced them.

Predictive distribution at inputs ``x``: for draws ``θ_s`` with weights ``w_s``,

    law:      f(x; θ_s)                                  (the law itself)
    new run:  g⁻¹(g(f(x; θ_s)) + σ_s ε_s),  ε_s ~ N(0, 1) or t_ν     (adds run-to-run noise)

with ``g = log`` for log losses; the mean is ``Σ w_s f_s`` and the central interval at level
``q`` is the weighted ``(1−q)/2`` and ``(1+q)/2`` quantiles.

Modes: when several optima explain the data comparably, each gets a weight (Laplace evidence
for ``laplace`` and ``nuts``, the share of replicates for ``bootstrap``), draws are mixed
accordingly and the status says so.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._errors import FileFormatError, LawError
from ._fit import FitResult
from ._laplace import STUDENT_DF, laplace, prior_logpdf
from ._law import Law
from ._losses import make_loss

METHODS = ("laplace", "bootstrap", "nuts")
UNIDENTIFIED_SHARE = 0.5  # posterior sd ≥ this share of the bounds prior's sd (unit cube)


@functools.lru_cache(maxsize=128)
def _batched(law: Law):
    return jax.jit(jax.vmap(law.apply, in_axes=(0, None)))


def weighted_quantile(values: np.ndarray, weights: np.ndarray, qs: Any) -> np.ndarray:
    """Weighted quantiles along axis 0 of ``values`` (S, ...) → (len(qs), ...)."""
    qs = np.atleast_1d(np.asarray(qs, dtype=np.float64))
    v = np.asarray(values, dtype=np.float64)
    flat = v.reshape(v.shape[0], -1)
    order = np.argsort(flat, axis=0)
    w = np.asarray(weights, dtype=np.float64)[order]
    cw = np.cumsum(w, axis=0) - 0.5 * w
    cw /= w.sum(axis=0)
    sv = np.take_along_axis(flat, order, axis=0)
    out = np.empty((len(qs), flat.shape[1]))
    for j in range(flat.shape[1]):
        out[:, j] = np.interp(qs, cw[:, j], sv[:, j])
    return out.reshape((len(qs),) + v.shape[1:])


@dataclasses.dataclass(frozen=True, eq=False)
class Posterior:
    """Weighted posterior draws of a law's parameters and its noise scale.

    Attributes:
        law: the law.
        method: ``"laplace"``, ``"bootstrap"`` or ``"nuts"``.
        u: draws in the unconstrained space (S, p); ``draws`` gives them on the natural scale.
        weights: (S,) non-negative, summing to one.
        sigma: (S,) run-to-run noise scale per draw (residual scale: log for log losses).
        mode: (S,) index into ``modes`` of the mode each draw belongs to.
        modes: ``[{"params": {...}, "weight": w, "objective": f}]``, best first.
        likelihood: ``"gaussian"``, ``"student-t"`` (scale σ, ``df``) or ``"nll"``.
        log_residuals: residuals (and σ) on the log scale.
        diagnostics: method-specific (r̂, ESS, divergences; replicates; ...).
        status: notes for the user (modes, identifiability); ``warnings``: problems.
    """

    law: Law
    method: str
    u: np.ndarray
    weights: np.ndarray
    sigma: np.ndarray
    mode: np.ndarray
    modes: list[dict[str, Any]]
    likelihood: str
    log_residuals: bool
    df: float = STUDENT_DF
    diagnostics: dict[str, Any] = dataclasses.field(default_factory=dict)
    status: list[str] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    @property
    def draws(self) -> np.ndarray:
        """Parameter draws (S, p) on the natural scale."""
        return np.asarray(self.law.bijector.forward(jnp.asarray(self.u)))

    @property
    def n_draws(self) -> int:
        return int(self.u.shape[0])

    # -- summaries ----------------------------------------------------------------------------
    def param_summary(self, interval: float = 0.9) -> dict[str, dict[str, float]]:
        """Per parameter: weighted mean, sd, median and central interval."""
        th = self.draws
        w = self.weights
        mean = w @ th
        sd = np.sqrt(np.maximum(w @ (th - mean) ** 2, 0.0))
        lo, med, hi = weighted_quantile(th, w, [(1 - interval) / 2, 0.5, (1 + interval) / 2])
        return {
            p: {"mean": float(mean[i]), "sd": float(sd[i]), "median": float(med[i]),
                "lower": float(lo[i]), "upper": float(hi[i])}
            for i, p in enumerate(self.law.params)
        }  # fmt: skip

    def summary(self, interval: float = 0.9) -> dict[str, Any]:
        """A JSON-ready summary (the ``posterior`` section of fit.json)."""
        sig = self.sigma[np.isfinite(self.sigma)]
        out: dict[str, Any] = {
            "method": self.method,
            "interval": interval,
            "n_draws": self.n_draws,
            "likelihood": self.likelihood,
            "log_residuals": self.log_residuals,
            "params": self.param_summary(interval),
            "modes": self.modes,
            "status": list(self.status),
            "warnings": list(self.warnings),
            "diagnostics": _jsonable(self.diagnostics),
            "seconds": self.seconds,
        }
        if self.likelihood == "student-t":
            out["df"] = self.df
        if sig.size:
            w = self.weights[np.isfinite(self.sigma)]
            out["sigma"] = {
                "mean": float(np.sum(w * sig) / np.sum(w)),
                "median": float(weighted_quantile(sig, w, 0.5)[0]),
            }
        return out

    # -- prediction ---------------------------------------------------------------------------
    def predict_draws(
        self, x: Mapping[str, Any], *, new_run: bool = False, key: Any = 0
    ) -> np.ndarray:
        """Predictive draws (S, n, k) at inputs ``x`` (of the law, or of a new run)."""
        xs = {
            k: jnp.asarray(np.atleast_1d(np.asarray(x[k], dtype=np.float64)))
            for k in self.law.inputs
        }
        f = np.asarray(_batched(self.law)(jnp.asarray(self.draws), xs))
        if not new_run:
            return f
        if self.likelihood == "nll" or not np.all(np.isfinite(self.sigma)):
            raise LawError(
                f"law {self.law.name!r} has no run-to-run noise model; predict the law itself"
            )
        rng = np.random.default_rng(key if isinstance(key, (int, np.integer)) else 0)
        eps = (
            rng.standard_t(self.df, f.shape)
            if self.likelihood == "student-t"
            else rng.standard_normal(f.shape)
        )
        noise = self.sigma[:, None, None] * eps
        return f * np.exp(noise) if self.log_residuals else f + noise

    def predict(
        self, x: Mapping[str, Any], interval: float = 0.9, new_run: bool = False, key: Any = 0
    ) -> dict[str, np.ndarray]:
        """Mean, median and central ``interval`` of the law (or a new run) at inputs ``x``.

        Returns arrays of shape (n,) for single-target laws, (n, k) otherwise:
        ``{"mean", "median", "lower", "upper", "sd"}``.
        """
        _check_level(interval)
        f = self.predict_draws(x, new_run=new_run, key=key)
        return self._reduce(f, interval)

    def _reduce(self, f: np.ndarray, interval: float) -> dict[str, np.ndarray]:
        w = self.weights
        ok = np.all(np.isfinite(f.reshape(f.shape[0], -1)), axis=1)
        f, w = f[ok], w[ok] / w[ok].sum()
        mean = np.tensordot(w, f, axes=1)
        sd = np.sqrt(np.maximum(np.tensordot(w, (f - mean) ** 2, axes=1), 0))
        lo, med, hi = weighted_quantile(f, w, [(1 - interval) / 2, 0.5, (1 + interval) / 2])
        out = {"mean": mean, "median": med, "lower": lo, "upper": hi, "sd": sd}
        if out["mean"].ndim == 2 and out["mean"].shape[1] == 1:
            out = {k: v[:, 0] for k, v in out.items()}
        return out

    def optimal(self, compute: float, interval: float = 0.9) -> dict[str, dict[str, float]]:
        """Intervals on the law's compute-optimal allocation (``law.extras["optimal"]``)."""
        _check_level(interval)
        opt = self.law.extras.get("optimal")
        if opt is None:
            raise LawError(f"law {self.law.name} has no closed-form compute-optimal allocation")
        th = jnp.asarray(self.draws)
        r = jax.vmap(lambda t: opt(self.law.as_dict(t), compute))(th)
        out = {}
        for k in ("N", "D", "loss"):
            v = np.asarray(r[k], dtype=np.float64)[:, None]
            red = self._reduce(v[:, :, None], interval)
            out[k] = {kk: float(np.ravel(vv)[0]) for kk, vv in red.items()}
        return out

    # -- files --------------------------------------------------------------------------------
    def save_draws(self, path: str | Path) -> Path:
        """Write the draws to ``path`` (``.npz``): u, theta, weights, sigma, mode, param names."""
        path = Path(path)
        with open(path, "wb") as fh:
            np.savez_compressed(
                fh, u=self.u, theta=self.draws, weights=self.weights, sigma=self.sigma,
                mode=self.mode, params=np.asarray(self.law.params),
            )  # fmt: skip
        return path


def _check_level(interval: float) -> None:
    if not 0 < interval < 1:
        raise LawError(f"--interval must be in (0, 1), e.g. 0.9; got {interval}")


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(float(obj)) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def load_draws(law: Law, section: Mapping[str, Any], path: str | Path) -> Posterior:
    """Rebuild a :class:`Posterior` from a fit.json ``posterior`` section and its draws file."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            arrs = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise FileFormatError(
            f"{path}: draws file not found; re-run sl fit --uncertainty ... --json"
        ) from None
    except (ValueError, OSError) as err:
        raise FileFormatError(f"{path}: not a draws file written by sl fit ({err})") from None
    names = [str(s) for s in arrs.get("params", [])]
    if names != list(law.params) or "u" not in arrs:
        raise FileFormatError(f"{path}: draws are for parameters {names}, not {list(law.params)}")
    return Posterior(
        law=law, method=str(section.get("method", "?")), u=arrs["u"], weights=arrs["weights"],
        sigma=arrs["sigma"], mode=arrs["mode"], modes=list(section.get("modes", [])),
        likelihood=str(section.get("likelihood", "gaussian")),
        log_residuals=bool(section.get("log_residuals", True)),
        df=float(section.get("df", STUDENT_DF)), diagnostics=dict(section.get("diagnostics", {})),
        status=list(section.get("status", [])), warnings=list(section.get("warnings", [])),
        seconds=float(section.get("seconds") or 0.0),
    )  # fmt: skip


def draws_path(fit_json: str | Path, group: str | None = None) -> Path:
    """Where the draws of ``fit.json`` live: ``fit.draws.npz`` (``fit.<group>.draws.npz``)."""
    p = Path(fit_json)
    stem = p.name[: -len(p.suffix)] if p.suffix else p.name
    mid = (
        ""
        if group is None
        else "." + "".join(c if c.isalnum() or c in "-_" else "_" for c in str(group))
    )
    return p.with_name(f"{stem}{mid}.draws.npz")


# -- construction --------------------------------------------------------------------------------
def posterior(
    fit: FitResult,
    method: str = "laplace",
    *,
    key: Any = 0,
    draws: int = 2000,
    data: Any = None,
    chains: int = 4,
    warmup: int = 500,
    bootstrap: int = 200,
    kind: str = "cases",
    likelihood: str | None = None,
    df: float = STUDENT_DF,
    chain_method: str = "auto",
    importance: bool = False,
    reparam: str = "auto",
) -> Posterior:
    """The posterior of ``fit`` by ``method``.

    Args:
        fit: a :class:`~scalinglaws.FitResult`.
        method: ``"laplace"`` (Gaussian mixture at the modes), ``"bootstrap"`` (B refits in one
            compiled call) or ``"nuts"`` (NumPyro NUTS).
        key: int seed.
        draws: Laplace draws in total; NUTS draws per chain.
        data: arrays for likelihood laws (``law.nll``).
        chains, warmup: NUTS chains and warm-up iterations per chain.
        bootstrap: number of bootstrap replicates B. ``kind``: ``"cases"`` or ``"residuals"``.
        likelihood: ``"gaussian"`` or ``"student-t"`` (default: from the loss).
        df: Student-t degrees of freedom.
        chain_method: NUTS chains ``"auto"`` (parallel when JAX has several devices),
            ``"sequential"`` or ``"parallel"`` (one chain per device at a time).
        reparam: NUTS coordinates: ``"auto"``, ``"laplace"`` or ``"chart"`` (see
            :func:`scalinglaws._nuts.nuts`; ``"auto"`` switches to the chart only for a
            not-identifiable fit of a law with a power term ``b + a·X^k``).
        importance: reweight the Laplace draws by ``p(u | y) / q(u)`` (truncated importance
            sampling). Off by default: with 5+ parameters the weights degenerate easily and the
            intervals then come out too narrow; the importance ESS is always reported in
            ``diagnostics`` and a warning is given when it falls below 1% of the draws.
    """
    import time

    t0 = time.perf_counter()
    law = fit.law
    seed = key if isinstance(key, (int, np.integer)) else 0
    if method not in METHODS:
        raise LawError(f"unknown uncertainty method {method!r}; choose one of {', '.join(METHODS)}")
    lap = laplace(fit, data=data, likelihood=likelihood, df=df)
    modes = [
        {"params": {p: float(v) for p, v in zip(law.params, law.bijector.forward(jnp.asarray(c.mean)), strict=False)},
         "objective": c.objective, "weight": c.weight}
        for c in lap.components
    ]  # fmt: skip
    warn: list[str] = []
    diag: dict[str, Any] = {}
    if method == "laplace":
        u, which = lap.sample_labelled(draws, seed)
        w = np.full(len(u), 1.0 / len(u))
        sigma = np.full(len(u), lap.sigma)
        if lap.likelihood != "nll":
            w_is, ess = _importance_weights(fit, lap, u)
            diag = {"importance_ess": ess}
            if ess < 0.01 * len(u):
                warn.append(
                    f"the Gaussian (Laplace) approximation fits the posterior poorly (importance "
                    f"ESS {ess:.0f} of {len(u)} draws); prefer --uncertainty nuts or bootstrap"
                )
            if importance:
                w = w_is
                for i, m in enumerate(modes):
                    m["weight"] = float(w[which == i].sum())
    elif method == "bootstrap":
        from ._bootstrap import bootstrap as run_bootstrap

        res = run_bootstrap(fit, B=bootstrap, kind=kind, key=seed)
        u = res["u"]
        sigma = res["sigma"]
        if lap.likelihood == "student-t":  # bootstrap σ is an sd; the predictive uses t-scale
            sigma = sigma * math.sqrt((df - 2) / df)
        which = _nearest_mode(law, u, np.stack([c.mean for c in lap.components]))
        w = np.full(len(u), 1.0 / len(u))
        share = np.bincount(which, minlength=len(modes)) / len(u)
        for m, s in zip(modes, share, strict=False):
            m["weight"] = float(s)
        diag = {"replicates": int(len(u)), "requested": int(bootstrap), "kind": kind}
        if len(u) < bootstrap:
            warn.append(
                f"{bootstrap - len(u)} of {bootstrap} bootstrap refits failed and were dropped"
            )
    else:
        from ._nuts import nuts

        res = nuts(
            fit, draws=draws, warmup=warmup, chains=chains, key=seed, likelihood=likelihood,
            df=df, chain_method=chain_method, data=data, approx=lap, reparam=reparam,
        )  # fmt: skip
        u, sigma, which, w = res["u"], res["sigma"], res["mode"], res["weights"]
        keys = ("rhat", "ess", "divergences", "chain_method", "reparam", "pooled_chains")
        diag = {k: res[k] for k in keys}
        diag |= {k: res[k] for k in ("chart_terms", "pilot", "pilot_seconds") if k in res}
        diag |= {
            "chains": chains,
            "draws_per_chain": draws,
            "warmup": warmup,
            "sampler_seconds": res["seconds"],
        }
        warn += res["warnings"]
        for m, wm in zip(modes, res["mode_weights"], strict=False):
            m["weight"] = float(wm)
    post = Posterior(
        law=law, method=method, u=np.asarray(u), weights=np.asarray(w, dtype=np.float64),
        sigma=np.asarray(sigma, dtype=np.float64), mode=np.asarray(which, dtype=np.int64),
        modes=modes, likelihood=lap.likelihood, log_residuals=lap.log_residuals, df=df,
        diagnostics=diag, warnings=warn,
    )  # fmt: skip
    status = _status(fit, post)
    return dataclasses.replace(post, status=status, seconds=time.perf_counter() - t0)


def _importance_weights(fit: FitResult, lap: Any, u: np.ndarray) -> tuple[np.ndarray, float]:
    """Truncated importance weights of Laplace draws ``u`` (Ionides 2008).

    ``log w = log p(y | u, σ̂) + log p(u) − log q(u)`` with ``q`` the Laplace mixture; weights
    are capped at ``√S`` times their mean, normalised, and returned with their effective sample
    size ``(Σw)² / Σw²``.
    """
    law = fit.law
    loss = make_loss(fit.loss, delta=fit.delta)
    xs = {k: jnp.asarray(v) for k, v in fit.x.items()}
    theta = law.bijector.forward(jnp.asarray(u))
    f = np.asarray(_batched(law)(theta, xs))  # (S, n, k)
    r = np.asarray(loss.residual(jnp.asarray(f), jnp.asarray(fit.y))).reshape(len(u), -1)
    sig, df = lap.sigma, lap.df
    if lap.likelihood == "student-t":
        ll = -(df + 1) / 2 * np.sum(np.log1p((r / sig) ** 2 / df), axis=1)
    else:
        ll = -0.5 * np.sum((r / sig) ** 2, axis=1)
    ll = np.where(np.isfinite(ll), ll, -np.inf)
    lp = np.asarray(prior_logpdf(jnp.asarray(u)))
    lq = []
    for c in lap.components:
        L = np.linalg.cholesky(c.cov + 1e-300 * np.eye(len(c.mean)))
        z = np.linalg.solve(L, (u - c.mean).T).T
        lq.append(np.log(c.weight) - 0.5 * np.sum(z**2, axis=1) - np.sum(np.log(np.diag(L))))
    lq = np.logaddexp.reduce(np.stack(lq), axis=0)
    lw = ll + lp - lq
    lw = lw - np.max(lw)
    w = np.exp(lw)
    w = np.minimum(w, np.sqrt(len(w)) * w.mean())
    w = w / w.sum()
    return w, float(1.0 / np.sum(w**2))


def _nearest_mode(law: Law, u: np.ndarray, u_modes: np.ndarray) -> np.ndarray:
    bij = law.bijector
    q = np.asarray(bij.to_unit(bij.forward(jnp.asarray(u))))
    qm = np.asarray(bij.to_unit(bij.forward(jnp.asarray(u_modes))))
    d = np.max(np.abs(q[:, None, :] - qm[None, :, :]), axis=2)
    return np.argmin(d, axis=1)


def _status(fit: FitResult, post: Posterior) -> list[str]:
    """Modes mixed; parameters whose posterior is about as wide as their bounds prior."""
    law = post.law
    out = []
    if len(post.modes) > 1:
        ws = ", ".join(f"{m['weight']:.2f}" for m in post.modes)
        out.append(
            f"multiple modes: {len(post.modes)} optima mixed in the predictions (weights {ws})"
        )
    q = np.asarray(law.bijector.to_unit(jnp.asarray(post.draws)))
    w = post.weights
    sd_q = np.sqrt(np.maximum(w @ (q - w @ q) ** 2, 0))
    wide = [
        p for p, s in zip(law.params, sd_q, strict=False) if s >= UNIDENTIFIED_SHARE / math.sqrt(12)
    ]
    fit_flags = [s for s in fit.status if s.startswith("not identifiable")]
    if wide:
        out.append(
            "not identifiable: the data leave "
            + ", ".join(wide)
            + " about as uncertain as their bounds"
        )
    elif fit_flags:
        out += fit_flags
    return out


def summary_json(post: Posterior, interval: float = 0.9) -> str:
    """``post.summary()`` as a JSON string."""
    return json.dumps(post.summary(interval))
