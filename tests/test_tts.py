"""Test-time scaling laws: closed forms, recovery on synthetic data, bad counts, CLI, notebook."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

import scalinglaws as sl
import scalinglaws._tts as tts
from scalinglaws._losses import make_loss

LOSS = make_loss("mse")  # one Loss object, so compiled fitting code is shared by the tests
ROOT = Path(__file__).resolve().parents[1]


# -- unbiased pass@k ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "n,c,k",
    [(10, 3, 1), (10, 3, 2), (10, 3, 7), (10, 3, 8), (10, 0, 5), (10, 10, 1), (50, 7, 20), (200, 1, 100),
     (1, 1, 1), (1, 0, 1), (100, 99, 100)],
)  # fmt: skip
def test_unbiased_matches_combinatorics(n, c, k):
    brute = 1.0 - math.comb(n - c, k) / math.comb(n, k)
    assert tts.pass_at_k_unbiased(n, c, k) == pytest.approx(brute, rel=1e-10, abs=1e-13)


@pytest.mark.parametrize("rate,k", [(0.3, 1), (0.3, 5), (0.01, 50), (0.9, 3)])
def test_unbiased_large_n_limit(rate, k):
    n = 10**7
    c = round(rate * n)
    assert tts.pass_at_k_unbiased(n, c, k) == pytest.approx(1 - (1 - c / n) ** k, rel=1e-5)


def test_unbiased_broadcasts_and_curve():
    v = tts.pass_at_k_unbiased(np.array([10, 20]), np.array([2, 5]), np.array([[1], [3]]))
    assert v.shape == (2, 2)
    curve = tts.pass_at_k_curve([10, 10, 10], [0, 5, 10])
    assert list(curve["k"]) == list(range(1, 11))
    assert curve["pass_at_k"].iloc[0] == pytest.approx((0 + 0.5 + 1) / 3)
    assert np.all(np.diff(curve["pass_at_k"]) >= 0)


@pytest.mark.parametrize("n,c,k", [(10, 11, 1), (10, 3, 11), (10, -1, 1), (10.5, 3, 1), (10, 3, 0)])
def test_unbiased_rejects_bad_counts(n, c, k):
    with pytest.raises(sl.DataError):
        tts.pass_at_k_unbiased(n, c, k)


# -- the Beta-Binomial likelihood and E[pass@k] --------------------------------------------------
@pytest.mark.parametrize("a,b", [(0.3, 3.0), (0.05, 0.5), (2.0, 40.0), (500.0, 2.0)])
def test_nll_matches_scipy_betabinom(a, b):
    rng = np.random.default_rng(0)
    n = rng.integers(1, 300, size=60).astype(float)
    c = np.floor(rng.uniform(0, 1, 60) * (n + 1)).clip(0, n)
    ref = -stats.betabinom.logpmf(c, n, a, b).sum()
    params = {"alpha": a, "beta": b}
    got = float(tts.beta_binomial_nll(params, {"samples": n, "correct": c}))
    assert got == pytest.approx(ref, rel=1e-10)
    packed = tts.compress_counts(np.concatenate([n, n]), np.concatenate([c, c]))
    assert float(tts.beta_binomial_nll(params, packed)) == pytest.approx(2 * ref, rel=1e-10)
    assert packed["weight"].sum() == 120 and len(packed["weight"]) == 64


@pytest.mark.parametrize("a,b,k", [(0.3, 3.0, 1), (0.3, 3.0, 17), (0.1, 1.0, 1000), (2.0, 5.0, 3)])
def test_expected_pass_at_k_closed_form(a, b, k):
    law = sl.get_law("pass-at-k-beta")

    def integrand(p):
        return -np.expm1(k * np.log1p(-p)) * stats.beta.pdf(p, a, b)

    quad = sum(integrate.quad(integrand, lo, hi, limit=200)[0] for lo, hi in ((0, 1e-6), (1e-6, 1)))
    got = law({"alpha": a, "beta": b}, {"k": [k]})[0]
    assert got == pytest.approx(quad, rel=1e-6)
    assert tts.beta_pass_at_k({"alpha": a, "beta": b}, k) == pytest.approx(got, rel=1e-9)
    if k == 1:
        assert got == pytest.approx(a / (a + b), rel=1e-10)


def test_summary_power_law_exponent():
    a, b = 0.3, 3.0
    s = tts.beta_summary({"alpha": a, "beta": b}, ks=(10, 1e4, 1e8))
    assert s["power_law_exponent"] == a
    k = 1e10
    miss = 1 - tts.beta_pass_at_k({"alpha": a, "beta": b}, k)
    assert miss * k**a == pytest.approx(s["power_law_prefactor"], rel=1e-6)
    # the local exponent of -log pass@k decreases towards alpha
    assert s["local_exponent_k10"] > s["local_exponent_k10000"] > s["local_exponent_k100000000"]
    # ... up to -log(1 - m) = m + m²/2 + …: the exponent is α(1 + m/2) with m = 1 - pass@k
    m = 1 - tts.beta_pass_at_k({"alpha": a, "beta": b}, 1e8)
    assert s["local_exponent_k100000000"] == pytest.approx(a * (1 + m / 2), rel=1e-4)


# -- saturation budgets: closed forms vs brute force -----------------------------------------------
def _brute(gain, eps, n_max):
    k = np.arange(1, n_max, dtype=np.float64)
    g = np.abs(gain(k))
    peak = int(np.argmax(g))
    return float(k[peak + np.flatnonzero(g[peak:] < eps)[0]])


@pytest.mark.parametrize(
    "f_max,p,eps",
    [(0.8, 0.05, 1e-3), (0.6, 0.3, 1e-4), (1.0, 0.001, 1e-6), (0.5, 0.5, 0.2), (0.9, 0.02, 1e-5)],
)
def test_ttspm_saturation_formula(f_max, p, eps):
    params = {"F_max": f_max, "p": p}
    got = tts.ttspm_saturation(params, eps)
    closed = max(math.ceil(math.log(eps / (f_max * p)) / math.log(1 - p)), 1)
    assert got == closed

    def gain(n):
        return f_max * ((1 - (1 - p) ** (n + 1)) - (1 - (1 - p) ** n))

    assert got == _brute(gain, eps, 200_000)


@pytest.mark.parametrize(
    "a,b,eps", [(0.3, 3.0, 1e-3), (0.1, 1.0, 1e-4), (2.0, 5.0, 1e-5), (0.5, 50.0, 1e-3)]
)
def test_beta_saturation_brute_force(a, b, eps):
    params = {"alpha": a, "beta": b}

    def gain(k):
        return tts.beta_pass_at_k(params, k + 1) - tts.beta_pass_at_k(params, k)

    assert tts.beta_saturation(params, eps) == _brute(gain, eps, 300_000)


@pytest.mark.parametrize("a,b,eps", [(-2.0, -0.3, 1e-3), (-8.0, -0.5, 1e-4), (-0.5, -1.0, 1e-5)])
def test_coverage_saturation_brute_force(a, b, eps):
    params = {"a": a, "b": b}

    def gain(k):
        return np.exp(a * (k + 1) ** b) - np.exp(a * k**b)

    assert np.allclose(
        tts.coverage_gain(params, np.arange(1.0, 1000)), gain(np.arange(1.0, 1000)), atol=1e-14
    )
    assert tts.coverage_saturation(params, eps) == _brute(gain, eps, 300_000)


@pytest.mark.parametrize(
    "r0,A,B,c_mid,eps",
    [(0.1, 0.7, 1.5, 1e3, 1e-3), (0.0, 0.9, 0.5, 1e20, 1e-2), (0.2, 0.6, 3.0, 10.0, 1e-4)],
)
def test_sigmoid_asymptote_and_saturation(r0, A, B, c_mid, eps):
    law = sl.get_law("sigmoid-compute")
    params = {"R0": r0, "A": A, "B": B, "C_mid": c_mid}
    assert law(params, {"compute": [c_mid * 1e40]})[0] == pytest.approx(A, abs=1e-12)
    assert law(params, {"compute": [c_mid * 1e-40]})[0] == pytest.approx(r0, abs=1e-12)
    assert law(params, {"compute": [c_mid]})[0] == pytest.approx((r0 + A) / 2, rel=1e-12)
    assert law.extras["asymptote"](params) == A
    c_star = tts.sigmoid_saturation(params, eps)

    def gain(c):
        return law(params, {"compute": 2 * c}) - law(params, {"compute": c})

    grid = c_mid * np.geomspace(1e-3, 1e6, 20001)
    g = gain(grid)
    brute = grid[np.argmax(g) + np.flatnonzero(g[np.argmax(g) :] < eps)[0]]
    assert c_star == pytest.approx(brute, rel=2e-3)
    assert gain(np.array([c_star]))[0] == pytest.approx(eps, rel=1e-6)


def test_saturation_edge_cases():
    assert tts.ttspm_saturation({"F_max": 0.5, "p": 0.1}, 1.0) == 1.0  # any step gains < eps
    assert tts.beta_saturation({"alpha": 0.001, "beta": 1000.0}, 1e-300) == math.inf
    with pytest.raises(sl.DataError, match="epsilon"):
        tts.ttspm_saturation({"F_max": 0.5, "p": 0.1}, -1e-3)


# -- parameter recovery ----------------------------------------------------------------------------
def _recovery(seeds):
    a, b = 0.3, 3.0
    law = sl.get_law("pass-at-k-beta")
    exact = float(tts.beta_pass_at_k({"alpha": a, "beta": b}, 1e4))
    rel, err = [], []
    for seed in seeds:
        df = tts.simulate_counts(a, b, 500, 100, seed)
        arrays = tts.prepare_counts(df, source="simulated.csv")
        fit = sl.fit(law, arrays, starts=16, key=seed, loss=LOSS)
        assert fit.converged and fit.status == ["converged"], fit.status
        rel.append(fit.params["alpha"] / a - 1)
        err.append(law(fit.params, {"k": [1e4]})[0] - exact)
    return np.asarray(rel), np.asarray(err)


def test_pass_at_k_beta_recovery_5_seeds():
    rel, err = _recovery(range(5))
    assert abs(rel.mean()) < 0.10 and np.median(np.abs(rel)) < 0.10
    assert np.abs(err).mean() < 0.02 and np.abs(err).max() < 0.04


@pytest.mark.slow
def test_pass_at_k_beta_recovery_20_seeds():
    rel, err = _recovery(range(20))
    assert abs(rel.mean()) < 0.10 and np.mean(np.abs(rel) < 0.10) >= 0.75
    assert np.abs(err).mean() < 0.02 and np.mean(np.abs(err) < 0.02) >= 0.8


def test_laplace_band_covers_truth():
    a, b = 0.3, 3.0
    law = sl.get_law("pass-at-k-beta")
    df = tts.simulate_counts(a, b, 500, 100, 3)
    arrays = tts.prepare_counts(df, source="simulated.csv")
    fit = sl.fit(law, arrays, starts=16, key=0, loss=LOSS)
    draws = sl.laplace(fit, data=arrays).sample(2000, key=0)
    band = tts.pass_at_k_band(law, draws, [10.0, 1e4], level=0.95)
    truth = tts.beta_pass_at_k({"alpha": a, "beta": b}, np.array([10.0, 1e4]))
    assert np.all(band["lower"] <= truth) and np.all(truth <= band["upper"])
    assert np.all(band["upper"] - band["lower"] < 0.1)


@pytest.mark.slow
def test_nuts_draws_agree_with_laplace():
    law = sl.get_law("pass-at-k-beta")
    arrays = tts.prepare_counts(tts.simulate_counts(0.3, 3.0, 500, 100, 0), source="sim.csv")
    fit = sl.fit(law, arrays, starts=16, key=0, loss=LOSS)
    nuts = tts.nuts_draws(law, arrays, num_warmup=200, num_samples=300)
    lap = sl.laplace(fit, data=arrays).sample(2000, key=0)
    assert np.median(nuts[:, 0]) == pytest.approx(np.median(lap[:, 0]), rel=0.03)
    assert np.std(nuts[:, 0]) == pytest.approx(np.std(lap[:, 0]), rel=0.3)


@pytest.mark.parametrize(
    "name,truth,x",
    [
        ("coverage-power", {"a": -2.5, "b": -0.35}, np.geomspace(1, 1000, 15)),
        ("ttspm", {"F_max": 0.72, "p": 0.04}, np.geomspace(1, 500, 15).round()),
        (
            "sigmoid-compute",
            {"R0": 0.15, "A": 0.62, "B": 1.3, "C_mid": 3e3},
            np.geomspace(10, 1e6, 20),
        ),
    ],
)
def test_residual_laws_recover_parameters(name, truth, x):
    law = sl.get_law(name)
    y = law(truth, {law.inputs[0]: x})
    y = y + np.random.default_rng(1).normal(0, 1e-3, y.shape)
    fit = sl.fit(law, {law.inputs[0]: x, law.outputs[0]: y}, starts=64, key=0, loss=LOSS)
    for p, v in truth.items():
        assert fit.params[p] == pytest.approx(v, rel=0.05), (p, fit.params)
    assert "saturation" in law.extras and "summary" in law.extras


# -- bad count tables ------------------------------------------------------------------------------
BAD = [
    (
        {"problem": [1, 2, 3], "samples": [10, 10, 10], "correct": [3, 11, 2]},
        None,
        r"row 2.*correct.*exceeds samples",
    ),
    (
        {"problem": [1, 2, 3], "samples": [10, -10, 10], "correct": [3, 1, 2]},
        None,
        r"column samples, row 2: negative",
    ),
    (
        {"problem": [1, 2, 3], "samples": [10, 10, 10], "correct": [3, -1, 2]},
        None,
        r"column correct, row 2: negative",
    ),
    (
        {"problem": [1, 2, 3], "samples": [10, 10, 10], "correct": [0.3, 1, 2]},
        None,
        r"column correct, row 1: 0.3 is not a whole",
    ),
    (
        {"problem": [7, 7, 7], "samples": [10, 10, 10], "correct": [3, 1, 2]},
        None,
        r"single problem",
    ),
    ({"samples": [10], "correct": [3]}, None, r"single problem"),
    (
        {"problem": [1, 2], "n": [10, 10], "hits_": [3, 1]},
        None,
        r"no column 'correct'.*--col correct=",
    ),
    ({"k": [1, 2], "pass_at_k": [0.1, 0.2]}, None, r"no column 'samples'.*aggregated"),
    (
        {"problem": [1, 2], "samples": [10, 10], "correct": ["3", "x"]},
        None,
        r"column correct, row 2: 'x' is not a number",
    ),
    ({"problem": [1, 2], "samples": [10, 10], "correct": [0, 0]}, None, r"0 for every problem"),
    ({"problem": [1, 2], "samples": [0, 10], "correct": [0, 1]}, None, r"row 1: 0 samples"),
    (
        {"problem": [1, 2], "samples": [10, 10], "correct": [1, 2]},
        {"tries": "samples"},
        r"not 'tries'.*--col tries=samples",
    ),
    (
        {"problem": [1, 2], "samples": [10, 10], "correct": [1, 2]},
        {"correct": "nope"},
        r"--col correct=nope names no column",
    ),
]


@pytest.mark.parametrize("cols,mapping,pattern", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_prepare_counts_rejects_bad_tables(cols, mapping, pattern):
    with pytest.raises(sl.DataError, match=pattern) as info:
        tts.prepare_counts(pd.DataFrame(cols), mapping, source="samples.csv")
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("samples.csv: ")


def test_prepare_counts_from_file_names_line(tmp_path):
    path = tmp_path / "samples.csv"
    path.write_text("problem,samples,correct\na,10,2\nb,10,12\n")
    with pytest.raises(sl.DataError, match=r"samples.csv: row 2 \(line 3\)"):
        tts.prepare_counts(sl.read_table(path), None, source=str(path))


def test_prepare_counts_sums_batches_and_maps_columns():
    df = pd.DataFrame({"task": ["a", "a", "b", "c"], "n": [5, 5, 10, 10], "ok": [1, 2, 0, 4]})
    arr = tts.prepare_counts(df, {"correct": "ok"}, source="t.csv")
    keep = arr["weight"] > 0
    got = sorted(zip(arr["samples"][keep], arr["correct"][keep], arr["weight"][keep], strict=True))
    assert got == [(10.0, 0.0, 1.0), (10.0, 3.0, 1.0), (10.0, 4.0, 1.0)]


# -- CLI and notebook -----------------------------------------------------------------------------
def _invoke(args):
    from click.testing import CliRunner

    from scalinglaws.cli._common import SLGroup
    from scalinglaws.cli._ttscmd import COMMANDS

    group = SLGroup(name="sl", commands={c.name: c for c in COMMANDS})
    return CliRunner().invoke(group, args)


def test_cli_saturation(tmp_path):
    law = sl.get_law("ttspm")
    x = np.arange(1.0, 65)
    params = {"F_max": 0.8, "p": 0.05}
    fit = sl.fit(law, {"k": x, "pass_at_k": law(params, {"k": x})}, starts=16, loss=LOSS)
    path = sl.save_fit(fit, tmp_path / "fit.json")
    res = _invoke(["saturation", str(path), "--epsilon", "1e-3", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["saturation"] == tts.ttspm_saturation(fit.params, 1e-3) == 72
    assert out["summary"]["asymptote"] == pytest.approx(0.8, rel=1e-6)
    res = _invoke(["saturation", str(path)])
    assert res.exit_code == 0 and "saturation" in res.output and "72" in res.output
    res = _invoke(["saturation", str(path), "--epsilon", "-1"])
    assert res.exit_code == 2 and res.output.count("\n") == 1 and "--epsilon" in res.output


def test_cli_saturation_with_draws_and_wrong_law(tmp_path):
    rec = {"format": 1, "law": "pass-at-k-beta", "params": {"alpha": 0.3, "beta": 3.0},
           "posterior": {"samples": {"alpha": [0.28, 0.3, 0.32], "beta": [3.0, 3.0, 3.0]}}}  # fmt: skip
    path = tmp_path / "fit.json"
    path.write_text(json.dumps(rec))
    out = json.loads(_invoke(["saturation", str(path), "--json", "-e", "1e-5"]).output)
    assert out["lower"] <= out["saturation"] <= out["upper"]
    assert out["saturation"] == tts.beta_saturation(rec["params"], 1e-5)
    assert out["summary"]["power_law_exponent"] == 0.3
    path.write_text(
        json.dumps(
            {
                "law": "chinchilla",
                "params": {"E": 1.7, "A": 400, "B": 400, "alpha": 0.3, "beta": 0.3},
            }
        )
    )
    res = _invoke(["saturation", str(path)])
    assert res.exit_code == 2 and "no saturation budget" in res.output


def test_notebook_executes():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(ROOT / "notebooks" / "test_time_saturation.ipynb", as_version=4)
    nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    ).execute()
    text = "".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )
    assert "saturation budget" in text


def test_laws_are_registered():
    names = sl.list_laws()
    for n in ("pass-at-k-beta", "coverage-power", "ttspm", "sigmoid-compute"):
        assert n in names
        law = sl.get_law(n)
        assert law.reference and law.equation and "cost" in law.extras
