"""A quick ScaleBench replay on a small task, via the library and the CLI."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import scalinglaws  # noqa: F401
from cli._main import cli
from scalinglaws.design._bench import bench, summarize


def test_bench_parallel_two_seeds():
    df = bench("parallel", methods=["random", "mspe", "hedge"], seeds=2, laws=["sl_1"], workers=1)
    assert {
        "task",
        "law",
        "method",
        "seed",
        "budget_fraction",
        "r2",
        "cost_spent",
        "n_runs",
    } <= set(df)
    assert len(df) == 3 * 2 * 3
    assert df["r2"].between(-1, 1).all()
    assert (df["cost_spent"] <= df["budget_fraction"] + 1e-9).all()
    s = summarize(df)
    assert len(s) == 9


def test_bench_cli(tmp_path):
    out = tmp_path / "res.csv"
    res = CliRunner().invoke(cli, ["bench", "--task", "parallel", "--methods", "cheapest,hedge",
                                   "--seeds", "2", "--laws", "sl_2", "--workers", "1",
                                   "-o", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "hedge" in res.output and "wall time" in res.output
    # the paper's MSPE row (Table 2, parallel) for reference, marked as over all its laws
    assert "paper mspe (all laws)  -1.00         +0.77         +0.99" in res.output
    df = pd.read_csv(out)
    assert len(df) == 2 * 2 * 3
    assert (tmp_path / "res.png").exists()
    assert "bench: 100%" in res.output and "1/1" in res.output  # the progress bar, per law
    res = CliRunner().invoke(cli, ["bench", "--task", "parallel", "--methods", "magic"])
    assert res.exit_code == 2 and "error:" in res.output
    # an unknown law or a missing output directory: one error line, no progress bar before it
    for extra in (["--laws", "sl_99"], ["-o", str(tmp_path / "nowhere" / "r.csv")]):
        res = CliRunner().invoke(cli, ["bench", "--task", "parallel", "--seeds", "1", *extra])
        assert res.exit_code == 2 and res.output.startswith("error: "), res.output
        assert len(res.output.strip().splitlines()) == 1


def test_a_group_with_non_finite_predictions_is_left_out_and_counted(monkeypatch):
    """parallel has two groups. A fit that predicts NaN on the second is left out of the R², as
    the paper's evaluate_global, and the row says so: groups_scored 1 of groups 2, and the R²
    is the first group's alone. At 1% no run fits the budget: no fit, no group, −1. The CLI
    names the law."""
    import numpy as np

    from scalinglaws.design import _bench
    from scalinglaws.design._propose import DesignLoop

    kw = dict(methods=["cheapest"], seeds=1, laws=["sl_1"], workers=1)
    full = bench("parallel", **kw)
    assert full["groups_scored"].tolist() == [0, 2, 2] and (full["groups"] == 2).all()
    assert full["r2"].iloc[0] == -1 and full["n_runs"].iloc[0] == 0
    real = DesignLoop.final_predict
    monkeypatch.setattr(
        DesignLoop,
        "final_predict",
        lambda self, x: real(self, x) * (np.nan if self.seed % 100_003 == 1 else 1.0),
    )
    part = bench("parallel", **kw)
    assert part["groups_scored"].tolist() == [0, 1, 1]
    # the first group's R² alone, from the same (seed-free, deterministic) replay
    task = _bench.load("parallel")
    law = _bench.get_law("parallel_scaling_law:sl_1")
    g = _bench._groups(task, law)[0]
    loop = _bench.design_loops(law, [g], "cheapest", 0)[0]
    fracs, spent, pending, alone = sorted(task.budget_fractions), [0.0], [[]], []
    polish, screen = _bench.checkpoint_schedule(law)
    for cp in fracs[1:]:
        _bench._advance(loop, g, cp, fracs[-1], "cheapest", spent, pending, 0, 0.1)
        loop.final_fit(256, seed=0, polish=polish, screen_iter=screen)
        pred = real(loop, {k: v[g.m :] for k, v in g.x.items()})
        alone.append(_bench._r2([pred.ravel()], [g.y_test.ravel()]))
    np.testing.assert_allclose(part["r2"].iloc[1:], alone)
    assert not np.allclose(part["r2"].iloc[1:], full["r2"].iloc[1:])
    res = CliRunner().invoke(cli, ["bench", "--task", "parallel", "--methods", "cheapest",
                                   "--seeds", "1", "--laws", "sl_1", "--workers", "1"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "2 of 3 rows scored R² on only some groups" in res.output
    assert "parallel_scaling_law:sl_1 (2)" in res.output


def test_bench_resume_runs_only_unfinished_trajectories(tmp_path, monkeypatch):
    from scalinglaws.design import _bench

    part = tmp_path / "res.csv.partial"
    kw = dict(methods=["cheapest", "random"], seeds=1, laws=["sl_1", "sl_2"], workers=1)
    full = bench("parallel", partial=part, **kw)
    # written one trajectory at a time, as they end
    cols = ["law", "method", "seed", "budget_fraction", "r2"]
    pd.testing.assert_frame_equal(
        pd.read_csv(part).sort_values(cols[:4]).reset_index(drop=True)[cols], full[cols]
    )
    # an interrupted run: sl_1 random lost its last checkpoint, sl_2 random never ran, the last
    # line was torn by the kill; another task's rows share the file
    old = pd.read_csv(part)
    cut = old[~((old["law"] == "sl_2") & (old["method"] == "random"))]
    cut = cut.drop(cut[(cut["law"] == "sl_1") & (cut["method"] == "random")].index[-1:])
    other = old.head(3).assign(task="other_task")
    pd.concat([cut, other]).to_csv(part, index=False)
    with open(part, "a") as f:
        f.write("parallel_scaling_law,sl_2,random,0,0.0")
    calls = []
    real = _bench.run_law
    monkeypatch.setattr(
        _bench, "run_law", lambda t, n, pairs, *a: calls.append((n, pairs)) or real(t, n, pairs, *a)
    )
    again = bench("parallel", partial=part, resume=True, **kw)
    assert sorted(calls) == [("sl_1", [("random", 0)]), ("sl_2", [("random", 0)])]
    pd.testing.assert_frame_equal(again[cols], full[cols])
    after = pd.read_csv(part)
    assert len(after) == len(full) + 3 and (after["task"] == "other_task").sum() == 3


def test_bench_resume_copies_a_seed_free_method_rather_than_replaying_it(tmp_path, monkeypatch):
    """cheapest picks the same runs for every seed: killed after its seed 0, a resume copies
    those rows to the missing seeds instead of replaying the trajectory."""
    from scalinglaws.design import _bench

    part = tmp_path / "res.csv.partial"
    kw = dict(methods=["cheapest"], seeds=3, laws=["sl_1"], workers=1)
    full = bench("parallel", partial=part, **kw)
    old = pd.read_csv(part)
    old[old["seed"] == 0].to_csv(part, index=False)  # killed before seeds 1 and 2 were copied
    calls = []
    real = _bench.run_trajectory
    monkeypatch.setattr(
        _bench, "run_trajectory", lambda *a, **k: calls.append(a[3:5]) or real(*a, **k)
    )
    again = bench("parallel", partial=part, resume=True, **kw)
    assert calls == []
    cols = ["law", "method", "seed", "budget_fraction", "r2", "cost_spent", "n_runs"]
    pd.testing.assert_frame_equal(again[cols], full[cols])
    assert sorted(pd.read_csv(part)["seed"].unique()) == [0, 1, 2]


def test_resume_keeps_the_rows_of_a_partial_file_without_the_groups_columns(tmp_path, monkeypatch):
    """A partial CSV written before groups_scored and groups existed: --resume keeps its
    trajectories (the two values missing) and replays none of them."""
    from scalinglaws.design import _bench

    part = tmp_path / "res.csv.partial"
    kw = dict(methods=["random"], seeds=1, laws=["sl_1"], workers=1)
    full = bench("parallel", partial=part, **kw)
    pd.read_csv(part).drop(columns=["groups_scored", "groups"]).to_csv(part, index=False)
    monkeypatch.setattr(_bench, "run_trajectory", lambda *a, **k: pytest.fail("replayed"))
    again = bench("parallel", partial=part, resume=True, **kw)
    cols = ["law", "method", "seed", "budget_fraction", "r2", "n_runs"]
    pd.testing.assert_frame_equal(again[cols], full[cols])
    assert again[["groups_scored", "groups"]].isna().all().all()
    assert len(pd.read_csv(part)) == len(full)


def test_final_fit_is_reused_while_the_observed_runs_do_not_change(monkeypatch):
    """all-data observes the whole pool once: its three checkpoint fits are one fit, and a new
    observation triggers a new one."""
    import numpy as np

    from scalinglaws import get_law
    from scalinglaws.design import _propose
    from scalinglaws.design._propose import DesignLoop

    law = get_law("chinchilla")
    truth = np.array([1.69, 406.4, 410.7, 0.34, 0.28])
    rng = np.random.default_rng(0)
    x = {"N": 10 ** rng.uniform(7, 9, 30), "D": 10 ** rng.uniform(9, 11, 30)}
    y = np.asarray(law(truth, x))[:, None]
    calls = []
    real = _propose.fit_multistart
    monkeypatch.setattr(
        _propose, "fit_multistart", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    loop = DesignLoop(law, x, y, 6 * x["N"] * x["D"], np.arange(25), np.arange(25, 30), 1.0)
    loop.observe(range(20))
    first = loop.final_fit(32, polish=8, screen_iter=10)
    np.testing.assert_array_equal(loop.final_fit(32, seed=5, polish=8, screen_iter=10), first)
    assert len(calls) == 1
    np.testing.assert_allclose(first, truth, rtol=1e-3)
    loop.observe([20])
    loop.final_fit(32, polish=8, screen_iter=10)
    assert len(calls) == 2


def _valley_loop(fn, method, rows):
    """A :class:`DesignLoop` of ``y = fn(a, b, x)`` with a, b in [−1, 1], pool x = 1, 2, 0 and
    target x = 3, data from the line 0.2 + 0.3·x; ``rows`` observed and the checkpoint fit
    run. Returns (loop, best parameters)."""
    from scalinglaws._law import Law
    from scalinglaws.design._propose import DesignLoop

    law = Law(
        name="valley", inputs=("x",), params=("a", "b"), bounds=((-1.0, 1.0), (-1.0, 1.0)),
        fn=lambda p, x: fn(p["a"], p["b"], x["x"]),
    )  # fmt: skip
    x = {"x": np.array([1.0, 2.0, 0.0, 3.0])}
    y = (0.2 + 0.3 * x["x"])[:, None]
    lp = DesignLoop(law, x, y, np.ones(4), np.arange(3), np.array([3]), 3.0, method=method)
    lp.observe(rows)
    return lp, lp.final_fit(64, polish=16, screen_iter=10)


_AT3 = {"x": np.array([3.0])}


def test_hedge_predicts_with_the_median_over_optima_the_data_cannot_tell_apart():
    """One run of y = a + b³·x leaves a valley of exact fits (a + b³ = 0.5): hedge predicts with
    the median over the valley's optima, the other methods with the best one. With the law
    identified (three runs), every optimum is the same and both predict the truth."""

    def cubic(a, b, x):
        return a + b**3 * x

    hedge, best = _valley_loop(cubic, "hedge", [0])
    mspe, best_m = _valley_loop(cubic, "mspe", [0])
    np.testing.assert_allclose(best, best_m)
    assert hedge.affine() is None
    valley = hedge._final.near
    np.testing.assert_allclose(valley[:, 0] + valley[:, 1] ** 3, 0.5, atol=1e-6)  # exact fits
    at3 = valley[:, 0] + 3 * valley[:, 1] ** 3
    assert np.ptp(at3) > 0.5  # the valley's predictions at x = 3 differ widely
    np.testing.assert_allclose(hedge.final_predict(_AT3)[0, 0], np.median(at3), rtol=1e-9)
    np.testing.assert_allclose(
        mspe.final_predict(_AT3)[0, 0], best[0] + 3 * best[1] ** 3, rtol=1e-9
    )
    for method in ("hedge", "mspe"):
        lp, _ = _valley_loop(cubic, method, [0, 1, 2])
        np.testing.assert_allclose(lp.final_predict(_AT3)[0, 0], 1.1, rtol=1e-6)


def test_hedge_predicts_an_affine_law_with_the_valley_point_nearest_the_prior_mean():
    """y = a + b·x is affine in (a, b): one run (x = 1) leaves the valley a + b = 0.5, and hedge
    predicts with its MAP under the weak bounds prior (mean 0, equal precisions), the valley's
    minimum-norm point (0.25, 0.25): 1.0 at x = 3, whatever optimum the fit reached. Three
    runs identify the line and the prior's pull is negligible: the truth, 1.1. mspe keeps the
    best optimum."""

    def line(a, b, x):
        return a + b * x

    hedge, _ = _valley_loop(line, "hedge", [0])
    f0, jac = hedge.affine()
    np.testing.assert_allclose(f0[:, 0], 0.0, atol=1e-12)
    np.testing.assert_allclose(jac[:, 0], np.column_stack([np.ones(4), hedge.x["x"]]), rtol=1e-12)
    np.testing.assert_allclose(hedge.final_predict(_AT3)[0, 0], 1.0, rtol=1e-6)
    mspe, best = _valley_loop(line, "mspe", [0])
    np.testing.assert_allclose(mspe.final_predict(_AT3)[0, 0], best[0] + 3 * best[1], rtol=1e-9)
    lp, _ = _valley_loop(line, "hedge", [0, 1, 2])
    np.testing.assert_allclose(lp.final_predict(_AT3)[0, 0], 1.1, rtol=1e-6)


def test_plausible_keeps_predictions_within_the_observed_range_widened_by_its_multiple():
    from scalinglaws.design._propose import plausible

    # output ranges: 1 (lo 1, hi 2); none observed; no range yet (two equal outcomes)
    y = np.array([[1.0, np.nan, 5.0], [2.0, np.nan, 5.0]])
    pred = np.array([
        [[-0.99, 1e9, -1e9]],  # inside: 1 − 2·1 ≤ −0.99; the other two only need be finite
        [[4.01, 0.0, 5.0]],  # above 2 + 2·1
        [[1.5, np.inf, 5.0]],  # not finite
        [[1.5, 0.0, np.nan]],  # not finite
    ])  # fmt: skip
    np.testing.assert_array_equal(plausible(pred, y, 2.0), [True, False, False, False])
    np.testing.assert_array_equal(plausible(pred, y, ranges=2.1), [True, True, False, False])
    np.testing.assert_array_equal(plausible(pred, y, ranges=1.9), [False, False, False, False])


def test_hedge_sets_aside_optima_whose_target_predictions_are_implausible(monkeypatch):
    """The checkpoint fit's two best optima predict 24 and 16 at x = 3, where the two runs
    observed 0.5 and 0.8 (envelope [−2.5, 3.8]): hedge predicts with the near optima of the
    best plausible one (the median of 1.0 and 1.2), mspe with the best. When no optimum is
    plausible, hedge keeps the near optima of the best (the median of 24 and 16)."""
    from scalinglaws.design import _propose

    def cubic(a, b, x):
        return a + b**3 * x

    # (a, b³) and objective: predictions at x = 3 are 24, 16 | 1.0, 1.2 | 1.1; with n = 2 the
    # near optima lie within f·1.5 of the best
    optima = np.array([[0.0, 8.0], [1.0, 5.0], [0.1, 0.3], [0.3, 0.3], [0.2, 0.3]])
    f = np.array([0.010, 0.011, 0.020, 0.029, 0.031, np.inf])
    thetas = np.vstack([optima, optima[:1]])
    thetas[:, 1] = np.cbrt(thetas[:, 1])
    monkeypatch.setattr(_propose, "fit_multistart", lambda *a, **k: (thetas.copy(), f.copy()))
    hedge, _ = _valley_loop(cubic, "hedge", [0, 1])
    np.testing.assert_allclose(hedge.final_predict(_AT3)[0, 0], 1.1, rtol=1e-9)
    mspe, _ = _valley_loop(cubic, "mspe", [0, 1])
    np.testing.assert_allclose(mspe.final_predict(_AT3)[0, 0], 24.0, rtol=1e-9)
    thetas[2:5] = thetas[0]  # no optimum plausible any more
    hedge, _ = _valley_loop(cubic, "hedge", [0, 1])
    np.testing.assert_allclose(hedge.final_predict(_AT3)[0, 0], 20.0, rtol=1e-9)


def test_the_replay_starts_with_the_whole_cold_start_design():
    """The paper's model-based methods begin with ⌈2.5p/k⌉ cheap runs (its initial design), not
    one run: the replay asks the cold start for all of them at once. ``hedge`` begins with one."""
    import types

    import numpy as np

    from scalinglaws._law import Law
    from scalinglaws.design._bench import _advance
    from scalinglaws.design._propose import DesignLoop

    quad = Law(
        name="quad", inputs=("x",), params=("a", "b", "c"),
        bounds=((-5.0, 5.0), (-5.0, 5.0), (-5.0, 5.0)),
        fn=lambda p, x: p["a"] + p["b"] * x["x"] + p["c"] * x["x"] ** 2,
    )  # fmt: skip
    x = {"x": np.linspace(-1, 1, 41)}
    y = (1 + x["x"] - 2 * x["x"] ** 2)[:, None]
    costs = 1.0 + np.abs(x["x"])  # cheapest in the middle
    cand, total = np.arange(40), float(costs[:40].sum())
    g = types.SimpleNamespace(total=total, costs=costs)
    for method in ("mspe", "dopt"):
        lp = DesignLoop(
            quad, x, y, costs, cand, np.array([40]), total, method=method,
            init_budget=0.5 * total, cold_start="cheapest",
        )  # fmt: skip
        assert lp.n_init == 8
        spent = [0.0]
        _advance(lp, g, 0.5, 0.5, method, spent, [[]], 0, 0.1)
        cheapest8 = np.argsort(costs[:40], kind="stable")[:8]
        assert sorted(lp.observed[:8]) == sorted(cheapest8.tolist())
        assert spent[0] <= 0.5 * total * (1 + 1e-12)  # the replay's own tolerance
    # hedge starts from the cheapest run alone; a space-filling start keeps the paper's size
    for cold, n in (("cheapest", 1), ("spread", 8)):
        lp = DesignLoop(quad, x, y, costs, cand, np.array([40]), total, method="hedge",
                        init_budget=0.5 * total, cold_start=cold)  # fmt: skip
        assert lp.n_init == n


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux /proc")
def test_a_law_job_leaves_no_compiled_code_behind():
    # XLA maps each compiled executable into memory; a bench worker that kept every law's
    # kernels hit the kernel's 65,530-mapping limit after some ten laws and died
    # (`sl bench --task all`, 2026-11-23). Without the release this job adds ~500 mappings.
    from scalinglaws.design._bench import run_law

    def mappings() -> int:
        return len(Path("/proc/self/maps").read_text().splitlines())

    run_law("parallel", "sl_2", [("random", 0)], {})  # imports and first-use set-up
    before = mappings()
    rows = run_law("parallel", "sl_1", [("random", 0)], {})
    assert len(rows) == 3
    assert mappings() - before < 100


def test_seed_free_methods_are_replayed_once_per_law(monkeypatch):
    """cheapest and all-data pick the same runs whatever the seed: run_law replays them once and
    copies the rows; a fresh replay with another seed gives the same rows."""
    from scalinglaws.design import _bench

    calls = []
    real = _bench.run_trajectory
    monkeypatch.setattr(
        _bench, "run_trajectory", lambda *a, **k: calls.append(a[3:5]) or real(*a, **k)
    )
    pairs = [("cheapest", 0), ("cheapest", 3), ("random", 0), ("random", 3)]
    df = pd.DataFrame(_bench.run_law("parallel", "sl_1", pairs, {}))
    assert calls == [("cheapest", 0), ("random", 0), ("random", 3)]
    cols = ["budget_fraction", "r2", "cost_spent", "n_runs"]
    ch = df[df["method"] == "cheapest"]
    a, b = (ch[ch["seed"] == s][cols].reset_index(drop=True) for s in (0, 3))
    pd.testing.assert_frame_equal(a, b)
    assert (ch[ch["seed"] == 3]["seconds"] == 0).all()
    task = _bench.load("parallel")
    law = _bench.get_law("parallel:sl_1")
    fresh = pd.DataFrame(real(task, law, _bench._groups(task, law), "cheapest", 7))[cols]
    pd.testing.assert_frame_equal(fresh, a)
    rnd = df[df["method"] == "random"]
    runs = [rnd[rnd["seed"] == s]["n_runs"].to_numpy() for s in (0, 3)]
    assert (runs[0] != runs[1]).any()  # a seeded method does depend on its seed


def test_hedge_checkpoint_fit_weighs_runs_near_the_target():
    """hedge's checkpoint fit is weighted least squares with weights (d_min / d) toward the
    target rows (HEDGE_LOCALIZE = 1): a line fit to a curve, checked against numpy's weighted
    polyfit; mspe's is the unweighted fit, and localize=0 turns hedge's weights off."""
    import numpy as np

    from scalinglaws._law import Law
    from scalinglaws.design._acquisition import target_distance
    from scalinglaws.design._propose import HEDGE_LOCALIZE, DesignLoop

    line = Law(
        name="line", inputs=("x",), params=("a", "b"), bounds=((-100.0, 100.0), (-100.0, 100.0)),
        fn=lambda p, x: p["a"] + p["b"] * x["x"],
    )  # fmt: skip
    x = {"x": np.array([1.0, 2.0, 3.0, 4.0, 5.0, 8.0])}
    y = (x["x"] ** 2)[:, None]
    pool, target = np.arange(5), np.array([5])

    def fit(method, **kw):
        lp = DesignLoop(line, x, y, np.ones(6), pool, target, 5.0, method=method, **kw)
        lp.observe(pool)
        return lp.final_fit(32, polish=8, screen_iter=10)

    d = target_distance(x, pool, target)
    w = (d.min() / d) ** HEDGE_LOCALIZE
    b, a = np.polyfit(x["x"][:5], y[:5, 0], 1, w=np.sqrt(w))
    np.testing.assert_allclose(fit("hedge"), [a, b], rtol=1e-6)
    b0, a0 = np.polyfit(x["x"][:5], y[:5, 0], 1)
    np.testing.assert_allclose(fit("mspe"), [a0, b0], rtol=1e-6)
    np.testing.assert_allclose(fit("hedge", localize=0.0), [a0, b0], rtol=1e-6)
    assert b > b0 + 0.5  # the slope near x = 5 is steeper: the weighted fit follows it


def test_cpu_sets_split_the_allowed_cpus_one_disjoint_set_per_worker(monkeypatch):
    import os

    from scalinglaws.design._bench import cpu_sets

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {4, 5, 6, 7, 8, 9, 10, 11})
    assert cpu_sets(2) == [{4, 5, 6, 7}, {8, 9, 10, 11}]
    assert cpu_sets(3) == [{4, 5, 6}, {7, 8, 9}, {10, 11}]
    assert cpu_sets(1) is None
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    assert cpu_sets(2) == [{0}, {1}]
    assert cpu_sets(3) == [{0}, {1}, {0}]  # more workers than CPUs: round robin
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3})
    assert cpu_sets(2) is None


@pytest.mark.skipif(not hasattr(__import__("os"), "sched_setaffinity"), reason="no CPU affinity")
def test_a_worker_is_pinned_to_its_cpus_and_starts_with_one_blas_thread(monkeypatch):
    import os
    import queue

    from scalinglaws.design import _bench

    pins = queue.Queue()
    mine = os.sched_getaffinity(0)
    pins.put({min(mine)})
    try:
        _bench._init_worker(pins)
        assert os.sched_getaffinity(0) == {min(mine)}
    finally:
        os.sched_setaffinity(0, mine)
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the user's own setting wins
    monkeypatch.delenv("SL_SET_DURING_BENCH", raising=False)
    with _bench._worker_env():
        assert os.environ["OPENBLAS_NUM_THREADS"] == "1" and os.environ["OMP_NUM_THREADS"] == "3"
        os.environ["SL_SET_DURING_BENCH"] = "x"  # set by something else while the pool is open
    assert "OPENBLAS_NUM_THREADS" not in os.environ and os.environ["OMP_NUM_THREADS"] == "3"
    assert os.environ.pop("SL_SET_DURING_BENCH") == "x"  # kept: only WORKER_ENV is undone


def test_two_workers_give_the_rows_of_one():
    kw = dict(methods=["random", "hedge"], seeds=[1], laws=["sl_1", "sl_2"])
    cols = ["task", "law", "method", "seed", "budget_fraction", "r2", "n_runs"]
    one = bench("parallel", workers=1, **kw)[cols]
    two = bench("parallel", workers=2, **kw)[cols]
    pd.testing.assert_frame_equal(one, two)


def test_predict_target_is_the_estimator_the_replay_scores():
    """``predict_target`` on the runs a ``hedge`` replay holds at a checkpoint predicts what the
    replay scored there (moe sl_4 at 1%). The two differ only in the scale of the target
    distances (the runs appear twice among ``predict_target``'s rows) and in the warm starts
    the replay's design fits give."""
    from scalinglaws.design import _bench, predict_target

    task = _bench.load("moe")
    law = _bench.get_law("moe:sl_4")
    groups = _bench._groups(task, law)
    loops = _bench.design_loops(law, groups, "hedge", 0)
    spent, pending = [0.0] * len(groups), [[] for _ in groups]
    polish, screen = _bench.checkpoint_schedule(law)
    for gi, (g, loop) in enumerate(zip(groups, loops, strict=True)):
        _bench._advance(loop, g, 0.01, 0.1, "hedge", spent, pending, gi, 0.1)
        assert len(loop.observed) >= 10
        loop.final_fit(256, seed=gi, polish=polish, screen_iter=screen)
        scored = loop.final_predict({k: v[g.m :] for k, v in g.x.items()})
        name = pd.unique(task.train[task.group])[gi]
        tr = task.train[task.train[task.group] == name].reset_index(drop=True)
        te = task.test[task.test[task.group] == name]
        est = predict_target(tr, law, cost=task.cost, runs=tr.iloc[loop.observed], target=te,
                             method="hedge", seed=gi)  # fmt: skip
        # 3e-7 here; mspe's estimator (the best optimum of an unweighted fit) is 2% away
        np.testing.assert_allclose(est[list(law.outputs)].to_numpy(), scored, rtol=1e-4)
