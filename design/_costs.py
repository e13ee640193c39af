"""Cost models: the cost of one run as a function of its configuration.

Three kinds:

- ``expression``: arithmetic over columns, e.g. ``"6*N*D"`` (safe evaluation, no Python eval);
- ``column``: a column of the table holds the cost;
- ``fitted``: a power law fitted to measured costs by least squares on logs,
  ``log c = b₀ + Σ_i b_i log x_i`` (for positive features x_i).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd

from scalinglaws._errors import DataError
from scalinglaws.datasets import task_cost

from ._budget import DesignError

__all__ = ["CostModel", "cost_model", "fit_cost_model"]


@dataclasses.dataclass(frozen=True)
class CostModel:
    """Cost of one run. ``model(df) -> (n,)`` positive, finite costs.

    Attributes:
        kind: ``"expression"``, ``"column"`` or ``"fitted"``.
        spec: the expression, the column name, or a description of the fitted law.
        features: fitted models: the feature columns. ``coef``: ``(b₀, b₁, …)``.
    """

    kind: str
    spec: str
    features: tuple[str, ...] = ()
    coef: tuple[float, ...] = ()

    def __call__(self, df: pd.DataFrame, *, what: str = "table") -> np.ndarray:
        if self.kind == "column":
            if self.spec not in df.columns:
                raise DesignError(
                    f"cost column {self.spec!r} is not in the {what}; its columns are "
                    f"{', '.join(map(str, df.columns))}"
                )
            c = pd.to_numeric(df[self.spec], errors="coerce").to_numpy(dtype=np.float64)
        elif self.kind == "fitted":
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
                f"cost {self.spec!r} is {float(c[i]):.6g} on row {i + 1} of the {what}; every run needs a "
                "positive finite cost (fix the row or the cost model)"
            )
        return np.asarray(c, dtype=np.float64)


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
    x = runs[list(features)].to_numpy(dtype=np.float64)
    c = runs[cost].to_numpy(dtype=np.float64)
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
    return CostModel("fitted", desc, tuple(features), tuple(float(v) for v in coef))
