"""`sl fit`, `sl predict`, `sl optimal`, `sl laws`, `sl datasets` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import scalinglaws as sl
from scalinglaws.cli._main import cli

GOOD = Path(__file__).parent / "data" / "good"


@pytest.fixture(scope="module")
def runner():
    return CliRunner()


def test_version_and_help(runner):
    assert runner.invoke(cli, ["--version"]).output.strip() == f"sl, version {sl.__version__}"
    out = runner.invoke(cli, ["--help"]).output
    for cmd in ("fit", "predict", "optimal", "laws", "datasets", "propose", "bench", "saturation"):
        assert cmd in out


def test_fit_predict_optimal_round_trip(runner, tmp_path):
    fj = tmp_path / "fit.json"
    r = runner.invoke(
        cli,
        [
            "fit",
            str(GOOD / "chinchilla_runs.csv"),
            "--law",
            "chinchilla",
            "--starts",
            "32",
            "--json",
            str(fj),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "status: converged" in r.output
    rec = json.loads(fj.read_text())
    assert set(rec) >= {"law", "params", "objective", "loss", "n_runs", "status", "modes"}
    assert set(rec["params"]) == {"E", "A", "B", "alpha", "beta"}
    assert rec["law"] == "chinchilla" and rec["n_runs"] == 40 and rec["loss"] == "huber-log"
    assert all({"params", "objective"} <= set(m) for m in rec["modes"])
    r = runner.invoke(cli, ["predict", str(fj), "--at", "N=7e10,D=1.4e12", "--json"])
    assert r.exit_code == 0, r.output
    pred = json.loads(r.output)["prediction"]
    law = sl.get_law("chinchilla")
    expect = law(rec["params"], {"N": np.array([7e10]), "D": np.array([1.4e12])})[0]
    np.testing.assert_allclose(pred, expect, rtol=1e-12)
    r = runner.invoke(cli, ["optimal", str(fj), "--compute", "5.76e23", "--json"])
    assert r.exit_code == 0, r.output
    opt = json.loads(r.output)
    np.testing.assert_allclose(6 * opt["N"] * opt["D"], 5.76e23, rtol=1e-9)


def test_compute_column_is_converted(runner):
    r = runner.invoke(
        cli, ["fit", str(GOOD / "compute_runs.csv"), "--law", "chinchilla", "--starts", "16"]
    )
    assert r.exit_code == 0, r.output
    assert "note: derived D" in r.output


def test_column_mapping_formula_and_groups(runner, tmp_path):
    x = np.geomspace(1e15, 1e20, 24)
    df = pd.DataFrame(
        {
            "flops": np.tile(x, 2),
            "val": np.r_[2 + 30 * x**-0.1, 1.5 + 50 * x**-0.12],
            "ds": ["a"] * 24 + ["b"] * 24,
        }
    )
    p = tmp_path / "runs.parquet"
    df.to_parquet(p)
    fj = tmp_path / "g.json"
    r = runner.invoke(cli, [
        "fit", str(p), "--formula", "E + A*x**(-alpha)", "--param", "E=0:10", "--param", "A=1e-3:1e6",
        "--param", "alpha=0:2", "--col", "x=flops", "--col", "loss=val", "--group", "ds", "--loss", "mse",
        "--starts", "64", "--json", str(fj),
    ])  # fmt: skip
    assert r.exit_code == 0, r.output
    rec = json.loads(fj.read_text())
    assert set(rec["groups"]) == {"a", "b"}
    np.testing.assert_allclose(rec["groups"]["a"]["params"]["alpha"], 0.1, rtol=1e-3)
    np.testing.assert_allclose(rec["groups"]["b"]["params"]["E"], 1.5, rtol=1e-3)
    r = runner.invoke(cli, ["predict", str(fj), "--group", "b", "--at", "x=1e22", "--json"])
    assert r.exit_code == 0, r.output
    np.testing.assert_allclose(
        json.loads(r.output)["prediction"], 1.5 + 50 * 1e22**-0.12, rtol=1e-3
    )
    r = runner.invoke(cli, ["predict", str(fj), "--at", "x=1e22"])
    assert r.exit_code == 2 and "pick one with --group" in r.output


def test_law_file_and_dataset(runner):
    from scalinglaws.datasets import laws_file

    f = laws_file("parallel")
    r = runner.invoke(cli, ["laws", "list", "--law-file", str(f)])
    assert r.exit_code == 0 and "sl_1" in r.output
    r = runner.invoke(
        cli, ["fit", "--dataset", "parallel", "--law", "sl_2", "--starts", "32", "--loss", "mse"]
    )
    assert r.exit_code == 0, r.output
    assert "group stack" in r.output and "R² on the target region" in r.output


def test_laws_and_datasets_listing(runner):
    r = runner.invoke(cli, ["laws", "show", "chinchilla"])
    assert (
        r.exit_code == 0 and "L = E + A/N^alpha + B/D^beta" in r.output and "Hoffmann" in r.output
    )
    assert "farseer" in runner.invoke(cli, ["laws", "list"]).output
    out = runner.invoke(cli, ["datasets", "list"]).output
    assert out.count("_scaling_law") == 8
    r = runner.invoke(cli, ["datasets", "show", "farseer"])
    assert "6 * N * D" in r.output and "CC-BY-4.0" in r.output


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["fit", "RUNS", "--law", "nope"], "unknown law 'nope'"),
        (["fit", "RUNS"], "no law given"),
        (["fit", "RUNS", "--formula", "E + A*N**(-a)"], "--param"),
        (["fit", "RUNS", "--formula", "E*N", "--param", "E=0"], "NAME=LO:HI"),
        (["fit", "RUNS", "--law", "chinchilla", "--grid", "mine"], "unknown --grid"),
        (["fit", "RUNS", "--law", "chinchilla", "--col", "Q=params"], "has no input or output"),
        (["predict", "missing.json", "--at", "N=1"], "no such file"),
        (["fit", "--dataset", "nope", "--law", "chinchilla"], "nope"),
        (["laws", "show", "nope"], "unknown law"),
    ],
)
def test_cli_errors_are_one_line_with_status_2(runner, args, fragment):
    args = [str(GOOD / "chinchilla_runs.csv") if a == "RUNS" else a for a in args]
    r = runner.invoke(cli, args)
    assert r.exit_code == 2, r.output
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), r.output
    assert fragment in lines[0]
    assert "Traceback" not in r.output


def test_predict_rejects_wrong_inputs(runner, tmp_path):
    fj = tmp_path / "fit.json"
    runner.invoke(
        cli,
        [
            "fit",
            str(GOOD / "chinchilla_runs.csv"),
            "--law",
            "chinchilla",
            "--starts",
            "8",
            "--json",
            str(fj),
        ],
    )
    r = runner.invoke(cli, ["predict", str(fj), "--at", "N=1e9"])
    assert r.exit_code == 2 and "lacks D" in r.output
    r = runner.invoke(cli, ["predict", str(fj), "--at", "N=1e9,D=1e10,Q=3"])
    assert r.exit_code == 2 and "not an input" in r.output
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    r = runner.invoke(cli, ["predict", str(bad), "--at", "N=1e9,D=1e10"])
    assert r.exit_code == 2 and "not valid JSON" in r.output
