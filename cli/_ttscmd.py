"""``sl saturation fit.json --epsilon 1e-3``: the budget beyond which more samples stop paying."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
import numpy as np

from scalinglaws import _tts  # noqa: F401  (registers the test-time laws)
from scalinglaws._serialize import load_fit

from ._common import CliError, fmt, table


def _draws(law: Any, record: Mapping[str, Any], fit_json: str = ".") -> np.ndarray | None:
    """Posterior parameter draws (n, p) of a fit record, if any.

    ``sl fit --uncertainty`` stores them in a draws file named by ``posterior.draws``
    (read with :func:`scalinglaws._posterior.load_draws`); inline ``samples``/``draws`` lists
    are accepted too. Weighted draws are resampled by their weights.
    """
    post = record.get("posterior")
    if not isinstance(post, Mapping):
        return None
    if isinstance(post.get("draws"), str):
        from scalinglaws._posterior import load_draws

        p = load_draws(law, post, Path(fit_json).parent / post["draws"])
        theta, w = np.asarray(p.draws), np.asarray(p.weights, dtype=np.float64)
        if len(theta) > 1000 or not np.allclose(w, w[0]):
            idx = np.random.default_rng(0).choice(
                len(theta), size=min(len(theta), 1000), p=w / w.sum()
            )
            theta = theta[idx]
        return theta
    for key in ("samples", "draws"):
        s = post.get(key)
        if isinstance(s, Mapping) and all(p in s for p in law.params):
            return np.column_stack(
                [np.asarray(s[p], dtype=np.float64).reshape(-1) for p in law.params]
            )
        if isinstance(s, list) and s and isinstance(s[0], Mapping):
            return np.asarray([[float(d[p]) for p in law.params] for d in s])
        if isinstance(s, list) and s and isinstance(s[0], list) and len(s[0]) == law.n_params:
            return np.asarray(s, dtype=np.float64)
    return None


def saturation_report(
    law: Any, params: Mapping[str, float], epsilon: float, draws: Any = None
) -> dict:
    """Saturation budget (and a 90% interval over posterior draws) plus the law's summary."""
    sat = law.extras["saturation"]
    out: dict[str, Any] = {"law": law.name, "epsilon": epsilon, "saturation": sat(params, epsilon)}
    out["input"] = law.inputs[0]
    out["value_at_saturation"] = (
        float(law(params, {law.inputs[0]: [out["saturation"]]})[0])
        if math.isfinite(out["saturation"]) and out["saturation"] > 0
        else None
    )
    if draws is not None and len(draws):
        vals = np.asarray(
            [sat(dict(zip(law.params, d, strict=True)), epsilon) for d in draws], dtype=np.float64
        )
        out["lower"], out["upper"] = (
            float(v) for v in np.quantile(vals, [0.05, 0.95], method="nearest")
        )
    if "summary" in law.extras:
        out["summary"] = {k: float(v) for k, v in law.extras["summary"](params).items()}
    return out


@click.command("saturation")
@click.argument("fit_json", type=click.Path(dir_okay=False))
@click.option(
    "--epsilon", "-e", type=float, default=1e-3, show_default=True,
    help="Marginal gain below which more budget stops paying (per extra sample; per doubling "
    "of compute for sigmoid-compute).",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def saturation(fit_json: str, epsilon: float, as_json: bool) -> None:
    """The saturation budget of a test-time scaling fit: the smallest budget whose marginal
    gain falls below EPSILON.

    \b
    pass-at-k-beta : smallest k with E[pass@(k+1)] - E[pass@k] < eps
    pass-at-k-scaled-beta: the same for p = c*q, q ~ Beta(alpha, beta)
    coverage-power : smallest k (past the steepest part) with c(k+1) - c(k) < eps
    ttspm          : N* = ceil(ln(eps/(F_max p)) / ln(1 - p))
    sigmoid-compute: smallest compute C (past the midpoint) with R(2C) - R(C) < eps

    With posterior draws in the fit (sl fit --uncertainty ...), a 90% interval is added.
    """
    if not (math.isfinite(epsilon) and epsilon > 0):
        raise CliError(f"--epsilon must be a positive number, got {epsilon}; e.g. --epsilon 1e-3")
    law, record = load_fit(fit_json)
    if "saturation" not in law.extras:
        raise CliError(
            f"{fit_json}: law {law.name} has no saturation budget; it is defined for "
            "pass-at-k-beta, pass-at-k-scaled-beta, coverage-power, ttspm and sigmoid-compute "
            "fits"
        )
    groups = record.get("groups")
    if isinstance(groups, Mapping) and groups:
        fits = {
            str(g): (r.get("params", {}), _draws(law, r, fit_json))
            for g, r in groups.items()
            if isinstance(r, Mapping)
        }
    else:
        fits = {"all": (record["params"], _draws(law, record, fit_json))}
    reports = {}
    for g, (params, draws) in fits.items():
        missing = [p for p in law.params if p not in params]
        if missing:
            raise CliError(
                f"{fit_json}: group {g} lacks parameters {missing}; re-create it with sl fit --json"
            )
        reports[g] = saturation_report(law, params, epsilon, draws)
    if as_json:
        body = reports["all"] if list(reports) == ["all"] else {"groups": reports}
        click.echo(json.dumps(_finite(body), indent=2))
        return
    for g, rep in reports.items():
        head = f"{law.name}: saturation {rep['input']} at epsilon={fmt(epsilon)}"
        click.echo(head if g == "all" else f"[{g}] {head}")
        rows = [["saturation", _fmt_budget(rep["saturation"])]]
        if "lower" in rep:
            rows.append(
                ["90% interval", f"[{_fmt_budget(rep['lower'])}, {_fmt_budget(rep['upper'])}]"]
            )
        if rep["value_at_saturation"] is not None:
            rows.append([f"{law.outputs[0]} there", fmt(rep["value_at_saturation"])])
        for k, v in rep.get("summary", {}).items():
            rows.append([k, fmt(v)])
        click.echo(table(rows, ["quantity", "value"]))


def _fmt_budget(v: float) -> str:
    if not math.isfinite(v):
        return "not reached (> 1e18)"
    return str(int(v)) if v < 1e15 and v == int(v) else fmt(v)


def _finite(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


COMMANDS = [saturation]
