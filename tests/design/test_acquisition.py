"""Acquisition math: closed forms against brute force; cost models and budgets."""

import numpy as np
import pandas as pd
import pytest

import scalinglaws  # noqa: F401  (float64)
from scalinglaws.design._acquisition import (
    condition,
    dopt_gain,
    mspe_inter_gain,
    select_batch,
    vopt_gain,
)
from scalinglaws.design._budget import DesignError, parse_budget
from scalinglaws.design._costs import CostModel, cost_model, fit_cost_model


def _problem(k, seed=0, m=7, t=5, p=4):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(p, p))
    cov = a @ a.T + 0.1 * np.eye(p)
    return cov, rng.normal(size=(m, k, p)), rng.normal(size=(t * k, p))


@pytest.mark.parametrize("k", [1, 3])
def test_vopt_is_the_drop_in_target_variance(k):
    cov, jc, jt = _problem(k)
    s2 = 0.3
    gain = vopt_gain(cov, jc, jt, s2)
    before = np.trace(jt @ cov @ jt.T)
    brute = [before - np.trace(jt @ condition(cov, jc[i], s2) @ jt.T) for i in range(len(jc))]
    np.testing.assert_allclose(gain, brute, rtol=1e-9)
    assert np.all(gain >= 0)


@pytest.mark.parametrize("k", [1, 2])
def test_dopt_is_log_det_gain(k):
    cov, jc, _ = _problem(k, seed=1)
    s2 = 0.5
    g = dopt_gain(cov, jc, s2)
    brute = [np.linalg.slogdet(np.eye(k) + jc[i] @ cov @ jc[i].T / s2)[1] for i in range(len(jc))]
    np.testing.assert_allclose(g, brute, rtol=1e-9)


def test_mspe_inter_term():
    cov, jc, jt = _problem(1, seed=2)
    jc1, jt1 = jc[:, 0, :], jt
    covs = np.stack([cov, cov])
    mu_c = np.stack([np.linspace(0, 1, 7), np.linspace(0, 1, 7)])
    mu_t = np.stack([np.zeros(5), np.ones(5)])
    w = np.array([0.5, 0.5])
    g = mspe_inter_gain(
        w, covs, mu_c, np.stack([jc1, jc1]), mu_t, np.stack([jt1, jt1]), 0.1, (-50, 50)
    )
    assert g.shape == (7,) and np.all(g >= 0)
    assert np.all(g <= 0.25 * 5 + 1e-9)  # at most V_inter_before = w1 w2 ‖Δ‖²
    # certain modes (tiny Σ: no Kalman shift) that disagree at the candidates by 50σ are told
    # apart by any observation: the whole disagreement goes away
    tiny = np.stack([1e-10 * np.eye(4)] * 2)
    mu_c2 = np.stack([np.zeros(7), 5 * np.ones(7)])
    g2 = mspe_inter_gain(
        w, tiny, mu_c2, np.stack([jc1, jc1]), mu_t, np.stack([jt1, jt1]), 0.01, (-50, 50)
    )
    np.testing.assert_allclose(g2, 0.25 * 5, rtol=1e-3)
    one = mspe_inter_gain(
        w[:1], covs[:1], mu_c[:1], np.stack([jc1]), mu_t[:1], np.stack([jt1]), 0.1, (-5, 5)
    )
    assert np.all(one == 0)


def test_select_batch_respects_remaining_and_is_deterministic():
    costs = np.array([5.0, 1.0, 2.0, 3.0, 4.0])
    for method in ["random", "cheapest", "inverse-cost"]:
        a = select_batch(method, costs=costs, total_cost=15.0, remaining=6.0, q=10,
                         rng=np.random.default_rng(3))  # fmt: skip
        b = select_batch(method, costs=costs, total_cost=15.0, remaining=6.0, q=10,
                         rng=np.random.default_rng(3))  # fmt: skip
        assert a == b
        assert costs[[i for i, _ in a]].sum() <= 6.0
        assert len({i for i, _ in a}) == len(a)
    c = select_batch("cheapest", costs=costs, total_cost=15.0, remaining=6.0, q=10,
                     rng=np.random.default_rng(0))  # fmt: skip
    assert [i for i, _ in c] == [1, 2, 3]


def test_budget_parsing():
    assert parse_budget("10%", 200.0) == pytest.approx(20.0)
    assert parse_budget("3e2", 1.0) == 300.0
    for bad in ["ten", "-5%", "0", "nan%"]:
        with pytest.raises(DesignError):
            parse_budget(bad, 100.0)


def test_cost_models():
    df = pd.DataFrame({"N": [1e6, 2e6, 4e6, 8e6], "D": [1e9, 3e9, 2e9, 5e9]})
    c = cost_model("6*N*D", df.columns)(df)
    np.testing.assert_allclose(c, 6 * df.N * df.D)
    df["flops"] = c
    assert cost_model("flops", df.columns).kind == "column"
    fitted = fit_cost_model(df, ["N", "D"], cost="flops")
    np.testing.assert_allclose(fitted(df), c, rtol=1e-8)
    np.testing.assert_allclose(fitted.coef[1:], [1.0, 1.0], atol=1e-8)
    with pytest.raises(DesignError, match="lacks"):
        cost_model("6*N*Q", df.columns)(df)
    bad = df.assign(flops=[1.0, -1.0, 1.0, 1.0])
    with pytest.raises(DesignError, match="row 2"):
        CostModel("column", "flops")(bad)


def test_successive_halving_fit_recovers_a_known_law():
    """polish=(8, 4): 32 starts screened, 8 refined, 4 run to convergence; on noise-free
    Chinchilla data the best of them is the generating parameters, the objectives come back
    sorted, and every start keeps the objective of the last stage it reached."""
    from scalinglaws import get_law
    from scalinglaws.design._acquisition import fit_multistart

    law = get_law("chinchilla")
    truth = np.array([1.69, 406.4, 410.7, 0.34, 0.28])
    assert law.params == ("E", "A", "B", "alpha", "beta")
    rng = np.random.default_rng(0)
    x = {"N": 10 ** rng.uniform(7, 9, 40), "D": 10 ** rng.uniform(9, 11, 40)}
    y = np.asarray(law(truth, x))
    thetas, f = fit_multistart(
        law, x, y, starts=32, seed=1, polish=(8, 4), screen_iter=(10, 10), max_iter=300
    )
    assert thetas.shape == (32, 5) and np.all(np.diff(f) >= 0)
    np.testing.assert_allclose(thetas[0], truth, rtol=1e-3)
    assert f[0] < 1e-12
    screened, fs = fit_multistart(law, x, y, starts=32, seed=1, max_iter=10)
    assert f[0] < fs[0] and np.all(np.isfinite(f))
    with pytest.raises(ValueError, match="one iteration count per polish stage"):
        fit_multistart(law, x, y, starts=32, polish=(8, 4), screen_iter=10)


def test_identical_fits_are_computed_once_and_equal_a_fresh_fit(monkeypatch):
    """fit_multistart keeps its results: an identical call does not run the solver again and
    returns the same numbers as a fresh fit (copies: changing one leaves the store alone); a
    different seed, warm start or weight is a new fit; the store keeps the most recent within
    its size; clear_fit_memo forgets them all."""
    from scalinglaws import get_law
    from scalinglaws.design import _acquisition as acq

    law = get_law("chinchilla")
    rng = np.random.default_rng(3)
    x = {"N": 10 ** rng.uniform(7, 9, 12), "D": 10 ** rng.uniform(9, 11, 12)}
    y = np.asarray(law(np.array([1.69, 406.4, 410.7, 0.34, 0.28]), x)) + 0.01 * rng.normal(size=12)
    acq.clear_fit_memo()
    calls = []
    real = acq._fit_multistart
    monkeypatch.setattr(acq, "_fit_multistart", lambda *a, **k: calls.append(1) or real(*a, **k))
    kw = dict(starts=16, seed=0, max_iter=20)
    th, f = acq.fit_multistart(law, x, y, **kw)
    th[:] = 0.0  # the caller's copy
    th2, f2 = acq.fit_multistart(law, dict(x), y.copy(), **kw)
    assert len(calls) == 1
    acq.clear_fit_memo()
    fresh, ff = acq.fit_multistart(law, x, y, **kw)
    assert len(calls) == 2
    np.testing.assert_array_equal(th2, fresh)
    np.testing.assert_array_equal(f2, ff)
    acq.fit_multistart(law, x, y, **dict(kw, seed=1))
    acq.fit_multistart(law, x, y, warm=fresh[:1], **kw)
    acq.fit_multistart(law, x, y, weights=np.linspace(1, 2, 12), **kw)
    assert len(calls) == 5
    # a store of one fit's size keeps only the last one
    monkeypatch.setattr(acq._FIT_MEMO, "max_bytes", th.nbytes + f.nbytes)
    acq.fit_multistart(law, x, y, **dict(kw, seed=2))  # a new fit: the older ones go
    assert len(calls) == 6 and len(acq._FIT_MEMO.items) == 1
    acq.fit_multistart(law, x, y, **dict(kw, seed=2))  # kept
    acq.fit_multistart(law, x, y, **kw)  # gone: computed again
    assert len(calls) == 7
    acq.clear_fit_memo()


def test_model_scores_that_are_all_non_finite_never_break_the_budget():
    """A Jacobian that overflows makes every V-optimal score non-finite: the batch must still
    hold only affordable, distinct candidates (the first affordable one, then the next...)."""
    from scalinglaws.design._acquisition import ModePosterior

    p, m, t = 2, 5, 3
    post = ModePosterior(
        thetas=np.zeros((1, p)), weights=np.ones(1), covs=np.eye(p)[None], reps=np.zeros(1, int),
        sigma2=1.0, best=np.zeros(p), best_index=0, mse=1.0, n_obs=3,
    )  # fmt: skip
    jc = np.full((1, m, 1, p), np.nan)
    costs = np.array([9.0, 1.0, 2.0, 9.0, 1.0])
    picks = select_batch(
        "vopt", costs=costs, total_cost=22.0, remaining=3.0, q=5, rng=np.random.default_rng(0),
        post=post, jac_cand=jc, pred_cand=np.zeros((1, m, 1)),
        jac_target=np.ones((1, t, 1, p)), pred_target=np.zeros((1, t, 1)),
    )  # fmt: skip
    rows = [i for i, _ in picks]
    assert rows == [1, 2]
    assert costs[rows].sum() <= 3.0


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("method", ["dopt", "vopt", "mspe"])
@pytest.mark.parametrize("k", [1, 2])
def test_a_candidate_whose_jacobian_overflows_is_passed_over_quietly(method, k):
    """A candidate with a Jacobian of 1e200 (a law near a pole or a guard): J Σ Jᵀ overflows.
    That candidate scores −inf, the others keep the scores they have without it, and no
    RuntimeWarning reaches the console."""
    from scalinglaws.design._acquisition import ModePosterior

    p, m, t = 3, 4, 5
    rng = np.random.default_rng(1)
    post = ModePosterior(
        thetas=np.zeros((1, p)), weights=np.ones(1), covs=np.eye(p)[None], reps=np.zeros(1, int),
        sigma2=0.5, best=np.zeros(p), best_index=0, mse=0.5, n_obs=3,
    )  # fmt: skip
    jc = rng.normal(size=(1, m, k, p))
    kw = dict(
        costs=np.ones(m), total_cost=float(m), remaining=float(m), q=1,
        rng=np.random.default_rng(0), post=post, pred_cand=np.zeros((1, m, k)),
        jac_target=rng.normal(size=(1, t, k, p)), pred_target=np.zeros((1, t, k)),
    )  # fmt: skip
    ((best, _),) = select_batch(method, jac_cand=jc, **kw)
    big = jc.copy()
    big[0, best] *= 1e200
    ((other, other_score),) = select_batch(method, jac_cand=big, **kw)
    assert other != best
    sane = np.delete(np.arange(m), best)
    (again, again_score), = select_batch(
        method, **dict(kw, costs=np.ones(m - 1), total_cost=float(m), remaining=float(m - 1),
                       pred_cand=kw["pred_cand"][:, sane]),
        jac_cand=jc[:, sane],
    )  # fmt: skip
    assert other == sane[again] and np.isclose(other_score, again_score)


def test_target_distance_and_weights_closed_form():
    """Inputs standardised on the pool (log scale where positive), distance to the nearest
    target row; weights (d_min / d)^α with mean one; a constant input is ignored."""
    from scalinglaws.design._acquisition import target_distance, target_weights

    x = {"N": np.array([1.0, 10.0, 100.0, 1e4, 1e3]), "c": np.full(5, 3.0)}
    d = target_distance(x, np.arange(3), np.array([3, 4]))
    z = np.log10([1.0, 10.0, 100.0, 1e3, 1e4])
    z = (z - z[:3].mean()) / z[:3].std()
    np.testing.assert_allclose(d, z[3] - z[:3])  # nearest target: N = 1e3
    w = target_weights(d, 2.0)
    np.testing.assert_allclose(w, (d.min() / d) ** 2 / np.mean((d.min() / d) ** 2))
    assert np.all(np.diff(w) > 0)  # nearer runs weigh more
    np.testing.assert_allclose(target_weights(d, 0.0), 1.0)
    assert np.all(np.isfinite(target_weights(np.array([0.0, 1.0, 2.0]))))  # a run in the target


def test_weighted_fit_equals_the_fit_on_duplicated_rows():
    """Integer weights are repeated rows: the weighted mean squared error is the same objective,
    so both fits find the same optimum (an ill-specified line fit to a curve: weights matter)."""
    from scalinglaws._law import Law
    from scalinglaws.design._acquisition import fit_multistart

    line = Law(
        name="line", inputs=("x",), params=("a", "b"), bounds=((-10.0, 10.0), (-10.0, 10.0)),
        fn=lambda p, x: p["a"] + p["b"] * x["x"],
    )  # fmt: skip
    x = np.array([0.0, 1.0, 2.0, 3.0])
    y = x**2
    w = np.array([1.0, 1.0, 1.0, 3.0])
    th_w, _ = fit_multistart(line, {"x": x}, y, starts=8, weights=w)
    rep = np.repeat(np.arange(4), w.astype(int))
    th_r, _ = fit_multistart(line, {"x": x[rep]}, y[rep], starts=8)
    np.testing.assert_allclose(th_w[0], th_r[0], rtol=1e-7)
    b, a = np.polyfit(x, y, 1, w=np.sqrt(w))  # weighted least squares, closed form
    np.testing.assert_allclose(th_w[0], [a, b], rtol=1e-7)
    th_u, _ = fit_multistart(line, {"x": x}, y, starts=8)
    assert abs(th_u[0][1] - th_w[0][1]) > 0.1  # the weights moved the fit


def test_multi_output_fits_pad_to_fewer_rows_with_the_same_optimum(monkeypatch):
    """With k outputs per row the design fits pad to 32/k rows (at least 8), not 32: the padding
    carries zero weight, so the optimum is the one the 32-row padding gives, and each output's
    line is numpy's least-squares line."""
    import jax.numpy as jnp

    from scalinglaws._law import Law
    from scalinglaws.design import _acquisition as acq

    assert [acq.design_bucket(n) for n in (1, 9, 32, 33, 256, 257)] == [32, 32, 32, 64, 256, 320]
    assert [acq.design_bucket(n, 5) for n in (1, 8, 9, 16, 17)] == [8, 8, 16, 16, 32]
    assert [acq.design_bucket(n, 2) for n in (1, 16, 17)] == [16, 16, 32]
    k = 5
    lines = Law(
        name="lines", inputs=("x",), outputs=tuple(f"y{j}" for j in range(k)),
        params=("a", "b"), bounds=((-10.0, 10.0), (-10.0, 10.0)),
        fn=lambda p, x: p["a"] + p["b"] * x["x"][:, None] * jnp.arange(1.0, k + 1.0),
    )  # fmt: skip
    x = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    y = x[:, None] ** 1.5 * np.arange(1.0, k + 1.0)
    th8, f8 = acq.fit_multistart(lines, {"x": x}, y, starts=8)
    monkeypatch.setattr(acq, "design_bucket", lambda n, outputs=1: 32)
    th32, f32 = acq.fit_multistart(lines, {"x": x}, y, starts=8)
    np.testing.assert_allclose(th8[0], th32[0], rtol=1e-9)
    np.testing.assert_allclose(f8[0], f32[0], rtol=1e-9)
    # closed form: stack the outputs as one regression on (1, j·x)
    xs = (x[:, None] * np.arange(1.0, k + 1.0)).ravel()
    b, a = np.polyfit(xs, y.ravel(), 1)
    np.testing.assert_allclose(th8[0], [a, b], rtol=1e-7)


def _law(fn, bounds, params=("a", "b", "c")):
    from scalinglaws._law import Law

    return Law(name="t", inputs=("x",), params=params, bounds=bounds, fn=fn)


def test_affine_parts_tells_affine_laws_from_the_rest():
    """The intercept and Jacobian of an affine law are its columns; a law nonlinear in any
    parameter, an exp(...) that underflows to 0 across most of its box, or a parameter with a
    positive lower bound (design coordinates log θ) gives None."""
    from scalinglaws.design._acquisition import affine_parts

    x = {"x": np.array([0.5, 1.0, 2.0, 4.0])}
    box = ((-2.0, 2.0), (-2.0, 2.0), (-2.0, 2.0))
    f0, jac = affine_parts(
        _law(lambda p, x: 3.0 + p["a"] + p["b"] * x["x"] - p["c"] / x["x"], box), x
    )
    np.testing.assert_allclose(f0[:, 0], 3.0, rtol=1e-12)
    cols = np.column_stack([np.ones(4), x["x"], -1 / x["x"]])
    np.testing.assert_allclose(jac[:, 0], cols, rtol=1e-12)

    nonlinear = lambda p, x: p["a"] + p["b"] * x["x"] ** p["c"]  # noqa: E731
    assert affine_parts(_law(nonlinear, box), x) is None
    # lr_bsz sl_4, exp(c0 + c_iD/D + ...): at random points of its box the exponent is hundreds
    # below zero on every run, an affine-looking 0; at the box's middle it is not
    from scalinglaws.design import _bench

    task = _bench.load("lr_bsz")
    lr4 = _bench.get_law("lr_bsz_scaling_law:sl_4")
    assert affine_parts(lr4, _bench._groups(task, lr4)[0].x) is None
    pos = ((0.1, 2.0), (-2.0, 2.0), (-2.0, 2.0))
    assert affine_parts(_law(lambda p, x: p["a"] + p["b"] * x["x"] + p["c"], pos), x) is None


def test_linear_map_is_the_weighted_ridge_toward_the_box_middle():
    """Against scipy's least squares on the augmented residuals (data scaled by √w/σ, prior by
    √Λ about the box's middle), with two outputs, per-run weights and a missing output."""
    from scipy.optimize import least_squares

    from scalinglaws.design._acquisition import linear_map, prior_precision_z

    rng = np.random.default_rng(3)
    law = _law(
        lambda p, x: p["a"] + p["b"] * x["x"] + p["c"], ((-1.0, 3.0), (-2.0, 2.0), (0.0, 8.0))
    )
    n, k = 6, 2
    jac = rng.normal(size=(n, k, 3))
    f0 = rng.normal(size=(n, k))
    y = f0 + jac @ np.array([0.5, -0.3, 2.0]) + 0.1 * rng.normal(size=(n, k))
    y[2, 1] = np.nan
    w = rng.uniform(0.2, 1.0, n)
    s2 = 0.05
    ok = np.isfinite(y)
    sw = np.sqrt(np.broadcast_to(w[:, None], y.shape)[ok] / s2)
    lam, mid = prior_precision_z(law), law.bounds_array.mean(1)

    def resid(t):
        return np.concatenate([sw * (f0 + jac @ t - y)[ok], np.sqrt(lam) * (t - mid)])

    ref = least_squares(resid, mid, method="lm", xtol=1e-15, ftol=1e-15).x
    np.testing.assert_allclose(linear_map(f0, jac, y, law, w, sigma2=s2), ref, rtol=1e-9)
    # the default noise variance: the reference fit's mean squared error
    t_ref = np.array([0.4, -0.2, 1.5])
    mse = np.mean((f0 + jac @ t_ref - y)[ok] ** 2)
    np.testing.assert_allclose(
        linear_map(f0, jac, y, law, w, theta_ref=t_ref), linear_map(f0, jac, y, law, w, sigma2=mse)
    )
