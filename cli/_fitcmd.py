"""``sl fit``, ``sl predict``, ``sl optimal``, ``sl laws``, ``sl datasets``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import numpy as np

import scalinglaws as sl
from scalinglaws._io import prepare_runs, read_table
from scalinglaws._law import Law
from scalinglaws._posterior import METHODS, draws_path, load_draws, posterior
from scalinglaws._serialize import fit_record, load_fit, save_fit

from ._common import CliError, fmt, parse_assignments, parse_ranges, table


# -- law selection ------------------------------------------------------------------------------
def resolve_law(
    law: str | None, law_file: str | None, formula: str | None, params: tuple[str, ...]
) -> Law:
    """The law named by the CLI options (built-in, from a laws.toml, or a formula)."""
    if formula:
        if law_file:
            raise CliError("give either --formula or --law-file, not both")
        if not params:
            raise CliError("--formula needs the bounds of every parameter: --param NAME=LO:HI ...")
        return sl.formula_law(formula, parse_ranges(params), name=law or "formula")
    if law_file:
        return sl.load_law_file(law_file, law)
    if not law:
        raise CliError("no law given; use --law NAME (see 'sl laws list'), --law-file or --formula")
    return sl.get_law(law)


def law_options(f):
    f = click.option(
        "--param",
        "params",
        multiple=True,
        metavar="NAME=LO:HI",
        help="Bounds of a --formula parameter (repeat).",
    )(f)
    f = click.option(
        "--formula", metavar="EXPR", help='A law as an expression, e.g. "E + A*N**(-alpha)".'
    )(f)
    f = click.option(
        "--law-file",
        type=click.Path(dir_okay=False),
        help="A laws.toml manifest (ScaleBench format).",
    )(f)
    f = click.option(
        "--law",
        "law_name",
        metavar="NAME",
        help="Built-in law (sl laws list), a task law such as farseer:sl_1, or a law of --law-file.",
    )(f)
    return f


def uncertainty_options(f):
    """``--uncertainty`` and its options (shared by sl fit)."""
    opts = [
        click.option(
            "--uncertainty",
            type=click.Choice(METHODS),
            help="Posterior: Laplace at the modes, bootstrap refits, or NumPyro NUTS; stored in --json with draws in <fit>.draws.npz.",
        ),
        click.option(
            "--draws",
            type=int,
            help="Laplace draws (default 2000) or NUTS draws per chain (default 1000).",
        ),
        click.option("--chains", type=int, default=4, show_default=True, help="NUTS chains."),
        click.option(
            "--warmup",
            type=int,
            default=500,
            show_default=True,
            help="NUTS warm-up iterations per chain.",
        ),
        click.option(
            "--nuts-reparam",
            type=click.Choice(["auto", "laplace", "chart"]),
            default="auto",
            show_default=True,
            help="NUTS coordinates: Laplace-whitened, or a power-term chart with a pilot-fitted shear for curved ridges; auto takes the chart for a not-identifiable fit of a law with a term b + a*X^k.",
        ),
        click.option(
            "--bootstrap",
            "n_boot",
            type=int,
            default=200,
            show_default=True,
            help="Bootstrap replicates B.",
        ),
        click.option(
            "--bootstrap-kind",
            type=click.Choice(["cases", "residuals"]),
            default="cases",
            show_default=True,
            help="Resample runs (stratified by size where runs share one) or residuals.",
        ),
        click.option(
            "--interval",
            type=float,
            default=0.9,
            show_default=True,
            help="Central interval reported for the parameters.",
        ),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


# -- sl fit -------------------------------------------------------------------------------------
def _starts(starts: int, grid: str | None, lhs: bool) -> Any:
    if grid:
        if grid != "hoffmann":
            raise CliError(f"unknown --grid {grid!r}; the only named grid is 'hoffmann'")
        return "hoffmann"
    return f"lhs:{starts}" if lhs else starts


@click.command("fit")
@click.argument("runs", required=False, type=click.Path(dir_okay=False))
@law_options
@click.option(
    "--dataset",
    metavar="TASK",
    help="Fit a bundled ScaleBench task's pool (sl datasets list) instead of RUNS; reports R² on its target region.",
)
@click.option(
    "--col",
    "cols",
    multiple=True,
    metavar="NAME=COLUMN",
    help="Map a law input/output to a table column, e.g. --col N=params (repeat).",
)
@click.option("--group", metavar="COLUMN", help="Fit each group of this column separately.")
@click.option(
    "--loss",
    type=click.Choice(sl.LOSSES),
    default="huber-log",
    show_default=True,
    help="Objective.",
)
@click.option(
    "--delta", type=float, default=1e-3, show_default=True, help="Huber threshold (huber-log)."
)
@click.option(
    "--starts", type=int, default=512, show_default=True, help="Number of random starting points."
)
@click.option("--lhs", is_flag=True, help="Latin-hypercube instead of uniform random starts.")
@click.option(
    "--grid",
    metavar="NAME",
    help="Named start grid: 'hoffmann' (4,500 points, Chinchilla-form laws).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--json", "json_path", type=click.Path(dir_okay=False), help="Write the fit to this JSON file."
)
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(dir_okay=False),
    help="Draw the fit against the data (PNG).",
)
@uncertainty_options
def fit_cmd(
    runs,
    law_name,
    law_file,
    formula,
    params,
    dataset,
    cols,
    group,
    loss,
    delta,
    starts,
    lhs,
    grid,
    seed,
    json_path,
    plot_path,
    **unc,
):
    """Fit a law to the runs in RUNS (CSV or parquet).

    \b
    Examples:
      sl fit runs.csv --law chinchilla --grid hoffmann --json fit.json
      sl fit runs.csv --law chinchilla --col N=params --col D=tokens --col loss=val_loss
      sl fit runs.csv --law-file laws.toml --law sl_3
      sl fit runs.csv --formula "E + A*N**(-alpha)" --param E=0:10 --param A=1e-3:1e6 --param alpha=0:2
      sl fit --dataset farseer --law farseer
      sl fit runs.csv --law chinchilla --uncertainty laplace --json fit.json   (+ fit.draws.npz)
    """
    test = None
    if dataset:
        from scalinglaws.datasets import load

        task = load(dataset)
        if runs:
            raise CliError("give either RUNS or --dataset, not both")
        if not (law_name or law_file or formula):
            law_name = f"{task.name}:{task.law_names[0]}"
        elif law_name and not law_file and not formula and law_name in task.law_names:
            law_name = f"{task.name}:{law_name}"
        df, source, test = task.train, f"{dataset} (bundled train split)", task.test
        group = group or task.group
    elif runs:
        df, source = read_table(runs), runs
    else:
        raise CliError(
            "no runs given; pass a CSV/parquet file or --dataset TASK (see sl datasets list)"
        )
    law = resolve_law(law_name, law_file, formula, params)
    columns = parse_assignments(cols, "--col", numeric=False)
    start_spec = _starts(starts, grid, lhs)

    if law.nll is not None:
        prepare = law.extras.get("prepare")
        if prepare is None:
            raise CliError(f"law {law.name!r} is a likelihood law without a table reader")
        arrays = prepare(df, columns, source)
        result = sl.fit(law, arrays, starts=start_spec, key=seed)
        _report(result, source, arrays)
        post = _posterior(result, unc, seed, data=arrays)
        if json_path:
            extra = _save_posterior(post, json_path, None, unc) | _summary(law, result.params)
            save_fit(result, json_path, **extra)
            click.echo(f"wrote {json_path}")
        return

    data = prepare_runs(df, law, source=source, columns=columns, group=group)
    for note in data.notes:
        click.echo(f"note: {note}")
    parts = data.split_groups() if group else {"all": data}
    results, posts = {}, {}
    for name, part in parts.items():
        if len(parts) > 1:
            click.echo(f"\n== group {name} ({part.n} runs)")
        res = sl.fit(law, part, loss=loss, delta=delta, starts=start_spec, key=seed)
        _report(res, source)
        results[name] = res
        posts[name] = _posterior(res, unc, seed)
    if test is not None:
        r2, bad = _target_r2(law, results, test, group, columns)
        if bad:
            click.echo(
                f"\nR² on the target region: undefined; the fitted law is not finite on {bad} of "
                f"the {len(test)} held-out runs (it leaves its domain there)"
            )
        else:
            click.echo(f"\nR² on the target region ({len(test)} held-out runs): {r2:.4f}")
    if json_path:
        if len(results) == 1:
            name = next(iter(results))
            extra = _save_posterior(posts[name], json_path, None, unc)
            extra |= _summary(law, results[name].params)
            rec = fit_record(results[name], notes=data.notes, **extra)
        else:
            recs = {
                g: fit_record(
                    r, **_save_posterior(posts[g], json_path, g, unc), **_summary(law, r.params)
                )
                for g, r in results.items()
            }
            first = next(iter(recs.values()))
            rec = {k: first[k] for k in ("format", "law", "loss") if k in first}
            rec |= {k: first[k] for k in ("law_spec",) if k in first}
            rec["group_column"] = group
            rec["groups"] = recs
        save_fit(rec, json_path)
        click.echo(f"wrote {json_path}")
    if plot_path:
        from scalinglaws._plot import plot_fit

        plot_fit(list(results.values()), plot_path, labels=list(results))
        click.echo(f"wrote {plot_path}")


def _posterior(res: Any, unc: dict, seed: int, data: Any = None) -> Any:
    method = unc.get("uncertainty")
    if not method:
        return None
    if not 0 < unc["interval"] < 1:
        raise CliError(f"--interval must be in (0, 1), e.g. 0.9; got {unc['interval']}")
    if unc.get("draws") is not None and unc["draws"] < 1:
        raise CliError(f"--draws must be >= 1, got {unc['draws']}")
    if unc["chains"] < 1 or unc["warmup"] < 0:
        raise CliError("--chains must be >= 1 and --warmup >= 0")
    draws = unc.get("draws") or (1000 if method == "nuts" else 2000)
    post = posterior(
        res,
        method,
        key=seed,
        draws=draws,
        data=data,
        chains=unc["chains"],
        warmup=unc["warmup"],
        bootstrap=unc["n_boot"],
        kind=unc["bootstrap_kind"],
        reparam=unc["nuts_reparam"],
    )
    _report_posterior(post, unc["interval"])
    return post


def _report_posterior(post: Any, interval: float) -> None:
    s = post.param_summary(interval)
    pct = f"{100 * interval:g}%"
    rows = [
        [p, fmt(v["mean"]), fmt(v["sd"]), fmt(v["lower"]), fmt(v["upper"])] for p, v in s.items()
    ]
    extra = ""
    if post.method == "nuts":
        d = post.diagnostics
        extra = f"   max r_hat {max(d['rhat'].values()):.4f}   min ESS {min(d['ess'].values()):.0f}   divergences {d['divergences']}"
        if d.get("reparam") == "chart":
            extra += (
                "   (chart: "
                + ", ".join(f"{b} + {a}*{x}^{k}" for a, k, b, x in d["chart_terms"])
                + ")"
            )
    click.echo(f"posterior ({post.method}, {post.n_draws} draws, {post.seconds:.2f} s){extra}")
    click.echo(table(rows, ["param", "mean", "sd", f"{pct} lower", f"{pct} upper"]))
    if len(post.modes) > 1:
        click.echo(
            "modes: "
            + "; ".join(
                f"weight {m['weight']:.3f} objective {m['objective']:.6g}" for m in post.modes
            )
        )
    if post.status:
        click.echo("posterior status: " + "; ".join(post.status))
    for w in post.warnings:
        click.echo(f"warning: {w}")


def _save_posterior(post: Any, json_path: str, group: str | None, unc: dict) -> dict:
    if post is None:
        return {}
    path = draws_path(json_path, group)
    post.save_draws(path)
    click.echo(f"wrote {path}")
    return {"posterior": post.summary(unc["interval"]) | {"draws": path.name}}


def _load_posterior(law: Law, rec: dict, group: str | None, fit_json: str) -> Any:
    """The posterior stored with a fit (None when it has none)."""
    if "groups" in rec:
        groups = rec["groups"]
        name = group if group is not None else (next(iter(groups)) if len(groups) == 1 else None)
        rec = groups.get(name, {}) if name is not None else {}
    sec = rec.get("posterior")
    if not sec:
        return None
    if not isinstance(sec, dict) or "draws" not in sec:
        raise CliError(
            f"{fit_json}: the posterior section has no 'draws' file; re-run sl fit --uncertainty ... --json"
        )
    return load_draws(law, sec, Path(fit_json).parent / str(sec["draws"]))


def _target_r2(
    law: Law, results: dict[str, Any], test, group: str | None, columns
) -> tuple[float, int]:
    """R² of the fitted law(s) on the held-out runs, and how many runs it is not finite on."""
    ys, ps = [], []
    parts = {"all": test} if not group else dict(list(test.groupby(group, sort=False)))
    for g, df in parts.items():
        res = results.get(str(g)) or results.get(g) or next(iter(results.values()))
        runs = prepare_runs(df, law, source="test split", columns=columns, min_rows=1)
        ys.append(runs.y)
        ps.append(np.asarray(law(res.params, runs.x)).reshape(runs.y.shape))
    y, p = np.concatenate(ys), np.concatenate(ps)
    bad = int(np.sum(~np.isfinite(p.reshape(len(p), -1)).all(axis=1)))
    y, p = y.ravel(), p.ravel()
    return float(1 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2)), bad


def _summary(law: Law, params: dict[str, float]) -> dict[str, Any]:
    """``{"summary": {...}}`` for the fit JSON when the law reports one (asymptote, exponents)."""
    summary = law.extras.get("summary")
    if summary is None:
        return {}
    values = summary(params).items()
    return {"summary": {k: float(v) for k, v in values if isinstance(v, (int, float, np.number))}}


def _report(res: Any, source: str, arrays: Any = None) -> None:
    law = res.law
    rows = []
    ref = law.reference_values or {}
    for p, (lo, hi) in zip(law.params, law.bounds, strict=False):
        v = res.params[p]
        rows.append([p, fmt(v), f"[{fmt(lo)}, {fmt(hi)}]", fmt(ref[p]) if p in ref else ""])
    if arrays is not None and law.nll is not None and "weight" in arrays:
        w = np.asarray(arrays["weight"])
        click.echo(
            f"law {law.name} fitted to {int(w.sum())} problems from {source} (maximum "
            f"likelihood on {int(np.sum(w > 0))} distinct (samples, correct) pairs)"
        )
    else:
        click.echo(f"law {law.name} fitted to {res.n_runs} runs from {source} ({res.loss} loss)")
    click.echo(table(rows, ["param", "value", "bounds", "reference"]))
    click.echo(
        f"objective {res.objective:.6g}   starts {res.n_starts}   converged {res.n_converged}   modes {len(res.modes)}   {res.seconds:.2f} s"
    )
    click.echo("status: " + "; ".join(res.status))
    summary = law.extras.get("summary")
    if summary is not None:
        values = summary(res.params)
        for k, v in values.items():
            click.echo(f"{k}: {fmt(v) if isinstance(v, (int, float)) else v}")
        if "power_law_exponent" in values:
            click.echo(
                "(implied power law: -log pass@k ~ power_law_prefactor * k^(-power_law_exponent) "
                "for large k; local_exponent_kK = -d log(-log pass@k)/d log k at k = K)"
            )


# -- sl predict / sl optimal --------------------------------------------------------------------
def _fit_params(law: Law, rec: dict, group: str | None, path: str) -> dict[str, float]:
    if "groups" in rec:
        groups = rec["groups"]
        if group is None:
            if len(groups) == 1:
                return next(iter(groups.values()))["params"]
            raise CliError(
                f"{path} holds per-group fits ({', '.join(groups)}); pick one with --group NAME"
            )
        if group not in groups:
            raise CliError(f"{path} has no group {group!r}; choose one of {', '.join(groups)}")
        return groups[group]["params"]
    return rec["params"]


@click.command("predict")
@click.argument("fit_json", type=click.Path(dir_okay=False))
@click.option(
    "--at",
    "points",
    multiple=True,
    required=True,
    metavar="NAME=V,...",
    help="Inputs to predict at, e.g. --at N=7e10,D=1.4e12 (repeat for several points).",
)
@click.option("--group", metavar="NAME", help="Group of a per-group fit.")
@click.option(
    "--interval",
    type=float,
    default=0.9,
    show_default=True,
    help="Central interval of the prediction (needs a fit with --uncertainty).",
)
@click.option(
    "--new-run",
    is_flag=True,
    help="Interval for a new run (adds run-to-run noise), not for the law itself.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def predict_cmd(fit_json, points, group, interval, new_run, as_json):
    """Predict with a saved fit: sl predict fit.json --at N=7e10,D=1.4e12

    With a posterior (sl fit --uncertainty ...) it prints the mean and a central interval:
    {"prediction", "lower", "upper"}.
    """
    if not 0 < interval < 1:
        raise CliError(f"--interval must be in (0, 1), e.g. 0.9; got {interval}")
    law, rec = load_fit(fit_json)
    params = _fit_params(law, rec, group, fit_json)
    post = _load_posterior(law, rec, group, fit_json)
    out = []
    for pt in points:
        x = parse_assignments([pt], "--at")
        missing = [k for k in law.inputs if k not in x]
        if missing:
            raise CliError(
                f"--at {pt!r} lacks {', '.join(missing)}; law {law.name} needs {', '.join(law.inputs)}"
            )
        extra = [k for k in x if k not in law.inputs]
        if extra:
            raise CliError(
                f"--at {pt!r}: {', '.join(extra)} is not an input of law {law.name} ({', '.join(law.inputs)})"
            )
        xs = {k: np.array([x[k]]) for k in law.inputs}
        y = np.atleast_1d(law(params, xs)).ravel()
        one = lambda v: float(v[0]) if v.size == 1 else [float(t) for t in v]  # noqa: E731
        o = {"at": x, "prediction": one(y)}
        if post is not None:
            r = post.predict(xs, interval=interval, new_run=new_run)
            o = {"at": x, "prediction": one(np.ravel(r["mean"])), "lower": one(np.ravel(r["lower"])),
                 "upper": one(np.ravel(r["upper"])), "median": one(np.ravel(r["median"])),
                 "point": one(y), "interval": interval, "new_run": bool(new_run), "method": post.method}  # fmt: skip
        out.append(o)
    if as_json:
        click.echo(json.dumps(out[0] if len(out) == 1 else out))
        return
    f = lambda p: fmt(p) if not isinstance(p, list) else ", ".join(fmt(v) for v in p)  # noqa: E731
    for o in out:
        at = ", ".join(f"{k}={fmt(v)}" for k, v in o["at"].items())
        if "lower" in o:
            what = "new run" if new_run else "law"
            click.echo(
                f"{at}: {f(o['prediction'])}  {100 * interval:g}% interval ({what}) [{f(o['lower'])}, {f(o['upper'])}]"
            )
        else:
            click.echo(f"{at}: {f(o['prediction'])}")
    if post is None:
        click.echo(
            "note: no interval; this fit has no posterior (re-run sl fit with --uncertainty laplace --json)"
        )
    elif post.warnings or post.status:
        click.echo("posterior status: " + "; ".join(post.status + post.warnings))


@click.command("optimal")
@click.argument("fit_json", type=click.Path(dir_okay=False))
@click.option(
    "--compute",
    required=True,
    type=float,
    metavar="FLOPS",
    help="Training compute C (FLOPs), with C = 6·N·D.",
)
@click.option("--group", metavar="NAME", help="Group of a per-group fit.")
@click.option(
    "--interval",
    type=float,
    default=0.9,
    show_default=True,
    help="Central interval (needs a fit with --uncertainty).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def optimal_cmd(fit_json, compute, group, interval, as_json):
    """Compute-optimal N*, D* and the predicted loss at a compute budget (with intervals when
    the fit has a posterior)."""
    law, rec = load_fit(fit_json)
    opt = law.extras.get("optimal")
    if opt is None:
        raise CliError(
            f"law {law.name} has no closed-form compute-optimal allocation (chinchilla has)"
        )
    if not compute > 0:
        raise CliError(f"--compute must be > 0 FLOPs, got {compute}")
    if not 0 < interval < 1:
        raise CliError(f"--interval must be in (0, 1), e.g. 0.9; got {interval}")
    params = _fit_params(law, rec, group, fit_json)
    r = {k: float(v) for k, v in opt(params, compute).items()}
    out = {
        "compute": compute,
        "N": r["N"],
        "D": r["D"],
        "loss": r["loss"],
        "tokens_per_param": r["D"] / r["N"],
    }
    post = _load_posterior(law, rec, group, fit_json)
    if post is not None:
        iv = post.optimal(compute, interval)
        out["interval"] = interval
        for k in ("N", "D", "loss"):
            out[f"{k}_lower"], out[f"{k}_upper"] = iv[k]["lower"], iv[k]["upper"]
    if as_json:
        click.echo(json.dumps(out))
        return
    click.echo(
        f"C = {fmt(compute)} FLOPs: N* = {fmt(out['N'])}, D* = {fmt(out['D'])} ({out['tokens_per_param']:.1f} tokens/param), loss = {out['loss']:.4f}"
    )
    if post is not None:
        pct = f"{100 * interval:g}%"
        click.echo(
            f"{pct} intervals ({post.method}): N* [{fmt(out['N_lower'])}, {fmt(out['N_upper'])}], D* [{fmt(out['D_lower'])}, {fmt(out['D_upper'])}], loss [{out['loss_lower']:.4f}, {out['loss_upper']:.4f}]"
        )
    else:
        click.echo(
            "note: no intervals; this fit has no posterior (re-run sl fit with --uncertainty laplace --json)"
        )


# -- sl plot ------------------------------------------------------------------------------------
@click.command("plot")
@click.argument("fit_json", type=click.Path(dir_okay=False))
@click.option(
    "--to",
    "to",
    required=True,
    metavar="NAME=V,...",
    help="Target point to extrapolate to, e.g. --to N=7e10,D=1.4e12.",
)
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Output image (PNG, PDF or SVG).",
)
@click.option(
    "--data",
    "data_path",
    type=click.Path(dir_okay=False),
    help="Runs the fit used (drawn as points).",
)
@click.option(
    "--held-out",
    "held_out_path",
    type=click.Path(dir_okay=False),
    help="Held-out runs to overlay (e.g. the large runs).",
)
@click.option(
    "--dataset",
    metavar="TASK",
    help="Overlay a bundled task: its pool as data, its target region as held-out runs.",
)
@click.option(
    "--col",
    "cols",
    multiple=True,
    metavar="NAME=COLUMN",
    help="Map a law input/output to a column of --data/--held-out.",
)
@click.option(
    "--sweep", metavar="INPUT", help="Input on the x axis (default: the law's last input)."
)
@click.option("--group", metavar="NAME", help="Group of a per-group fit.")
@click.option("--new-run", is_flag=True, help="Bands for a new run (adds run-to-run noise).")
def plot_cmd(fit_json, to, output, data_path, held_out_path, dataset, cols, sweep, group, new_run):
    """Extrapolation plot: the law with 50% and 90% bands out to --to, with the data and held-out runs.

    \b
    Example:
      sl fit --dataset farseer --law farseer --uncertainty laplace --json fit.json
      sl plot fit.json --to N=2.5e10,D=4.5e11 --dataset farseer -o farseer.png
    """
    import matplotlib

    matplotlib.use("Agg")
    from scalinglaws._plot_uncertainty import plot_extrapolation

    law, rec = load_fit(fit_json)
    post = _load_posterior(law, rec, group, fit_json)
    if post is None:
        raise CliError(
            f"{fit_json} has no posterior draws; re-run sl fit with --uncertainty laplace --json {fit_json}"
        )
    target = parse_assignments([to], "--to")
    bad = sorted(set(law.inputs) ^ set(target))
    if bad:
        raise CliError(
            f"--to {to!r} must give exactly the inputs of law {law.name}: {', '.join(law.inputs)}"
        )
    if sweep is not None and sweep not in law.inputs:
        raise CliError(
            f"--sweep {sweep!r} is not an input of law {law.name} ({', '.join(law.inputs)})"
        )
    columns = parse_assignments(cols, "--col", numeric=False)
    data = held = None
    if dataset:
        from scalinglaws.datasets import load

        task = load(dataset)
        data = prepare_runs(task.train, law, source=f"{dataset} pool", columns=columns, min_rows=1)
        held = prepare_runs(task.test, law, source=f"{dataset} target", columns=columns, min_rows=1)
    if data_path:
        data = prepare_runs(
            read_table(data_path), law, source=data_path, columns=columns, min_rows=1
        )
    if held_out_path:
        held = prepare_runs(
            read_table(held_out_path), law, source=held_out_path, columns=columns, min_rows=1
        )
    plot_extrapolation(
        post, output, data=data, held_out=held, to=target, sweep=sweep, new_run=new_run
    )
    click.echo(f"wrote {output}")


# -- sl laws / sl datasets ------------------------------------------------------------------------
@click.group("laws")
def laws_group():
    """List and describe laws."""


@laws_group.command("list")
@click.option(
    "--law-file", type=click.Path(dir_okay=False), help="List the laws of a laws.toml file."
)
def laws_list(law_file):
    """Built-in laws (or those of a laws.toml)."""
    if law_file:
        for name in sl.laws_in_file(law_file):
            law = sl.load_law_file(law_file, name)
            click.echo(f"{name:<10s} {law.n_params:>2d} params   {law.equation[:80]}")
        return
    rows = []
    for name in sl.list_laws():
        law = sl.get_law(name)
        rows.append([name, ", ".join(law.inputs), str(law.n_params), law.equation])
    click.echo(table(rows, ["law", "inputs", "params", "equation"]))
    click.echo("\nTask laws: sl laws show farseer:sl_1 (see sl datasets list).")


@laws_group.command("show")
@click.argument("name")
@click.option("--law-file", type=click.Path(dir_okay=False))
def laws_show(name, law_file):
    """Equation, inputs, parameters with bounds, and reference of a law."""
    law = sl.load_law_file(law_file, name) if law_file else sl.get_law(name)
    click.echo(law.describe())


@click.group("datasets")
def datasets_group():
    """Bundled data (ScaleBench, CC-BY-4.0)."""


@datasets_group.command("list")
def datasets_list():
    """The bundled tasks."""
    from scalinglaws.datasets import list_tasks, load

    rows = []
    for name in list_tasks():
        t = load(name)
        rows.append(
            [
                name,
                str(len(t.train)),
                str(len(t.test)),
                ", ".join(t.features),
                str(len(t.law_names)),
            ]
        )
    click.echo(table(rows, ["task", "pool", "target", "features", "laws"]))


@datasets_group.command("show")
@click.argument("name")
def datasets_show(name):
    """Columns, cost model, budget checkpoints and laws of a task."""
    from scalinglaws.datasets import load

    t = load(name)
    click.echo(f"{t.name}  ({t.path})")
    click.echo(f"  pool rows    : {len(t.train)}   target rows: {len(t.test)}")
    click.echo(f"  features     : {', '.join(t.features)}")
    click.echo(f"  targets      : {', '.join(t.targets)}")
    click.echo(f"  group column : {t.group}")
    click.echo(f"  cost         : {t.cost}")
    click.echo(
        f"  checkpoints  : {', '.join(f'{b:g}' for b in t.budget_fractions)} of the pool's cost"
    )
    click.echo(f"  laws         : {', '.join(t.law_names)}")
    click.echo("  source       : Li et al. 2026, arXiv 2604.22753 (ScaleBench), CC-BY-4.0")


COMMANDS = [fit_cmd, predict_cmd, optimal_cmd, plot_cmd, laws_group, datasets_group]
