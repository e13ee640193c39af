"""A quick ScaleBench replay on a small task, via the library and the CLI."""

import pandas as pd
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
    df = pd.read_csv(out)
    assert len(df) == 2 * 2 * 3
    assert (tmp_path / "res.png").exists()
    res = CliRunner().invoke(cli, ["bench", "--task", "parallel", "--methods", "magic"])
    assert res.exit_code == 2 and "error:" in res.output


def test_bench_resume_runs_only_unfinished_laws(tmp_path, monkeypatch):
    from scalinglaws.design import _bench

    part = tmp_path / "res.csv.partial"
    full = bench("parallel", methods=["cheapest"], seeds=1, laws=["sl_1", "sl_2"], workers=1,
                 partial=part)  # fmt: skip
    # an interrupted run: sl_2 never finished
    pd.read_csv(part).query("law == 'sl_1'").to_csv(part, index=False)
    calls = []
    real = _bench.run_law
    monkeypatch.setattr(_bench, "run_law", lambda t, n, *a: calls.append(n) or real(t, n, *a))
    again = bench("parallel", methods=["cheapest"], seeds=1, laws=["sl_1", "sl_2"], workers=1,
                  partial=part, resume=True)  # fmt: skip
    assert calls == ["sl_2"]
    cols = ["law", "method", "seed", "budget_fraction", "r2"]
    pd.testing.assert_frame_equal(again[cols], full[cols])
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
