"""Cost models: the cost of one run as a function of its configuration.

Three kinds:

- ``expression``: arithmetic over columns, e.g. ``"6*N*D"`` (safe evaluation, no Python eval);
- ``column``: a column of the table holds the cost;
- ``fitted``: a power law fitted to measured costs by least squares on logs,
  ``log c = b₀ + Σ_i b_i log x_i`` (for positive features x_i); ``"fit:COL"`` (or
  ``"fit:COL~N,D"`` to name the features) fits it to the column COL of the observed runs
  (:func:`fitted_cost_model`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd

from scalinglaws._errors import DataError
from scalinglaws.datasets import task_cost

from ._budget import DesignError

__all__ = ["CostModel", "cost_model", "fit_cost_model", "fitted_cost_model", "is_fitted_spec"]


@dataclasses.dataclass(frozen=True)
class CostModel:
    """Cost of one run. ``model(df) -> (n,)`` positive, finite costs.

    Attributes:
        kind: ``"expression"``, ``"column"`` or ``"fitted"``.
        spec: the expression, the column name, or a description of the fitted law.
        features: fitted models: the feature columns. ``coef``: ``(b₀, b₁, …)``.
        measured: fitted models: the column of measured costs they were fitted to (a run that
            has it is charged what it measured, see :meth:`charged`). ``n_fit``, ``r2_log``:
            how many runs were fitted and the R² of the fit on log costs.
    """

    kind: str
    spec: str
    features: tuple[str, ...] = ()
    coef: tuple[float, ...] = ()
    measured: str = ""
    n_fit: int = 0
    r2_log: float = float("nan")

    def __call__(self, df: pd.DataFrame, *, what: str = "table") -> np.ndarray:
        if self.kind == "column":
            if self.spec not in df.columns:
                raise DesignError(
                    f"cost column {self.spec!r} is not in the {what}; its columns are "
                    f"{', '.join(map(str, df.columns))}"
                )
            c = pd.to_numeric(df[self.spec], errors="coerce").to_numpy(dtype=np.float64)
        elif self.kind == "fitted":
            missing = [f for f in self.features if f not in df.columns]
            if missing:
                raise DesignError(
                    f"the fitted cost model needs column(s) {', '.join(missing)}, which the "
                    f"{what} lacks; its columns are {', '.join(map(str, df.columns))}"
                )
            x = np.column_stack([np.log(df[f].to_numpy(dtype=np.float64)) for f in self.features])
            c = np.exp(self.coef[0] + x @ np.asarray(self.coef[1:]))
        else:
            try:
                c = task_cost(self.spec, df)
            except DataError as err:
                raise DesignError(f"{err} (in the {what})") from None
        bad = ~(np.isfinite(c) & (c > 0))
        if bad.any():
            i = int(np.argmax(bad))
            raise DesignError(
                f"cost {self.spec!r} is {float(c[i]):.6g} on row {i + 1} of the {what}; every run "
                "needs a positive finite cost (fix the row or the cost model)"
            )
        return np.asarray(c, dtype=np.float64)

    def charged(self, df: pd.DataFrame, *, what: str = "table") -> np.ndarray:
        """What runs already made cost: a fitted model charges each run its measured cost
        where the table has a positive one, and its prediction elsewhere."""
        c = self(df, what=what)
        if self.kind == "fitted" and self.measured in df.columns:
            m = pd.to_numeric(df[self.measured], errors="coerce").to_numpy(dtype=np.float64)
            c = np.where(np.isfinite(m) & (m > 0), m, c)
        return c


def cost_model(spec: str | CostModel, columns: Sequence[str] = ()) -> CostModel:
    """A :class:`CostModel` from a spec: a column name (if ``spec`` is one of ``columns``) or an
    expression such as ``"6*N*D"``."""
    if isinstance(spec, CostModel):
        return spec
    text = str(spec).strip()
    if not text:
        raise DesignError("cost model is empty; give an expression such as 6*N*D or a column")
    if text in set(map(str, columns)):
        return CostModel("column", text)
    return CostModel("expression", text)


def fit_cost_model(runs: pd.DataFrame, features: Sequence[str], cost: str = "cost") -> CostModel:
    """Fit ``log c = b₀ + Σ b_i log x_i`` to measured costs (column ``cost``) of ``runs``.

    Args:
        runs: table with the feature columns and the measured cost, n ≥ len(features) + 1 rows.
        features: positive feature columns the cost depends on.
        cost: column of measured costs.
    """
    missing = [c for c in (*features, cost) if c not in runs.columns]
    if missing:
        raise DesignError(
            f"cannot fit a cost model: column(s) {', '.join(missing)} missing from the runs; "
            f"its columns are {', '.join(map(str, runs.columns))}"
        )
    num = runs[[*features, cost]].apply(pd.to_numeric, errors="coerce")  # text: not usable
    x = num[list(features)].to_numpy(dtype=np.float64)
    c = num[cost].to_numpy(dtype=np.float64)
    ok = np.all(x > 0, axis=1) & (c > 0) & np.isfinite(c)
    if ok.sum() < len(features) + 1:
        raise DesignError(
            f"cannot fit a cost model: {int(ok.sum())} runs with positive {cost!r} and features, "
            f"need at least {len(features) + 1}; give a cost expression instead"
        )
    a = np.column_stack([np.ones(ok.sum()), np.log(x[ok])])
    coef, *_ = np.linalg.lstsq(a, np.log(c[ok]), rcond=None)
    desc = "exp(" + " + ".join([f"{coef[0]:.4g}"] + [
        f"{b:.4g}*log({f})" for b, f in zip(coef[1:], features, strict=False)
    ]) + ")"  # fmt: skip
    resid = np.log(c[ok]) - a @ coef
    ss = float(np.sum((np.log(c[ok]) - np.log(c[ok]).mean()) ** 2))
    r2 = 1.0 - float(resid @ resid) / ss if ss > 0 else float("nan")
    return CostModel(
        "fitted", desc, tuple(features), tuple(float(v) for v in coef), measured=cost,
        n_fit=int(ok.sum()), r2_log=r2,
    )  # fmt: skip


FIT_PREFIX = "fit:"


def is_fitted_spec(spec: object) -> bool:
    """True for a ``"fit:COL"`` / ``"fit:COL~F1,F2"`` cost spec."""
    return isinstance(spec, str) and spec.strip().lower().startswith(FIT_PREFIX)


def fitted_cost_model(
    spec: str, runs: pd.DataFrame | None, default_features: Sequence[str]
) -> CostModel:
    """The cost model of a ``"fit:COL"`` spec: :func:`fit_cost_model` on the measured costs COL
    of ``runs``, as a power law of ``default_features`` (the law's inputs, those positive in
    every run) or of the features after ``~`` (``"fit:gpu_hours~N,D"``)."""
    body = spec.strip()[len(FIT_PREFIX) :]
    col, _, feats = body.partition("~")
    col = col.strip()
    if not col:
        raise DesignError(
            f"cost {spec!r} names no column; write fit:COL, COL the runs' measured costs"
        )
    if runs is None or not len(runs):
        raise DesignError(
            f"cost {spec!r} is fitted to the measured costs of the observed runs; give the runs "
            "(--runs), or a cost expression such as 6*N*D"
        )
    if feats.strip():
        features = [f.strip() for f in feats.split(",") if f.strip()]
    else:
        features = []
        for f in default_features:
            v = pd.to_numeric(runs[f], errors="coerce") if f in runs.columns else None
            if v is not None and bool((v > 0).all()) and v.nunique() > 1:
                features.append(f)
        if not features:
            raise DesignError(
                f"cost {spec!r}: no input of the law is positive and varies over the runs; name "
                "the features, e.g. fit:COL~N,D"
            )
    return fit_cost_model(runs, features, col)
