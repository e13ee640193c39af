"""``sl fit``, ``sl predict``, ``sl optimal``, ``sl laws``, ``sl datasets``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click
import numpy as np

import scalinglaws as sl
from scalinglaws._io import Runs, prepare_runs, read_table
from scalinglaws._law import Law
from scalinglaws._serialize import fit_record, load_fit, save_fit

from ._common import CliError, fmt, parse_assignments, parse_ranges, table


# -- law selection ------------------------------------------------------------------------------
def resolve_law(law: str | None, law_file: str | None, formula: str | None, params: tuple[str, ...]) -> Law:
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
    f = click.option("--param", "params", multiple=True, metavar="NAME=LO:HI", help="Bounds of a --formula parameter (repeat).")(f)
    f = click.option("--formula", metavar="EXPR", help='A law as an expression, e.g. "E + A*N**(-alpha)".')(f)
    f = click.option("--law-file", type=click.Path(dir_okay=False), help="A laws.toml manifest (ScaleBench format).")(f)
    f = click.option("--law", "law_name", metavar="NAME", help="Built-in law (sl laws list), a task law such as farseer:sl_1, or a law of --law-file.")(f)
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
@click.option("--dataset", metavar="TASK", help="Fit a bundled ScaleBench task's pool (sl datasets list) instead of RUNS; reports R² on its target region.")
@click.option("--col", "cols", multiple=True, metavar="NAME=COLUMN", help="Map a law input/output to a table column, e.g. --col N=params (repeat).")
@click.option("--group", metavar="COLUMN", help="Fit each group of this column separately.")
@click.option("--loss", type=click.Choice(sl.LOSSES), default="huber-log", show_default=True, help="Objective.")
@click.option("--delta", type=float, default=1e-3, show_default=True, help="Huber threshold (huber-log).")
@click.option("--starts", type=int, default=512, show_default=True, help="Number of random starting points.")
@click.option("--lhs", is_flag=True, help="Latin-hypercube instead of uniform random starts.")
@click.option("--grid", metavar="NAME", help="Named start grid: 'hoffmann' (4,500 points, Chinchilla-form laws).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the fit to this JSON file.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), help="Draw the fit against the data (PNG).")
def fit_cmd(runs, law_name, law_file, formula, params, dataset, cols, group, loss, delta, starts, lhs, grid, seed, json_path, plot_path):
    """Fit a law to the runs in RUNS (CSV or parquet).

    \b
    Examples:
      sl fit runs.csv --law chinchilla --grid hoffmann --json fit.json
      sl fit runs.csv --law chinchilla --col N=params --col D=tokens --col loss=val_loss
      sl fit runs.csv --law-file laws.toml --law sl_3
      sl fit runs.csv --formula "E + A*N**(-alpha)" --param E=0:10 --param A=1e-3:1e6 --param alpha=0:2
      sl fit --dataset farseer --law farseer
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
        raise CliError("no runs given; pass a CSV/parquet file or --dataset TASK (see sl datasets list)")
    law = resolve_law(law_name, law_file, formula, params)
    columns = parse_assignments(cols, "--col", numeric=False)
    start_spec = _starts(starts, grid, lhs)

    if law.nll is not None:
        prepare = law.extras.get("prepare")
        if prepare is None:
            raise CliError(f"law {law.name!r} is a likelihood law without a table reader")
        arrays = prepare(df, columns, source)
        result = sl.fit(law, arrays, starts=start_spec, key=seed)
        _report(result, source)
        if json_path:
            save_fit(result, json_path)
            click.echo(f"wrote {json_path}")
        return

    data = prepare_runs(df, law, source=source, columns=columns, group=group)
    for note in data.notes:
        click.echo(f"note: {note}")
    parts = data.split_groups() if group else {"all": data}
    results = {}
    for name, part in parts.items():
        if len(parts) > 1:
            click.echo(f"\n== group {name} ({part.n} runs)")
        res = sl.fit(law, part, loss=loss, delta=delta, starts=start_spec, key=seed)
        _report(res, source)
        results[name] = res
    if test is not None:
        r2 = _target_r2(law, results, test, group, columns)
        click.echo(f"\nR² on the target region ({len(test)} held-out runs): {r2:.4f}")
    if json_path:
        if len(results) == 1:
            rec = fit_record(next(iter(results.values())), notes=data.notes)
        else:
            recs = {g: fit_record(r) for g, r in results.items()}
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


def _target_r2(law: Law, results: dict[str, Any], test, group: str | None, columns) -> float:
    ys, ps = [], []
    parts = {"all": test} if not group else dict(list(test.groupby(group, sort=False)))
    for g, df in parts.items():
        res = results.get(str(g)) or results.get(g) or next(iter(results.values()))
        runs = prepare_runs(df, law, source="test split", columns=columns, min_rows=1)
        ys.append(runs.y)
        ps.append(np.asarray(law(res.params, runs.x)).reshape(runs.y.shape))
    y, p = np.concatenate(ys).ravel(), np.concatenate(ps).ravel()
    return float(1 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2))


def _report(res: Any, source: str) -> None:
    law = res.law
    rows = []
    ref = law.reference_values or {}
    for p, (lo, hi) in zip(law.params, law.bounds):
        v = res.params[p]
        rows.append([p, fmt(v), f"[{fmt(lo)}, {fmt(hi)}]", fmt(ref[p]) if p in ref else ""])
    click.echo(f"law {law.name} fitted to {res.n_runs} runs from {source} ({res.loss} loss)")
    click.echo(table(rows, ["param", "value", "bounds", "reference"]))
    click.echo(f"objective {res.objective:.6g}   starts {res.n_starts}   converged {res.n_converged}   modes {len(res.modes)}   {res.seconds:.2f} s")
    click.echo("status: " + "; ".join(res.status))
    summary = law.extras.get("summary")
    if summary is not None:
        for k, v in summary(res.params).items():
            click.echo(f"{k}: {fmt(v) if isinstance(v, (int, float)) else v}")


# -- sl predict / sl optimal --------------------------------------------------------------------
def _fit_params(law: Law, rec: dict, group: str | None, path: str) -> dict[str, float]:
    if "groups" in rec:
        groups = rec["groups"]
        if group is None:
            if len(groups) == 1:
                return next(iter(groups.values()))["params"]
            raise CliError(f"{path} holds per-group fits ({', '.join(groups)}); pick one with --group NAME")
        if group not in groups:
            raise CliError(f"{path} has no group {group!r}; choose one of {', '.join(groups)}")
        return groups[group]["params"]
    return rec["params"]


@click.command("predict")
@click.argument("fit_json", type=click.Path(dir_okay=False))
@click.option("--at", "points", multiple=True, required=True, metavar="NAME=V,...", help="Inputs to predict at, e.g. --at N=7e10,D=1.4e12 (repeat for several points).")
@click.option("--group", metavar="NAME", help="Group of a per-group fit.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def predict_cmd(fit_json, points, group, as_json):
    """Predict with a saved fit: sl predict fit.json --at N=7e10,D=1.4e12"""
    law, rec = load_fit(fit_json)
    params = _fit_params(law, rec, group, fit_json)
    out = []
    for pt in points:
        x = parse_assignments([pt], "--at")
        missing = [k for k in law.inputs if k not in x]
        if missing:
            raise CliError(f"--at {pt!r} lacks {', '.join(missing)}; law {law.name} needs {', '.join(law.inputs)}")
        extra = [k for k in x if k not in law.inputs]
        if extra:
            raise CliError(f"--at {pt!r}: {', '.join(extra)} is not an input of law {law.name} ({', '.join(law.inputs)})")
        y = np.atleast_1d(law(params, {k: np.array([x[k]]) for k in law.inputs})).ravel()
        pred = float(y[0]) if y.size == 1 else [float(v) for v in y]
        out.append({"at": x, "prediction": pred})
    if as_json:
        click.echo(json.dumps(out[0] if len(out) == 1 else out))
        return
    for o in out:
        at = ", ".join(f"{k}={fmt(v)}" for k, v in o["at"].items())
        p = o["prediction"]
        click.echo(f"{at}: {fmt(p) if not isinstance(p, list) else ', '.join(fmt(v) for v in p)}")


@click.command("optimal")
@click.argument("fit_json", type=click.Path(dir_okay=False))
@click.option("--compute", required=True, type=float, metavar="FLOPS", help="Training compute C (FLOPs), with C = 6·N·D.")
@click.option("--group", metavar="NAME", help="Group of a per-group fit.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def optimal_cmd(fit_json, compute, group, as_json):
    """Compute-optimal N*, D* and the predicted loss at a compute budget."""
    law, rec = load_fit(fit_json)
    opt = law.extras.get("optimal")
    if opt is None:
        raise CliError(f"law {law.name} has no closed-form compute-optimal allocation (chinchilla has)")
    if not compute > 0:
        raise CliError(f"--compute must be > 0 FLOPs, got {compute}")
    params = _fit_params(law, rec, group, fit_json)
    r = {k: float(v) for k, v in opt(params, compute).items()}
    out = {"compute": compute, "N": r["N"], "D": r["D"], "loss": r["loss"], "tokens_per_param": r["D"] / r["N"]}
    if as_json:
        click.echo(json.dumps(out))
        return
    click.echo(f"C = {fmt(compute)} FLOPs: N* = {fmt(out['N'])}, D* = {fmt(out['D'])} ({out['tokens_per_param']:.1f} tokens/param), loss = {out['loss']:.4f}")


# -- sl laws / sl datasets ------------------------------------------------------------------------
@click.group("laws")
def laws_group():
    """List and describe laws."""


@laws_group.command("list")
@click.option("--law-file", type=click.Path(dir_okay=False), help="List the laws of a laws.toml file.")
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
        rows.append([name, str(len(t.train)), str(len(t.test)), ", ".join(t.features), str(len(t.law_names))])
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
    click.echo(f"  checkpoints  : {', '.join(f'{b:g}' for b in t.budget_fractions)} of the pool's cost")
    click.echo(f"  laws         : {', '.join(t.law_names)}")
    click.echo("  source       : Li et al. 2026, arXiv 2604.22753 (ScaleBench), CC-BY-4.0")


COMMANDS = [fit_cmd, predict_cmd, optimal_cmd, laws_group, datasets_group]
