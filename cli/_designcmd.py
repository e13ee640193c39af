"""``sl propose`` (the next costed runs within a budget) and ``sl bench`` (ScaleBench replay)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from scalinglaws._io import read_table
from scalinglaws.design._acquisition import METHODS
from scalinglaws.design._bench import BENCH_METHODS, PAPER_TABLE2, SHORT
from scalinglaws.design._propose import COLD_STARTS, PLAUSIBLE_RANGES

from ._common import CliError, fmt, table


@click.command("propose")
@click.option(
    "--pool", required=True, type=click.Path(), help="Candidate configurations (CSV/parquet)."
)
@click.option("--runs", type=click.Path(), help="Observed runs (omit for a cold start).")
@click.option("--in-flight", "in_flight", type=click.Path(), help="Launched runs without outcomes.")
@click.option("--law", required=True, help="Law name, e.g. chinchilla or farseer:sl_1.")
@click.option(
    "--target", default=None, help="Target configurations (CSV) or top:K (K most costly)."
)
@click.option(
    "--cost", required=True,
    help="Cost of one run: an expression (6*N*D), a pool column, or fit:COL (a power law of the "
    "law's inputs fitted to the runs' measured costs COL; fit:COL~N,D names the features).",
)  # fmt: skip
@click.option("--budget", required=True, help="10% of the pool's total cost, or an absolute cost.")
@click.option("--batch", type=int, default=None, help="At most this many proposals.")
@click.option("--method", default="mspe", show_default=True, type=click.Choice(METHODS))
@click.option("--gamma", default=0.4, show_default=True, type=float, help="Cost exponent γ.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option(
    "--cold-start", "cold_start", default="cheapest", show_default=True,
    type=click.Choice(COLD_STARTS),
    help="With no --runs: the cheapest runs, or a space-filling design (spread).",
)  # fmt: skip
@click.option("-o", "--output", type=click.Path(), help="Write the proposals as CSV.")
@click.option(
    "--plot", "plot_path", type=click.Path(),
    help="Also draw the pool, runs, proposals and target region as a PNG.",
)  # fmt: skip
@click.option(
    "--predictions", type=click.Path(),
    help="Also write the method's estimate of the law's outputs at the target (needs --runs).",
)  # fmt: skip
def propose(
    pool, runs, in_flight, law, target, cost, budget, batch, method, gamma, seed, cold_start,
    output, plot_path, predictions,
):  # fmt: skip
    """Propose the next runs to launch: the best value for the target region per unit cost,
    until the budget (observed and in-flight runs count as spent) or --batch is reached."""
    from scalinglaws import get_law
    from scalinglaws.design._propose import predict_target
    from scalinglaws.design._propose import propose as _propose

    law_obj = get_law(law)
    pool_df = read_table(pool)
    runs_df = read_table(runs) if runs else None
    fly_df = read_table(in_flight) if in_flight else None
    tgt = read_table(target) if target and os.path.exists(target) else target
    if isinstance(tgt, str) and not tgt.lower().startswith("top:") and not tgt.isdigit():
        raise CliError(f"--target {target}: no such file; give a CSV of configurations or top:K")
    if predictions and runs_df is None:
        raise CliError("--predictions needs --runs: the estimate at the target is fitted to them")
    for path in (output, plot_path, predictions):  # before the work, not after it
        if path and not Path(path).resolve().parent.is_dir():
            raise CliError(f"{path}: no such directory; create {Path(path).parent} first")
    t0 = time.perf_counter()
    out = _propose(
        pool_df, law_obj, cost=cost, budget=budget, runs=runs_df, in_flight=fly_df, target=tgt,
        method=method, batch=batch, gamma=gamma, seed=seed, cold_start=cold_start,
    )  # fmt: skip
    dt = time.perf_counter() - t0
    b, s0 = out.attrs["budget"], out.attrs["spent_before"]
    click.echo(
        f"budget {fmt(b)} ({100 * b / out.attrs['total_cost']:.3g}% of the pool's "
        f"{fmt(out.attrs['total_cost'])}); already spent {fmt(s0)}; method {method}"
    )
    cm = out.attrs["cost_model"]
    if cm.kind == "fitted":
        click.echo(
            f"cost model {cm.spec}: fitted to the {cm.measured} of {cm.n_fit} run(s), R² "
            f"{cm.r2_log:.3f} on log cost; observed runs are charged what they measured"
        )
    if out.attrs["unfitted"]:
        click.echo(
            f"note: {out.attrs['unfitted']} run(s) of {runs} have no finite "
            f"{', '.join(law_obj.outputs)}: counted as spent and not proposed again, not fitted",
            err=True,
        )
    if len(out) == 0 and out.attrs["waiting"]:
        click.echo(
            f"no proposal yet: {method} scores candidates with a fit to observed runs, and none "
            "is observed; the runs in flight complete its cold-start design. Propose again once "
            "some have finished (--runs), or use cheapest, random or inverse-cost"
        )
    elif len(out) == 0:
        click.echo("no run fits the remaining budget")
    else:
        rows = [
            [i + 1, *(fmt(r[c]) for c in law_obj.inputs), fmt(r["cost"]), fmt(r["cumulative_spend"]),
             fmt(r["score"])]
            for i, (_, r) in enumerate(out.iterrows())
        ]  # fmt: skip
        click.echo(table(rows, ["#", *law_obj.inputs, "cost", "cumulative", "score"]))
        click.echo(
            f"{len(out)} proposal(s), spend {fmt(out['cumulative_spend'].iloc[-1])} of "
            f"{fmt(b)} ({dt:.2f} s)"
        )
    if output:
        out.drop(columns=["cumulative_spend"]).to_csv(output, index=False)
        click.echo(f"wrote {output}")
    if plot_path:
        from scalinglaws.design._plot import plot_proposals

        plot_proposals(
            pool_df, law_obj, out, plot_path, cost=cost, runs=runs_df, in_flight=fly_df,
            target=tgt, budget=b,
        )  # fmt: skip
        click.echo(f"wrote {plot_path}")
    if predictions:
        pred = predict_target(
            pool_df, law_obj, cost=cost, runs=runs_df, target=tgt, method=method, seed=seed
        )
        pred.to_csv(predictions, index=False)
        outs = ", ".join(law_obj.outputs)
        click.echo(
            f"wrote {predictions}: {method}'s estimate of {outs} at {len(pred)} target "
            f"configuration(s), from {pred.attrs['n_runs']} run(s)"
        )
        if pred.attrs["implausible"]:
            click.echo(
                f"warning: at {pred.attrs['implausible']} of them the estimate is not finite or "
                f"lies more than {PLAUSIBLE_RANGES:g} observed ranges outside the observed "
                "outcomes: the law extrapolates wildly there; do not trust it without more runs",
                err=True,
            )


@click.command("bench")
@click.option("--task", "tasks", required=True,
              help="Task name(s) or folder(s), comma-separated, or 'all'.")  # fmt: skip
@click.option("--methods", default="random,cheapest,inverse-cost,dopt,vopt,mspe,hedge",
              show_default=True, help=f"Comma-separated, from {', '.join(BENCH_METHODS)}.")  # fmt: skip
@click.option("--seeds", default=10, show_default=True, type=int)
@click.option("--laws", default=None, help="Comma-separated law names (default: all).")
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--gamma", default=0.4, show_default=True, type=float)
@click.option("-o", "--output", type=click.Path(), help="Results CSV (and a PNG next to it).")
@click.option("--resume", is_flag=True,
              help="Keep the trajectories already finished in OUTPUT.partial (from an interrupted "
              "run) and run only the rest.")  # fmt: skip
def bench(tasks, methods, seeds, laws, workers, gamma, output, resume):
    """Replay the ScaleBench protocol: R² on the target region at each budget checkpoint."""
    from tqdm import tqdm

    from scalinglaws.datasets import list_tasks
    from scalinglaws.design._bench import bench as _bench
    from scalinglaws.design._bench import scored_on_subset, summarize

    names = (
        list_tasks()
        if tasks.strip() == "all"
        else [t.strip() for t in tasks.split(",") if t.strip()]
    )
    ms = [m.strip() for m in methods.split(",") if m.strip()]
    bad = [m for m in ms if m not in BENCH_METHODS]
    if bad:
        raise CliError(f"--methods {bad[0]!r} is unknown; choose from {', '.join(BENCH_METHODS)}")
    if seeds < 1:
        raise CliError(f"--seeds {seeds}: give at least 1")
    law_list = [s.strip() for s in laws.split(",")] if laws else None
    if resume and not output:
        raise CliError("--resume needs -o/--output (it continues from OUTPUT.partial)")
    t0 = time.perf_counter()
    bars: list = []  # opened at the first report, once the tasks, laws and output path are valid

    def progress(done: int, total: int) -> None:
        if not bars:
            bars.append(tqdm(total=total, desc="bench", unit="law", file=sys.stderr))
        bars[0].update(done - bars[0].n)

    try:
        df = _bench(names, methods=ms, seeds=seeds, laws=law_list, workers=workers,
                    progress=progress, gamma=gamma,
                    partial=f"{output}.partial" if output else None, resume=resume)  # fmt: skip
    finally:
        for bar in bars:
            bar.close()
    wall = time.perf_counter() - t0
    summ = summarize(df)
    for task, part in summ.groupby("task", sort=False):
        fr = sorted(part["budget_fraction"].unique())
        rows = []
        for m in ms:
            sub = part[part["method"] == m].set_index("budget_fraction")
            rows.append([m, *(f"{sub.loc[f, 'mean']:+.2f} ± {sub.loc[f, 'std']:.2f}" for f in fr)])
        paper = PAPER_TABLE2["mspe"].get(SHORT.get(task, ""))
        if paper is not None and len(paper) == len(fr):  # the bar to beat, for reference
            label = "paper mspe" if law_list is None else "paper mspe (all laws)"
            rows.append([label, *(f"{v:+.2f}" for v in paper)])
        click.echo(f"\n{task}: R² mean ± std over seeds, averaged over laws")
        click.echo(table(rows, ["method", *(f"{100 * f:g}%" for f in fr)]))
    subset = df[scored_on_subset(df)]
    if len(subset):
        laws = subset.groupby(["task", "law"]).size().sort_values(ascending=False)
        named = ", ".join(f"{t}:{n} ({k})" for (t, n), k in laws.head(5).items())
        more = f" and {len(laws) - 5} more" if len(laws) > 5 else ""
        click.echo(
            f"\nnote: {len(subset)} of {len(df)} rows scored R² on only some groups (a group "
            f"with no fit or a non-finite prediction is left out; column groups_scored): "
            f"{named}{more}"
        )
    click.echo(f"\nwall time {wall:.1f} s ({len(df)} rows)")
    if output:
        df.to_csv(output, index=False)
        png = str(Path(output).with_suffix(".png"))
        plot(summ, png)
        click.echo(f"wrote {output} and {png}")


def plot(summ, path: str) -> None:
    """R² against budget fraction, one line per method, one panel per task; the paper's MSPE
    (Table 2) dashed in black on the bundled ScaleBench tasks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(summ["task"]))
    n = len(tasks)
    cols = min(4, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False)
    for ax, task in zip(axes.ravel(), tasks, strict=False):
        part = summ[summ["task"] == task]
        for m, sub in part.groupby("method", sort=False):
            sub = sub.sort_values("budget_fraction")
            ax.errorbar(100 * sub["budget_fraction"], sub["mean"], yerr=sub["std"], marker="o",
                        capsize=2, label=m, lw=2.5 if m == "hedge" else 1.2)  # fmt: skip
        paper = PAPER_TABLE2["mspe"].get(SHORT.get(task, ""))
        fr = sorted(part["budget_fraction"].unique())
        if paper is not None and len(fr) == len(paper):
            ax.plot([100 * f for f in fr], paper, "k--x", lw=1.2, label="paper MSPE")
        ax.set_title(task.replace("_scaling_law", ""))
        ax.set_xlabel("budget (% of pool cost)")
        ax.set_ylabel("target R²")
        ax.set_ylim(-1.05, 1.05)
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    axes.ravel()[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


COMMANDS = [propose, bench]
