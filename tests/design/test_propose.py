"""propose(): budgets, cold start, batches, in-flight runs, errors and the CLI round trip."""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import scalinglaws  # noqa: F401
from cli._main import cli
from scalinglaws import get_law
from scalinglaws._errors import DataError
from scalinglaws.design._budget import DesignError
from scalinglaws.design._costs import fit_cost_model
from scalinglaws.design._propose import propose

LAW = get_law("chinchilla")
TRUE = {"E": 1.8, "A": 400.0, "B": 1500.0, "alpha": 0.34, "beta": 0.28}


def _pool():
    n, d = np.meshgrid(np.geomspace(1e7, 3e9, 9), np.geomspace(2e8, 6e10, 9))
    return pd.DataFrame({"N": n.ravel(), "D": d.ravel()})


def _runs(pool, idx, seed=0):
    r = pool.iloc[idx].copy()
    r["loss"] = LAW(TRUE, r) * np.exp(np.random.default_rng(seed).normal(0, 0.003, len(r)))
    return r


@pytest.mark.parametrize(
    "method", ["random", "cheapest", "inverse-cost", "dopt", "vopt", "mspe", "hedge"]
)
def test_never_exceeds_budget_and_deterministic(method):
    pool = _pool()
    cost = 6 * pool.N * pool.D
    runs = _runs(pool, np.argsort(cost.to_numpy())[:12:2])
    kw = dict(cost="6*N*D", budget="5%", runs=runs, method=method, seed=1, target="top:5")
    a = propose(pool, "chinchilla", **kw)
    b = propose(pool, "chinchilla", **kw)
    pd.testing.assert_frame_equal(a, b)
    spent = float((6 * runs.N * runs.D).sum())
    assert len(a) >= 1
    assert a["cumulative_spend"].iloc[-1] <= 0.05 * cost.sum() * (1 + 1e-12)
    np.testing.assert_allclose(a["cumulative_spend"], spent + np.cumsum(a["cost"]))
    assert list(a.columns) == ["N", "D", "cost", "score", "cumulative_spend"]
    keys = set(zip(runs.N, runs.D, strict=False))
    assert not any(
        (n, d) in keys for n, d in zip(a.N, a.D, strict=False)
    )  # observed runs are not re-proposed


@pytest.mark.parametrize("method", ["mspe", "hedge"])
def test_cold_start_is_the_cheapest_runs_by_default(method):
    pool = _pool()
    cost = (6 * pool.N * pool.D).to_numpy()
    out = propose(pool, "chinchilla", cost="6*N*D", budget="10%", method=method)
    assert 1 <= len(out) <= 13  # ⌈2.5·5⌉
    assert out["cost"].sum() <= 0.2 * 0.1 * cost.sum() * (1 + 1e-12)  # the initial budget
    np.testing.assert_allclose(np.sort(out["cost"]), np.sort(cost)[: len(out)])


def test_hedge_proposes_as_its_benchmark_replay_decides():
    """``hedge`` starts from the single cheapest run, and with runs observed scores candidates
    from a design fit warm-started at its target-localised checkpoint fit (``sl bench``'s
    hedge), so ``--method hedge`` is not ``mspe`` under another name."""
    from scalinglaws.design import _propose

    pool = _pool()
    cost = (6 * pool.N * pool.D).to_numpy()
    cold = propose(pool, "chinchilla", cost="6*N*D", budget="10%", method="hedge")
    assert len(cold) == 1 and cold["cost"].iloc[0] == cost.min()
    # asked for a batch, the cold start fills it (nothing yet to choose by): the 4 cheapest,
    # as mspe's
    four = propose(pool, "chinchilla", cost="6*N*D", budget="10%", method="hedge", batch=4)
    np.testing.assert_array_equal(four["cost"], np.sort(cost)[:4])
    pd.testing.assert_frame_equal(
        four, propose(pool, "chinchilla", cost="6*N*D", budget="10%", method="mspe", batch=4)
    )
    # a batch larger than the paper's design does not enlarge it (⌈2.5·5⌉ = 13 runs)
    wide = propose(pool, "chinchilla", cost="6*N*D", budget="100%", method="mspe", batch=20)
    assert len(wide) == 13

    runs = _runs(pool, np.argsort(cost)[:12:2])
    seen = {}
    fit, refit = _propose.DesignLoop.final_fit, _propose.DesignLoop.refit

    def spy_fit(self, *a, **k):
        seen.setdefault("fit", []).append((a, k, self.localize))
        out = fit(self, *a, **k)
        seen["best"] = out
        return out

    def spy_refit(self):
        seen.setdefault("warm", []).append([w.copy() for w in self.warm])
        return refit(self)

    kw = dict(cost="6*N*D", budget="5%", runs=runs, target="top:5", batch=3, seed=2)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_propose.DesignLoop, "final_fit", spy_fit)
        mp.setattr(_propose.DesignLoop, "refit", spy_refit)
        propose(pool, "chinchilla", method="mspe", **kw)
        assert "fit" not in seen  # the paper's methods go straight to the design fit
        out = propose(pool, "chinchilla", method="hedge", **kw)
    ((args, kwargs, alpha),) = seen["fit"]
    assert args == (_propose.CHECKPOINT_STARTS,) and kwargs["seed"] == 2 and alpha == 1.0
    # the design fit that scored the candidates started from the localised optimum
    np.testing.assert_array_equal(seen["warm"][-1][0], seen["best"])
    assert len(out) == 3
    assert out["cumulative_spend"].iloc[-1] <= 0.05 * cost.sum() * (1 + 1e-12)


def test_spread_cold_start_is_small_cheap_and_space_filling():
    pool = _pool()
    cost = (6 * pool.N * pool.D).to_numpy()
    out = propose(
        pool, "chinchilla", cost="6*N*D", budget="10%", method="hedge", cold_start="spread"
    )
    assert 1 <= len(out) <= 13
    assert out["cost"].sum() <= 0.2 * 0.1 * cost.sum() * (1 + 1e-12) + out["cost"].min()
    assert out["N"].nunique() > 1 and out["D"].nunique() > 1
    cheapest = pool.iloc[np.argsort(cost, kind="stable")[: len(out)]]
    span = lambda df: np.ptp(np.log(df.N)) + np.ptp(np.log(df.D))  # noqa: E731
    assert span(out) > span(cheapest)  # it spreads over the inputs more than the cheapest runs
    with pytest.raises(DesignError, match="unknown cold start 'wide'"):
        propose(pool, "chinchilla", cost="6*N*D", budget="10%", cold_start="wide")


def test_cold_start_goes_on_from_runs_in_flight(tmp_path):
    """Launched but unfinished runs of the cold-start design count towards its size and budget:
    the next call proposes the rest of it (it said "no run fits the remaining budget"). With
    the design all in flight, a model-based method says it waits for an outcome."""
    pool = _pool()
    cost = (6 * pool.N * pool.D).to_numpy()
    order = np.argsort(cost, kind="stable")
    whole = propose(pool, "chinchilla", cost="6*N*D", budget="10%", method="mspe")
    fly = pool.iloc[order[:2]]
    rest = propose(pool, "chinchilla", cost="6*N*D", budget="10%", method="mspe", in_flight=fly)
    assert len(rest) == len(whole) - 2  # the same design, its first two runs in flight
    np.testing.assert_array_equal(rest["cost"], whole["cost"].iloc[2:])
    assert rest["cumulative_spend"].iloc[-1] <= 0.2 * 0.1 * cost.sum() * (1 + 1e-12)
    spread = propose(pool, "chinchilla", cost="6*N*D", budget="10%", method="mspe",
                     in_flight=fly, cold_start="spread")  # fmt: skip
    assert len(spread) >= 1 and not set(spread["cost"]) & set(cost[order[:2]])
    out = propose(pool, "chinchilla", cost="6*N*D", budget="10%", method="hedge", in_flight=fly)
    assert len(out) == 0 and out.attrs["waiting"]
    pool.to_csv(tmp_path / "pool.csv", index=False)
    fly.to_csv(tmp_path / "fly.csv", index=False)
    res = CliRunner().invoke(cli, ["propose", "--pool", str(tmp_path / "pool.csv"), "--in-flight",
                                   str(tmp_path / "fly.csv"), "--law", "chinchilla", "--cost",
                                   "6*N*D", "--budget", "10%", "--method", "hedge"])  # fmt: skip
    assert res.exit_code == 0 and "no proposal yet: hedge scores candidates" in res.output


def test_batch_and_in_flight():
    pool = _pool()
    cost = (6 * pool.N * pool.D).to_numpy()
    order = np.argsort(cost)
    runs = _runs(pool, order[:10])
    fly = pool.iloc[order[10:12]]
    out = propose(pool, "chinchilla", cost="6*N*D", budget="20%", runs=runs, in_flight=fly,
                  batch=3, method="vopt")  # fmt: skip
    assert len(out) == 3
    assert out["cumulative_spend"].iloc[0] == pytest.approx(
        (6 * runs.N * runs.D).sum() + (6 * fly.N * fly.D).sum() + out["cost"].iloc[0]
    )
    assert not set(zip(fly.N, fly.D, strict=False)) & set(zip(out.N, out.D, strict=False))


def test_errors():
    pool = _pool()
    with pytest.raises(DesignError, match="empty"):
        propose(pool.iloc[:0], "chinchilla", cost="6*N*D", budget="10%")
    runs = _runs(pool, range(len(pool)))
    with pytest.raises(DesignError, match="already spent"):
        propose(pool, "chinchilla", cost="6*N*D", budget="1%", runs=runs)
    with pytest.raises(DesignError, match="lacks column"):
        propose(pool.drop(columns="D"), "chinchilla", cost="6*N", budget="1%")


def test_bad_cells_and_runs_without_outcome(tmp_path):
    """A cell that is not a number is one line naming the file, column and row (it was a
    traceback from the cost model); a run with an empty outcome counts as spent and is not
    proposed again, but is not fitted."""
    pool = _pool()
    cost = (6 * pool.N * pool.D).to_numpy()
    order = np.argsort(cost)
    bad = pool.astype(object)
    bad.loc[3, "D"] = "abc"
    bad.to_csv(tmp_path / "pool.csv", index=False)
    args = ["propose", "--law", "chinchilla", "--cost", "6*N*D", "--budget", "10%"]
    res = CliRunner().invoke(cli, [*args, "--pool", str(tmp_path / "pool.csv")])
    assert res.exit_code == 2
    assert res.output == (
        f"error: {tmp_path / 'pool.csv'}: column D, row 4 (line 5): 'abc' is not a number; "
        "replace it with a number or delete the row\n"
    )
    runs = _runs(pool, order[:6])
    runs["loss"] = runs["loss"].astype(object)
    runs.iloc[0, runs.columns.get_loc("loss")] = "oops"
    with pytest.raises(DataError, match="the runs table: column loss, row 1: 'oops' is not a"):
        propose(pool, "chinchilla", cost="6*N*D", budget="10%", runs=runs)
    runs.iloc[0, runs.columns.get_loc("loss")] = np.nan  # diverged: no outcome
    out = propose(pool, "chinchilla", cost="6*N*D", budget="10%", runs=runs, method="vopt")
    assert out.attrs["unfitted"] == 1
    assert out.attrs["spent_before"] == pytest.approx(cost[order[:6]].sum())
    assert cost[order[0]] not in set(out["cost"])  # not proposed again
    pool.to_csv(tmp_path / "pool.csv", index=False)
    runs.to_csv(tmp_path / "runs.csv", index=False)
    res = CliRunner().invoke(
        cli, [*args, "--pool", str(tmp_path / "pool.csv"), "--runs", str(tmp_path / "runs.csv")]
    )
    assert res.exit_code == 0, res.output
    assert "note: 1 run(s) of" in res.output and "counted as spent" in res.output


def test_cli_round_trip(tmp_path):
    pool = _pool()
    cost = (6 * pool.N * pool.D).to_numpy()
    runs = _runs(pool, np.argsort(cost)[:10])
    pool.to_csv(tmp_path / "pool.csv", index=False)
    runs.to_csv(tmp_path / "runs.csv", index=False)
    pool.iloc[np.argsort(-cost)[:4]].to_csv(tmp_path / "target.csv", index=False)
    args = ["propose", "--pool", str(tmp_path / "pool.csv"), "--runs", str(tmp_path / "runs.csv"),
            "--law", "chinchilla", "--target", str(tmp_path / "target.csv"), "--cost", "6*N*D",
            "--budget", "10%", "--batch", "4", "--method", "mspe", "--seed", "0",
            "-o", str(tmp_path / "next.csv")]  # fmt: skip
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "cumulative" in res.output
    out = pd.read_csv(tmp_path / "next.csv")
    assert list(out.columns) == ["N", "D", "cost", "score"] and len(out) == 4
    assert (6 * out.N * out.D).sum() + (6 * runs.N * runs.D).sum() <= 0.1 * cost.sum() * (1 + 1e-12)
    # cold start without --runs
    res = CliRunner().invoke(cli, args[:3] + args[5:])
    assert res.exit_code == 0, res.output
    cold = pd.read_csv(tmp_path / "next.csv")
    res = CliRunner().invoke(cli, args[:3] + args[5:] + ["--cold-start", "spread"])
    assert res.exit_code == 0, res.output
    assert not pd.read_csv(tmp_path / "next.csv").equals(cold)  # another design
    # budget already spent: one-line error, exit 2
    res = CliRunner().invoke(cli, [("0.01%" if a == "10%" else a) for a in args])
    assert res.exit_code == 2
    assert res.output.startswith("error:") and "already spent" in res.output
    # the estimate at the target, beside the proposals; it needs runs
    pred = str(tmp_path / "pred.csv")
    res = CliRunner().invoke(cli, [*args, "--predictions", pred])
    assert res.exit_code == 0, res.output
    assert "mspe's estimate of loss at 4 target configuration(s), from 10 run(s)" in res.output
    est = pd.read_csv(pred)
    assert list(est.columns) == ["N", "D", "loss"] and len(est) == 4
    res = CliRunner().invoke(cli, args[:3] + args[5:] + ["--predictions", pred])
    assert res.exit_code == 2 and res.output.startswith("error: --predictions needs --runs")
    # an estimate far outside the observed losses (7.3-10.6 here) is flagged
    from scalinglaws.design import _propose

    with pytest.MonkeyPatch.context() as mp:
        wild = np.array([[8.0], [9.0], [100.0], [np.nan]])
        mp.setattr(_propose.DesignLoop, "final_predict", lambda self, x: wild)
        res = CliRunner().invoke(cli, [*args, "--predictions", pred])
    assert res.exit_code == 0, res.output
    assert "warning: at 2 of them the estimate is not finite or lies more than 10" in res.output
    # an output in a directory that does not exist: refused before any work
    res = CliRunner().invoke(cli, [*args, "--predictions", str(tmp_path / "no" / "p.csv")])
    assert res.exit_code == 2 and "no such directory; create" in res.output
    assert "proposal" not in res.output


@pytest.mark.parametrize("method", ["mspe", "hedge"])
def test_target_predictions_recover_the_truth(method):
    """predict_target from the cheapest runs of a known Chinchilla law: within 1% of the true
    loss at the most costly configurations (72-300x the compute of the costliest run, and
    below every observed loss)."""
    from scalinglaws.design import predict_target

    pool = _pool()
    cost = (6 * pool.N * pool.D).to_numpy()
    runs = _runs(pool, np.argsort(cost)[:40])
    target = pool.iloc[np.argsort(-cost)[:5]]
    est = predict_target(pool, "chinchilla", cost="6*N*D", runs=runs, target=target,
                         method=method, seed=0)  # fmt: skip
    assert list(est.columns) == ["N", "D", "loss"]
    np.testing.assert_array_equal(est[["N", "D"]].to_numpy(), target[["N", "D"]].to_numpy())
    truth = LAW(TRUE, target)
    np.testing.assert_allclose(est["loss"], truth, rtol=1e-2)
    assert est.attrs == {"method": method, "n_runs": 40, "implausible": 0}
    with pytest.raises(DesignError, match="need observed runs"):
        predict_target(pool, "chinchilla", cost="6*N*D", runs=None)


def test_plot_proposals(tmp_path):
    """The design map: its left panel shows the inputs along which the target lies furthest
    from the pool; one-input laws plot against cost; the CLI writes the PNG."""
    from scalinglaws.design._plot import extrapolation_axes

    rng = np.random.default_rng(0)
    x = {"a": rng.uniform(1, 2, 50), "b": rng.uniform(1, 2, 50), "c": rng.uniform(1, 2, 50)}
    x["b"][45:] = 40.0  # the target (last 5 rows) lies far out along b, then c
    x["c"][45:] = 3.0
    assert extrapolation_axes(x, 45, 5) == ["b", "c"]

    pool = _pool()
    cost = (6 * pool.N * pool.D).to_numpy()
    runs = _runs(pool, np.argsort(cost)[:10])
    runs.iloc[0, runs.columns.get_loc("loss")] = np.nan  # drawn as a run without an outcome
    pool.to_csv(tmp_path / "pool.csv", index=False)
    runs.to_csv(tmp_path / "runs.csv", index=False)
    png = tmp_path / "map.png"
    args = ["propose", "--pool", str(tmp_path / "pool.csv"), "--runs", str(tmp_path / "runs.csv"),
            "--law", "chinchilla", "--cost", "6*N*D", "--budget", "10%", "--batch", "3",
            "--method", "vopt", "--plot", str(png)]  # fmt: skip
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert f"wrote {png}" in res.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000

    from scalinglaws.design._plot import plot_proposals

    one = pd.DataFrame({"x": np.geomspace(1, 100, 12)})
    out = propose(one, "power-law", cost="x", budget="20%", method="cheapest")
    assert plot_proposals(one, "power-law", out, tmp_path / "one.png", cost="x").exists()


def test_cost_fitted_to_measured_costs(tmp_path):
    """``fit:COL``: a power law of the law's inputs fitted to the runs' measured costs prices
    the pool (noise-free costs: the exponents come back exactly); observed runs are charged
    what they measured, or the fit's price where they measured nothing."""
    pool = _pool()
    truth = 3e-17 * pool.N**1.1 * pool.D**0.95
    order = np.argsort(truth.to_numpy())
    runs = _runs(pool, order[:8])
    runs["gpu_hours"] = 3e-17 * runs.N**1.1 * runs.D**0.95
    runs.iloc[0, runs.columns.get_loc("gpu_hours")] = 2.5 * runs["gpu_hours"].iloc[0]  # measured
    runs.iloc[1, runs.columns.get_loc("gpu_hours")] = np.nan  # not measured: the fit's price
    out = propose(pool, "chinchilla", cost="fit:gpu_hours", budget="10%", runs=runs, batch=3,
                  method="cheapest")  # fmt: skip
    cm = out.attrs["cost_model"]
    assert cm.features == ("N", "D") and cm.n_fit == 7
    assert cm.r2_log < 1  # the 2.5x outlier is fitted too
    fit = fit_cost_model(runs.drop(index=runs.index[0]), ["N", "D"], "gpu_hours")
    np.testing.assert_allclose(fit.coef[1:], [1.1, 0.95], rtol=1e-9)
    pool_cost = cm(pool)
    assert out.attrs["total_cost"] == pytest.approx(pool_cost.sum(), rel=1e-12)
    measured = runs["gpu_hours"].to_numpy().copy()
    measured[1] = cm(runs.iloc[[1]])[0]
    assert out.attrs["spent_before"] == pytest.approx(measured.sum(), rel=1e-12)
    np.testing.assert_allclose(out["cost"], np.sort(pool_cost[order[8:]])[:3], rtol=1e-12)
    with pytest.raises(DesignError, match="fitted to the measured costs of the observed runs"):
        propose(pool, "chinchilla", cost="fit:gpu_hours", budget="10%")
    with pytest.raises(DesignError, match="column.s. X missing from the runs"):
        propose(pool, "chinchilla", cost="fit:gpu_hours~N,X", budget="10%", runs=runs)
    pool.to_csv(tmp_path / "pool.csv", index=False)
    runs.to_csv(tmp_path / "runs.csv", index=False)
    res = CliRunner().invoke(cli, ["propose", "--pool", str(tmp_path / "pool.csv"), "--runs",
                                   str(tmp_path / "runs.csv"), "--law", "chinchilla", "--cost",
                                   "fit:gpu_hours", "--budget", "10%", "--batch", "2"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "fitted to the gpu_hours of 7 run(s)" in res.output
