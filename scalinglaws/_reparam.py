"""Nonlinear reparameterisations for NUTS on ill-conditioned posteriors: a chart and a shear.

Why. A sub-expression ``b + a·X^k`` fitted on a narrow range of ``log X`` identifies its values
at the ends of that range well but hardly its curvature, so ``(a, k, b)`` trade off along a
curved ridge (``b ≈ v − S/k``): Farseer has three such terms and a Laplace condition number of
about 1e10. No linear whitening straightens that ridge; NUTS then hits its maximum tree depth.

Chart. Every sub-expression ``±b ± a·X^(±k)`` of the law (``X`` an input; found in the law's
jaxpr, so it works for built-in and formula laws alike) is sampled as

    (v_lo, v_hi, u_b)     with  v_lo/hi = b + a·X_lo/hi^k  at the smallest and largest X of the
                          data, and u_b the unconstrained (bijector) coordinate of b.

The inverse is closed-form: with ``s = v − b``, ``k = log(s_hi/s_lo) / (t_hi − t_lo)`` and
``a = s_lo·exp(−k·t_lo)`` (``t = log X``), and

    log |∂(a, k)/∂(v_lo, v_hi)| = −k·t_lo − log(t_hi − t_lo) − log |s_hi|.

The other parameters keep their bijector coordinate ``u``. The density on the chart is the same
posterior: likelihood × bounds prior (uniform, or log-uniform, on θ) × |∂θ/∂c|; points whose
``a`` or ``k`` fall outside their bounds (or with ``s_lo·s_hi ≤ 0``, i.e. ``a = 0`` between the
two signs) have zero density. A coefficient whose posterior straddles zero cannot cross that
wall; the sampler is then confined to the sign it started with (the chart is skipped for terms
whose Laplace interval covers zero).

Shear. What curvature is left (Farseer: the ``D``-exponent and ``D``-coefficient terms trade
off through ``exp(E2)·D^(−exp(E3))``) is taken out by a triangular polynomial map fitted to a
short pilot run, in the pilot's principal axes ``v`` (widest first):

    v_i = s_i·z_i + m_i(z̃_<i),     c = center + M v,     z̃ = 3·tanh(z/3)

with ``m_i`` a polynomial of total degree ≤ 3 in the reference coordinates before ``i``
(least squares, ridge-regularised) and ``s_i`` its residual scale. Whatever ``m_i`` is, the
map is a triangular bijection with constant Jacobian ``|det M|·∏ s_i``, so the posterior is
unchanged; a good fit only makes it nearly standard normal for NUTS (the idea of Parno &
Marzouk 2018, "Transport map accelerated MCMC"; an inverse autoregressive flow with
polynomial conditioners). The squashing ``z̃`` keeps the polynomial bounded in the tails.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._law import Law

SHEAR_DEGREE = 3
SHEAR_SQUASH = 3.0
SHEAR_RIDGE = 1e-2


# -- power terms --------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class PowerTerm:
    """``sign_b·θ[b] + sign_a·θ[a] · x[input] ** (sign_k·θ[k])``: parameter indices and signs."""

    a: int
    k: int
    b: int
    input: str
    sign_a: float = 1.0
    sign_k: float = 1.0
    sign_b: float = 1.0


def power_terms(law: Law) -> tuple[PowerTerm, ...]:
    """Sub-expressions ``±b ± a·X^(±k)`` of ``law`` (parameters a, k, b; X an input).

    Found by walking the law's jaxpr: ``pow(X, ±θ_k)``, multiplied by ``±θ_a``, added to (or
    subtracted from) ``θ_b``. Each parameter takes part in at most one term. Laws whose terms
    are written otherwise (``exp(k·log X)``, a constant-scaled input) yield fewer terms; that
    only means less of the ridge is straightened.
    """
    if law.nll is not None:
        return ()
    p = law.n_params
    x = {k: jnp.ones(3) for k in law.inputs}
    try:
        closed = jax.make_jaxpr(lambda th, xs: law.apply(th, xs))(jnp.ones(p), x)
    except Exception:  # noqa: BLE001 - a law that does not trace simply gets no chart
        return ()
    jaxpr = closed.jaxpr
    leaves, _ = jax.tree_util.tree_flatten(x)
    names = sorted(x)  # dict leaves flatten in sorted key order
    assert len(leaves) == len(names)
    theta_var = jaxpr.invars[0]
    inputs = {id(v): n for v, n in zip(jaxpr.invars[1:], names, strict=False)}
    sliced: dict[int, int] = {}  # slice of theta -> index
    param: dict[int, tuple[int, float]] = {}  # var -> (param index, sign)
    powers: dict[int, tuple[str, int, float]] = {}  # var -> (input, k index, k sign)
    scaled: dict[int, tuple[str, int, float, int, float]] = {}  # a·X^k
    found: list[PowerTerm] = []
    used: set[int] = set()

    def key(v: Any) -> int | None:
        return id(v) if hasattr(v, "aval") and not hasattr(v, "val") else None

    for eq in jaxpr.eqns:
        name = eq.primitive.name
        ins = [key(v) for v in eq.invars]
        out = id(eq.outvars[0])
        if name == "slice" and eq.invars[0] is theta_var:
            start = eq.params["start_indices"][0]
            if eq.params["limit_indices"][0] == start + 1:
                sliced[out] = start
        elif name == "squeeze" and ins[0] in sliced:
            param[out] = (sliced[ins[0]], 1.0)
        elif name == "neg" and ins[0] in param:
            i, s = param[ins[0]]
            param[out] = (i, -s)
        elif name == "pow" and ins[0] in inputs and ins[1] in param:
            i, s = param[ins[1]]
            powers[out] = (inputs[ins[0]], i, s)
        elif name == "mul" and len(ins) == 2:
            for f, g in ((0, 1), (1, 0)):
                if ins[f] in param and ins[g] in powers:
                    ia, sa = param[ins[f]]
                    inp, ik, sk = powers[ins[g]]
                    scaled[out] = (inp, ik, sk, ia, sa)
                    break
        elif name in ("add", "sub") and len(ins) == 2:
            for f, g in ((0, 1), (1, 0)):
                if ins[f] in param and ins[g] in scaled:
                    ib, sb = param[ins[f]]
                    inp, ik, sk, ia, sa = scaled[ins[g]]
                    if name == "sub":  # θ_b − a·X^k  or  a·X^k − θ_b
                        if f == 0:
                            sa = -sa
                        else:
                            sb = -sb
                    idx = {ia, ik, ib}
                    if len(idx) == 3 and not idx & used:
                        used |= idx
                        found.append(PowerTerm(ia, ik, ib, inp, sa, sk, sb))
                    break
    return tuple(found)


# -- chart --------------------------------------------------------------------------------------
class Chart(NamedTuple):
    """The chart of module docstring: arrays only, so that it can be passed to a jitted model."""

    t_lo: jnp.ndarray  # (m,) log of the smallest input value of each term
    t_hi: jnp.ndarray  # (m,)


def make_chart(law: Law, terms: tuple[PowerTerm, ...], x: Mapping[str, Any]) -> Chart:
    """Reference points of each term: the smallest and largest value of its input in ``x``."""
    lo, hi = [], []
    for t in terms:
        v = np.asarray(x[t.input], dtype=np.float64)
        if law.input_floor is not None:
            v = np.maximum(v, law.input_floor)
        lv = np.log(v[v > 0])
        lo.append(float(lv.min()))
        hi.append(float(lv.max()))
    return Chart(jnp.asarray(lo, dtype=jnp.float64), jnp.asarray(hi, dtype=jnp.float64))


def usable_terms(law: Law, terms: tuple[PowerTerm, ...], x: Mapping[str, Any], theta: Any,
                 sd: Any) -> tuple[PowerTerm, ...]:  # fmt: skip
    """Terms the chart can take: a positive input that varies, a coefficient well away from 0.

    ``theta``/``sd``: a mode and the Laplace sd of the parameters (natural scale).
    """
    out = []
    for t in terms:
        v = np.asarray(x[t.input], dtype=np.float64)
        if law.input_floor is not None:
            v = np.maximum(v, law.input_floor)
        if np.any(v <= 0) or np.log(v.max()) - np.log(v.min()) < 1e-6:
            continue
        if abs(float(theta[t.a])) <= 2.0 * float(sd[t.a]):
            continue
        out.append(t)
    return tuple(out)


def to_chart(law: Law, terms: tuple[PowerTerm, ...], chart: Chart, u: Any) -> jnp.ndarray:
    """Bijector coordinates ``u`` (..., p) → chart coordinates (..., p)."""
    u = jnp.asarray(u)
    theta = law.bijector.forward(u)
    c = u
    for j, t in enumerate(terms):
        big_a = t.sign_a * theta[..., t.a]
        big_k = t.sign_k * theta[..., t.k]
        big_b = t.sign_b * theta[..., t.b]
        c = c.at[..., t.a].set(big_b + big_a * jnp.exp(big_k * chart.t_lo[j]))
        c = c.at[..., t.k].set(big_b + big_a * jnp.exp(big_k * chart.t_hi[j]))
    return c


def from_chart(
    law: Law, terms: tuple[PowerTerm, ...], chart: Chart, c: jnp.ndarray
) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray]:
    """Chart coordinates ``c`` (p,) → ``(θ, log density term, valid)``.

    The density term is ``log p_bounds(θ) + log |∂θ/∂c|`` up to a constant: the logistic
    density of every coordinate kept in ``u`` (as in the u-space model), log-uniform or uniform
    densities of the charted ``a``, ``k`` and the chart's Jacobian. ``valid`` is False where the
    chart has no preimage inside the bounds; ``θ`` is then a finite placeholder (mid-bounds).
    """
    bij = law.bijector
    lo, hi = np.asarray(bij.lo), np.asarray(bij.hi)
    kept = np.ones(law.n_params, dtype=bool)
    for t in terms:
        kept[[t.a, t.k]] = False
    # right for every coordinate kept in u; charted ones are overwritten below (their c is no
    # u, and e.g. exp of a large linear-scale value would leak NaN into the gradient)
    theta = bij.forward(jnp.where(jnp.asarray(kept), c, 0.0))
    log_det = jnp.zeros(())
    valid = jnp.asarray(True)
    for j, t in enumerate(terms):
        big_b = t.sign_b * theta[t.b]
        s_lo, s_hi = c[t.a] - big_b, c[t.k] - big_b
        ratio = s_hi / s_lo
        ok = ratio > 0
        dt = chart.t_hi[j] - chart.t_lo[j]
        big_k = jnp.log(jnp.where(ok, ratio, 1.0)) / dt
        big_a = s_lo * jnp.exp(-big_k * chart.t_lo[j])
        a, k = t.sign_a * big_a, t.sign_k * big_k
        valid = valid & ok & (a > lo[t.a]) & (a < hi[t.a]) & (k > lo[t.k]) & (k < hi[t.k])
        log_det = log_det - big_k * chart.t_lo[j] - jnp.log(dt)
        log_det = log_det - jnp.log(jnp.abs(jnp.where(ok, s_hi, 1.0)))
        for i, v in ((t.a, a), (t.k, k)):
            if bij.log_scale[i]:
                log_det = log_det - jnp.log(jnp.where(v > 0, v, 1.0))
        theta = theta.at[t.a].set(a).at[t.k].set(k)
    safe = jnp.where(valid, theta, bij.forward(jnp.zeros_like(c)))
    s = c[kept]
    log_prior = jnp.sum(-jax.nn.softplus(-s) - jax.nn.softplus(s))
    return safe, log_prior + log_det, valid


def chart_to_u(law: Law, terms: tuple[PowerTerm, ...], chart: Chart, c: Any) -> jnp.ndarray:
    """Chart coordinates (..., p) → bijector coordinates ``u`` (kept ones are ``c`` itself)."""
    c = jnp.asarray(c)
    theta = jax.vmap(lambda ci: from_chart(law, terms, chart, ci)[0])(c.reshape(-1, c.shape[-1]))
    kept = np.ones(law.n_params, dtype=bool)
    for t in terms:
        kept[[t.a, t.k]] = False
    u = jnp.where(jnp.asarray(kept), c.reshape(theta.shape), law.bijector.inverse(theta))
    return u.reshape(c.shape)


# -- shear --------------------------------------------------------------------------------------
class Shear(NamedTuple):
    """``c = center + M v``, ``v = s ⊙ z + coef · monomials(z̃)`` (module docstring).

    Row ``i`` of ``coef`` uses only monomials of ``z_<i`` (strictly lower triangular), so the
    Jacobian ``∂v/∂z`` is triangular with diagonal ``s`` and the map is evaluated in one shot.
    Arrays only (passed to the jitted model); the monomial index table is :func:`monomials`.
    """

    center: jnp.ndarray  # (p,)
    mat: jnp.ndarray  # (p, p)
    coef: jnp.ndarray  # (p, n_mono)
    scale: jnp.ndarray  # (p,)


def monomials(p: int, degree: int) -> np.ndarray:
    """Index table (n_mono, degree) of all monomials of degree 0..degree in p variables.

    Index ``p`` stands for the constant 1, so row ``(p, …, p)`` is the intercept (row 0).
    """
    rows = itertools.combinations_with_replacement(range(p + 1), degree)
    return np.asarray(sorted(rows, key=lambda r: (sum(i < p for i in r), r)), dtype=np.int32)


def _features(z: Any, table: np.ndarray, xp: Any = jnp) -> Any:
    zt = SHEAR_SQUASH * xp.tanh(z / SHEAR_SQUASH)
    ext = xp.concatenate([zt, xp.ones(z.shape[:-1] + (1,))], axis=-1)
    return xp.prod(ext[..., table], axis=-1)


def affine(center: Any, mat: Any, degree: int = SHEAR_DEGREE) -> Shear:
    """The shear that is just ``c = center + mat z`` (no polynomial part)."""
    p = len(center)
    n = len(monomials(p, degree))
    return Shear(
        jnp.asarray(center), jnp.asarray(mat), jnp.zeros((p, n)), jnp.ones(p, dtype=jnp.float64)
    )


def shear_forward(shear: Shear, z: jnp.ndarray, table: np.ndarray) -> jnp.ndarray:
    """Reference ``z`` (p,) → chart coordinates (p,); the Jacobian is constant."""
    v = shear.scale * z + shear.coef @ _features(z, table)
    return shear.center + shear.mat @ v


def shear_inverse(shear: Shear, c: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Chart coordinates (n, p) → reference ``z`` (n, p) (numpy; one coordinate at a time)."""
    center, mat = np.asarray(shear.center), np.asarray(shear.mat)
    coef, scale = np.asarray(shear.coef), np.asarray(shear.scale)
    v = np.linalg.solve(mat, (np.asarray(c) - center).T).T
    z = np.zeros_like(v)
    for i in range(v.shape[1]):  # coef row i ignores z_≥i, still zero here
        z[:, i] = (v[:, i] - _features(z, table, np) @ coef[i]) / scale[i]
    return z


def fit_shear(c: np.ndarray, table: np.ndarray, ridge: float = SHEAR_RIDGE) -> Shear:
    """Least-squares shear of chart samples ``c`` (n, p), in their principal axes.

    Coordinate by coordinate: ``v_i`` is regressed (ridge-penalised, intercept free) on the
    monomials of the reference coordinates ``z_<i`` found so far; ``s_i`` is the residual rms
    and ``z_i`` the standardised residual.
    """
    c = np.asarray(c, dtype=np.float64)
    n, p = c.shape
    center = c.mean(axis=0)
    ev, vec = np.linalg.eigh(np.cov(c.T) + 1e-300 * np.eye(p))
    order = np.argsort(ev)[::-1]
    mat = vec[:, order] * np.sqrt(np.maximum(ev[order], 1e-300))
    v = np.linalg.solve(mat, (c - center).T).T
    z = np.zeros_like(v)
    coef = np.zeros((p, len(table)))
    scale = np.ones(p)
    for i in range(p):
        cols = np.flatnonzero(np.all((table < i) | (table == p), axis=1))
        f = _features(z, table, np)[:, cols]
        pen = ridge * n * np.eye(len(cols))
        pen[0, 0] = 0.0  # the intercept (column 0) is not penalised
        b = np.linalg.solve(f.T @ f + pen, f.T @ v[:, i])
        r = v[:, i] - f @ b
        coef[i, cols] = b
        scale[i] = max(float(np.sqrt(np.mean(r**2))), 1e-6)
        z[:, i] = r / scale[i]
    return Shear(jnp.asarray(center), jnp.asarray(mat), jnp.asarray(coef), jnp.asarray(scale))
