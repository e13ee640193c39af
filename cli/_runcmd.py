"""``sl run`` (the closed design loop), ``sl status`` and ``sl export`` (read a study ledger)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from scalinglaws._io import read_table
from scalinglaws.design._acquisition import METHODS

from ._common import CliError, fmt, table

_REASONS = {
    "budget": "budget spent (no affordable configuration left)",
    "pool": "every pool configuration was tried",
    "stop-width": "the target's 90% interval is narrower than --stop-width",
    "failures": "stopped: the last runs all failed",
    "interrupted": "interrupted",
    "max-iterations": "iteration limit reached",
}


def _existing_ledger(path: str):
    from scalinglaws.design._ledger import Ledger

    if not Path(path).is_file():
        raise CliError(f"ledger {path} does not exist; pass the --ledger file of an 'sl run'")
    return Ledger(path)


@click.command("run")
@click.option(
    "--ledger", required=True, type=click.Path(), help="Study ledger (SQLite) to create or resume."
)
@click.option(
    "--pool", required=True, type=click.Path(), help="Candidate configurations (CSV/parquet)."
)
@click.option(
    "--target", default=None, help="Target configurations (CSV) or top:K (K most costly)."
)
@click.option("--law", required=True, help="Law name, e.g. chinchilla.")
@click.option(
    "--cost", required=True, help="Cost of one run: an expression (6*N*D) or a pool column."
)
@click.option("--budget", required=True, help="10% of the pool's total cost, or an absolute cost.")
@click.option(
    "--command",
    "command",
    required=True,
    help="Shell command template, e.g. 'python train.py --N {N} --D {D}'; it prints a "
    "JSON object as its last stdout line or writes it to {result}.",
)
@click.option("--parallel", default=2, show_default=True, type=int, help="Runs in flight at once.")
@click.option(
    "--timeout", default=None, type=float, help="Seconds before a run is killed and failed."
)
@click.option(
    "--retries",
    default=1,
    show_default=True,
    type=int,
    help="Extra attempts per failed configuration.",
)
@click.option(
    "--max-failures",
    "max_failures",
    default=None,
    type=int,
    help="Stop launching after this many failed runs in a row (default: max(5, 2*parallel)).",
)
@click.option(
    "--executor", default="local", show_default=True, type=click.Choice(["local", "submitit"])
)
@click.option("--method", default="mspe", show_default=True, type=click.Choice(METHODS))
@click.option("--gamma", default=0.4, show_default=True, type=float, help="Cost exponent γ.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option(
    "--stop-width",
    "stop_width",
    default=None,
    type=float,
    help="Stop launching once the widest 90% interval on the target is narrower.",
)
@click.option(
    "--poll-interval",
    "poll_interval",
    default=1.0,
    show_default=True,
    type=float,
    help="Seconds between polls of the runs in flight.",
)
@click.option(
    "--progress/--no-progress",
    default=True,
    show_default=True,
    help="Progress bar on stderr (budget, runs in flight, target prediction).",
)
def run(ledger, pool, target, law, cost, budget, command, parallel, timeout, retries, max_failures,
        executor, method, gamma, seed, stop_width, poll_interval, progress):  # fmt: skip
    """Run the closed design loop: propose runs for the free slots, launch them, record their
    results, refit, until the budget is spent or --stop-width is met. Re-running the same command
    resumes the study; Ctrl-C stops it cleanly (runs in flight keep going and are recorded on
    resume)."""
    from scalinglaws.design._loop import Study

    pool_df = read_table(pool)
    tgt = read_table(target) if target and os.path.exists(target) else target
    if isinstance(tgt, str) and not tgt.lower().startswith("top:") and not tgt.isdigit():
        raise CliError(f"--target {target}: no such file; give a CSV of configurations or top:K")
    if timeout is not None and not timeout > 0:
        raise CliError(f"--timeout {timeout}: give a positive number of seconds")
    if not poll_interval > 0:
        raise CliError(f"--poll-interval {poll_interval}: give a positive number of seconds")
    study = Study(
        ledger, pool_df, law, cost=cost, budget=budget, command=command, target=tgt,
        parallel=parallel, timeout=timeout, retries=retries, executor=executor, method=method,
        gamma=gamma, seed=seed, stop_width=stop_width, predict=progress or stop_width is not None,
        max_failures=max_failures,
    )  # fmt: skip
    try:
        res = study.run(poll_interval=poll_interval, progress=progress)
    finally:
        study.close()
    s = res.status
    pct = 100 * s["spent"] / s["budget"]
    click.echo(
        f"{_REASONS.get(res.reason, res.reason)}: {s['completed']} completed, {s['failed']} "
        f"failed, spent {fmt(s['spent'])} of {fmt(s['budget'])} ({pct:.1f}%)"
    )
    if res.prediction is not None:
        p = res.prediction
        i = p["worst"]
        click.echo(
            f"target prediction (widest of {len(p['median'])}): {p['median'][i]:.4g} "
            f"[{p['lo'][i]:.4g}, {p['hi'][i]:.4g}] (90%) from {p['n']} runs"
        )
    if res.reason == "failures":
        click.echo(
            f"{study.max_failures} runs in a row failed; the last: {res.last_failure}. Fix the "
            f"command or its environment (run logs in {study.workdir}) and re-run the same "
            "command to resume",
            err=True,
        )
        sys.exit(1)
    if res.reason == "interrupted":
        fly = s["proposed"] + s["running"]
        click.echo(
            f"{fly} run(s) still in flight keep running; re-run the same command to record them "
            "and continue",
            err=True,
        )
        sys.exit(130)


@click.command("status")
@click.argument("ledger", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON object.")
def status(ledger, as_json):
    """Counts of runs per state and the budget spent in a study ledger."""
    with _existing_ledger(ledger) as led:
        s = led.status()
        s["in_flight"] = s["proposed"] + s["running"]
    if as_json:
        click.echo(json.dumps(s, sort_keys=True))
        return
    rows = [[k, s[k]] for k in ("completed", "failed", "running", "proposed", "abandoned")]
    budget = s["budget"]
    rows += [["spent", fmt(s["spent"])], ["committed", fmt(s["committed"])]]
    rows.append(["budget", "unknown" if budget is None else fmt(budget)])
    click.echo(table(rows, ["", "value"]))


@click.command("export")
@click.argument("ledger", type=click.Path())
@click.option("-o", "--output", type=click.Path(), help="CSV to write (default: stdout).")
def export(ledger, output):
    """Write the completed runs of a study (inputs, outcome, cost, attempt) as CSV."""
    with _existing_ledger(ledger) as led:
        df = led.export_completed()
    if output:
        df.to_csv(output, index=False)
        click.echo(f"wrote {len(df)} completed run(s) to {output}")
    else:
        click.echo(df.to_csv(index=False), nl=False)


COMMANDS = [run, status, export]
