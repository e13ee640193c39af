"""`sl fit --uncertainty`, `sl predict` / `sl optimal` intervals, `sl plot`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import scalinglaws as sl
from scalinglaws.cli._main import cli

TRUE = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def one_error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli_unc")
    rng = np.random.default_rng(0)
    N = np.repeat(np.geomspace(1e7, 3e8, 6), 8)
    D = N * np.tile(np.geomspace(2, 200, 8), 6)
    y = sl.get_law("chinchilla")(TRUE, {"N": N, "D": D}) * np.exp(
        0.01 * rng.standard_normal(N.size)
    )
    pd.DataFrame({"N": N, "D": D, "loss": y}).to_csv(d / "runs.csv", index=False)
    Nb = np.array([1e9, 3e9])
    pd.DataFrame(
        {"N": Nb, "D": 20 * Nb, "loss": sl.get_law("chinchilla")(TRUE, {"N": Nb, "D": 20 * Nb})}
    ).to_csv(d / "big.csv", index=False)
    r = run("fit", d / "runs.csv", "--law", "chinchilla", "--loss", "log-mse", "--starts", 32,
            "--uncertainty", "laplace", "--draws", 1000, "--json", d / "fit.json")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "posterior (laplace" in r.output
    r = run(
        "fit",
        d / "runs.csv",
        "--law",
        "chinchilla",
        "--loss",
        "log-mse",
        "--starts",
        32,
        "--json",
        d / "plain.json",
    )
    assert r.exit_code == 0, r.output
    return d


def test_fit_stores_summary_and_draws(files: Path):
    rec = json.loads((files / "fit.json").read_text())
    post = rec["posterior"]
    assert post["method"] == "laplace" and post["draws"] == "fit.draws.npz"
    assert set(post["params"]) == {"E", "A", "B", "alpha", "beta"}
    for v in post["params"].values():
        assert v["lower"] <= v["mean"] <= v["upper"] and v["sd"] > 0
    assert post["modes"] and abs(sum(m["weight"] for m in post["modes"]) - 1) < 1e-9
    assert (files / "fit.draws.npz").exists()


def test_predict_interval_json(files: Path):
    r = run("predict", files / "fit.json", "--at", "N=7e10,D=1.4e12", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["lower"] < out["prediction"] < out["upper"]
    truth = float(sl.get_law("chinchilla")(TRUE, {"N": [7e10], "D": [1.4e12]})[0])
    assert out["upper"] / out["lower"] < 1.3 and out["lower"] * 0.9 < truth < out["upper"] * 1.1
    r2 = run(
        "predict",
        files / "fit.json",
        "--at",
        "N=7e10,D=1.4e12",
        "--json",
        "--new-run",
        "--interval",
        "0.5",
    )
    out2 = json.loads(r2.output)
    assert out2["new_run"] is True and out2["interval"] == 0.5


def test_predict_without_posterior_keeps_point(files: Path):
    r = run("predict", files / "plain.json", "--at", "N=7e10,D=1.4e12", "--json")
    assert r.exit_code == 0, r.output
    assert set(json.loads(r.output)) == {"at", "prediction"}
    r = run("predict", files / "plain.json", "--at", "N=7e10,D=1.4e12")
    assert "no interval" in r.output


def test_optimal_intervals(files: Path):
    r = run("optimal", files / "fit.json", "--compute", "5.76e23", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    for k in ("N", "D", "loss"):
        assert out[f"{k}_lower"] < out[k] < out[f"{k}_upper"], (k, out)


def test_plot(files: Path):
    png = files / "plot.png"
    r = run("plot", files / "fit.json", "--to", "N=7e10,D=1.4e12", "--data", files / "runs.csv",
            "--held-out", files / "big.csv", "-o", png)  # fmt: skip
    assert r.exit_code == 0, r.output
    assert png.stat().st_size > 10_000


def test_errors_are_one_line(files: Path):
    one_error(run("plot", files / "plain.json", "--to", "N=7e10,D=1e12", "-o", files / "x.png"))
    one_error(run("plot", files / "fit.json", "--to", "N=7e10", "-o", files / "x.png"))
    one_error(run("predict", files / "fit.json", "--at", "N=7e10,D=1.4e12", "--interval", "1.5"))
    one_error(run("fit", files / "runs.csv", "--law", "chinchilla", "--uncertainty", "magic"))
    rec = json.loads((files / "fit.json").read_text())
    rec["posterior"]["draws"] = "missing.draws.npz"
    (files / "broken.json").write_text(json.dumps(rec))
    msg = one_error(run("predict", files / "broken.json", "--at", "N=7e10,D=1.4e12"))
    assert "missing.draws.npz" in msg


def test_nuts_chains_run_in_parallel_under_sl(files: Path):
    """A fresh ``sl`` process gives JAX one CPU device per core; NUTS deals its chains out to
    them and still agrees with the Laplace posterior of this near-Gaussian fit."""
    import os
    import subprocess
    import sys

    out = files / "nuts.json"
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    code = "from scalinglaws.cli._main import main; main()"
    subprocess.run(
        [sys.executable, "-c", code, "fit", str(files / "runs.csv"), "--law", "chinchilla",
         "--loss", "log-mse", "--starts", "32", "--uncertainty", "nuts", "--chains", "2",
         "--warmup", "200", "--draws", "300", "--json", str(out)],
        check=True, env=env, timeout=600, capture_output=True,
    )  # fmt: skip
    nuts = json.loads(out.read_text())["posterior"]
    lap = json.loads((files / "fit.json").read_text())["posterior"]["params"]
    expected = "parallel" if len(os.sched_getaffinity(0)) > 1 else "sequential"
    assert nuts["diagnostics"]["chain_method"] == expected
    for p, v in nuts["params"].items():
        assert abs(v["mean"] - lap[p]["mean"]) < 0.5 * lap[p]["sd"], (p, v, lap[p])
        assert 0.6 < v["sd"] / lap[p]["sd"] < 1.6, (p, v, lap[p])
