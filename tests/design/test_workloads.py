"""Tests for the reference workloads: the tiny JAX LM and the noisy-solver inference task."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from scalinglaws.design._workload_infer import load_problems, run_inference, solve_probability
from scalinglaws.design._workload_lm import lm_shape, load_corpus, train_lm

SMALL_N, LARGE_N = 4e3, 5e4
SHORT_D, LONG_D = 6e4, 2.4e5


@pytest.fixture(scope="module")
def lm_runs():
    # two model shapes only (one XLA compilation each); the D sweep reuses the small shape
    return {
        (SMALL_N, SHORT_D): train_lm(SMALL_N, SHORT_D, seed=0),
        (SMALL_N, LONG_D): train_lm(SMALL_N, LONG_D, seed=0),
        (LARGE_N, SHORT_D): train_lm(LARGE_N, SHORT_D, seed=0),
    }


def test_lm_shape_ladder_is_monotone():
    counts = [lm_shape(n)[2] for n in [1e3, 3e3, 1e4, 3e4, 1e5, 3e5, 1e6]]
    assert counts == sorted(counts) and counts[0] < counts[-1]
    depth, width, count = lm_shape(2e4)
    assert width % 16 == 0 and 0.5 < count / 2e4 < 2
    assert len(load_corpus()) > 200_000


def test_lm_loss_falls_with_N_and_D(lm_runs):
    small = lm_runs[(SMALL_N, SHORT_D)]
    longer = lm_runs[(SMALL_N, LONG_D)]
    larger = lm_runs[(LARGE_N, SHORT_D)]
    assert larger["N"] > small["N"] and longer["D"] > small["D"]
    assert larger["loss"] < small["loss"] - 0.1, (small, larger)
    assert longer["loss"] < small["loss"] - 0.1, (small, longer)
    for r in lm_runs.values():
        assert 1.0 < r["loss"] < 4.5  # below the uniform loss ln(57) = 4.04 plus slack
        assert r["flops"] == r["cost"] == 6.0 * r["N"] * r["D"]
        assert r["tokens_per_s"] > 0


def test_lm_is_deterministic_and_cli(lm_runs, tmp_path):
    again = train_lm(SMALL_N, SHORT_D, seed=0)
    assert again["loss"] == pytest.approx(lm_runs[(SMALL_N, SHORT_D)]["loss"], abs=1e-4)
    out = tmp_path / "r.json"
    proc = subprocess.run(
        [sys.executable, "-m", "scalinglaws.design.workload_lm", "--N", "4000", "--D", "5000"]
        + ["--result", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    last = json.loads(proc.stdout.strip().splitlines()[-1])
    assert last == json.loads(out.read_text())
    assert last["N"] == lm_shape(4000)[2] and last["D"] == 5120


def test_inference_counts_in_range_and_deterministic(tmp_path):
    a = run_inference(16, 50, seed=0)
    assert a == run_inference(16, 50, seed=0)
    assert a["k"] == 16 and a["cost"] == 800 and len(a["per_problem"]) == 50
    assert all(s == 16 and 0 <= c <= 16 for _, s, c in a["per_problem"])
    assert a["pass_at_k"] == sum(c > 0 for _, _, c in a["per_problem"]) / 50
    b = run_inference(16, 50, seed=1)
    assert a["per_problem"] != b["per_problem"]
    # per-problem results do not depend on how many problems are evaluated
    assert run_inference(16, 10, seed=0)["per_problem"] == a["per_problem"][:10]
    # pass@k rises with k; heavy left tail: some problems stay unsolved at k = 64
    many = run_inference(64, None, seed=0)
    one = run_inference(1, None, seed=0)
    assert one["pass_at_k"] < many["pass_at_k"] < 1.0
    probs = [solve_probability(p) for p in load_problems()]
    assert len(probs) == 200 and sum(p < 0.05 for p in probs) >= 40


def test_inference_cli(tmp_path):
    out = tmp_path / "counts.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "scalinglaws.design.workload_infer", "--k", "8"]
        + ["--problems", "20", "--seed", "3", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    with open(out) as fh:
        rows = list(csv.DictReader(fh))
    assert [[int(r["problem"]), int(r["samples"]), int(r["correct"])] for r in rows] == result[
        "per_problem"
    ]
    assert result == run_inference(8, 20, seed=3)
