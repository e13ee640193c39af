"""Built-in laws. Each is a pure jax.numpy function of named parameters and inputs.

Terms that span orders of magnitude are combined in log space (log-sum-exp), so a fit never
overflows or cancels on realistic inputs (N up to 1e12, D up to 1e14).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax.numpy as jnp

from ._law import Law, register
from ._numerics import softplus

HOFFMANN = "Hoffmann et al. 2022, Training Compute-Optimal Large Language Models, arXiv 2203.15556"
KAPLAN = "Kaplan et al. 2020, Scaling Laws for Neural Language Models, arXiv 2001.08361"
FARSEER = (
    "Li et al. 2025, Farseer: A Refined Scaling Law in Large Language Models, arXiv 2506.10972"
)
MUENNIGHOFF = "Muennighoff et al. 2023, Scaling Data-Constrained Language Models, arXiv 2305.16264"
CABALLERO = "Caballero et al. 2022, Broken Neural Scaling Laws, arXiv 2210.14891"


# -- Chinchilla --------------------------------------------------------------------------------
def _chinchilla(p: Mapping[str, Any], x: Mapping[str, Any]) -> Any:
    # each power term is formed in log space, exp(log A - alpha*log N): no overflow of N^alpha
    # or A for any value in bounds; the three positive terms then add without cancellation
    # (a stacked logsumexp costs ~15x more per row under vmap for no accuracy gain here)
    return (
        p["E"]
        + jnp.exp(jnp.log(p["A"]) - p["alpha"] * jnp.log(x["N"]))
        + jnp.exp(jnp.log(p["B"]) - p["beta"] * jnp.log(x["D"]))
    )


def chinchilla_optimal(params: Mapping[str, float], compute: Any) -> dict[str, Any]:
    """Compute-optimal allocation under C = 6·N·D (Hoffmann et al. 2022, eq. 4).

    N*(C) = G·(C/6)^a, D*(C) = G⁻¹·(C/6)^b, G = (αA/(βB))^(1/(α+β)), a = β/(α+β), b = α/(α+β).
    Returns ``{"N": N*, "D": D*, "loss": L(N*, D*), "a": a, "b": b, "G": G}``.
    """
    E, A, B = params["E"], params["A"], params["B"]
    al, be = params["alpha"], params["beta"]
    G = (al * A / (be * B)) ** (1.0 / (al + be))
    a, b = be / (al + be), al / (al + be)
    c6 = jnp.asarray(compute) / 6.0
    n_opt, d_opt = G * c6**a, c6**b / G
    loss = E + A / n_opt**al + B / d_opt**be
    return {"N": n_opt, "D": d_opt, "loss": loss, "a": a, "b": b, "G": G}


@register("chinchilla")
def chinchilla() -> Law:
    return Law(
        name="chinchilla",
        inputs=("N", "D"),
        params=("E", "A", "B", "alpha", "beta"),
        bounds=((1e-2, 20.0), (1e-2, 1e12), (1e-2, 1e12), (1e-2, 2.5), (1e-2, 2.5)),
        fn=_chinchilla,
        equation="L = E + A/N^alpha + B/D^beta",
        reference=HOFFMANN,
        positive_inputs=("N", "D"),
        reference_values={"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28},
        extras={"optimal": chinchilla_optimal},
        description="parameters N and training tokens D",
    )


# -- Kaplan ------------------------------------------------------------------------------------
def _kaplan(p: Mapping[str, Any], x: Mapping[str, Any]) -> Any:
    t1 = (p["alpha_N"] / p["alpha_D"]) * (jnp.log(p["N_c"]) - jnp.log(x["N"]))
    t2 = jnp.log(p["D_c"]) - jnp.log(x["D"])
    return jnp.exp(p["alpha_D"] * jnp.logaddexp(t1, t2))


@register("kaplan")
def kaplan() -> Law:
    return Law(
        name="kaplan",
        inputs=("N", "D"),
        params=("N_c", "D_c", "alpha_N", "alpha_D"),
        bounds=((1e6, 1e18), (1e6, 1e18), (1e-3, 1.0), (1e-3, 1.0)),
        fn=_kaplan,
        equation="L = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D",
        reference=KAPLAN,
        positive_inputs=("N", "D"),
        reference_values={"N_c": 8.8e13, "D_c": 5.4e13, "alpha_N": 0.076, "alpha_D": 0.095},
        description="parameters N and tokens D (Kaplan's joint form)",
    )


# -- Farseer -----------------------------------------------------------------------------------
def _farseer(p: Mapping[str, Any], x: Mapping[str, Any]) -> Any:
    N, D = x["N"], x["D"]
    first = jnp.exp(p["a3"] * N ** p["gamma"] + p["b3"])
    log_second = (
        p["a2"] * N ** p["beta"]
        + p["b2"]
        - jnp.exp(p["a1"] * N ** p["alpha"] + p["b1"]) * jnp.log(D)
    )
    return first + jnp.exp(log_second)


@register("farseer")
def farseer() -> Law:
    # bounds and reference values as in ScaleBench farseer_scaling_law/laws.toml (law sl_1,
    # there named E=b1, s=a3, q=gamma, S=b3, B=a2, b=beta, Q=b2, A=a1, a=alpha)
    return Law(
        name="farseer",
        inputs=("N", "D"),
        params=("b1", "a3", "gamma", "b3", "a2", "beta", "b2", "a1", "alpha"),
        bounds=(
            (1.0, 6.0),
            (-1.0, 0.3),
            (0.01, 0.5),
            (-1.0, 1.0),
            (10.0, 1000.0),
            (-0.6, -0.01),
            (-5.0, 1.0),
            (-5.0, 1.0),
            (0.001, 0.25),
        ),  # fmt: skip
        fn=_farseer,
        equation="L = exp(a3*N^gamma + b3) + exp(a2*N^beta + b2) * D^(-exp(a1*N^alpha + b1))",
        reference=FARSEER,
        positive_inputs=("N", "D"),
        reference_values={
            "b1": 3.133347198805445,
            "a3": -0.062465473,
            "gamma": 0.13,
            "b3": 0.1284880679442551,
            "a2": 230.73437075885855,
            "beta": -0.1729,
            "b2": -1.544209554,
            "a1": -1.665630816,
            "alpha": 0.0458999999999619,
        },  # fmt: skip
        description="Farseer's N-dependent data exponent",
    )


# -- Data-constrained (Muennighoff et al.) -------------------------------------------------------
TOKENS_PER_PARAM = 20.0


def _data_constrained(p: Mapping[str, Any], x: Mapping[str, Any]) -> Any:
    N, D, U = x["N"], x["D"], x["U"]
    r_d = jnp.maximum(D / U - 1.0, 0.0)
    d_eff = U + U * p["R_D"] * (-jnp.expm1(-r_d / p["R_D"]))
    u_n = jnp.minimum(N, U / TOKENS_PER_PARAM)
    r_n = jnp.maximum(N / u_n - 1.0, 0.0)
    n_eff = u_n + u_n * p["R_N"] * (-jnp.expm1(-r_n / p["R_N"]))
    return (
        p["E"]
        + jnp.exp(jnp.log(p["A"]) - p["alpha"] * jnp.log(n_eff))
        + jnp.exp(jnp.log(p["B"]) - p["beta"] * jnp.log(d_eff))
    )


@register("data-constrained")
def data_constrained() -> Law:
    return Law(
        name="data-constrained",
        inputs=("N", "D", "U"),
        params=("E", "A", "B", "alpha", "beta", "R_D", "R_N"),
        bounds=(
            (1e-2, 20.0),
            (1e-2, 1e12),
            (1e-2, 1e12),
            (1e-2, 2.5),
            (1e-2, 2.5),
            (0.1, 1e3),
            (0.1, 1e3),
        ),  # fmt: skip
        fn=_data_constrained,
        equation=(
            "L = E + A/N'^alpha + B/D'^beta, D' = U + U*R_D*(1 - exp(-(D/U - 1)/R_D)), "
            "N' = U_N + U_N*R_N*(1 - exp(-(N/U_N - 1)/R_N)), U_N = min(N, U/20)"
        ),
        reference=MUENNIGHOFF,
        positive_inputs=("N", "D", "U"),
        reference_values={"R_D": 15.4, "R_N": 5.3},
        description="Chinchilla with repeated data: U unique tokens, D total tokens",
    )


# -- One-input laws ----------------------------------------------------------------------------
def _power_law(p: Mapping[str, Any], x: Mapping[str, Any]) -> Any:
    return p["E"] + jnp.exp(jnp.log(p["A"]) - p["alpha"] * jnp.log(x["x"]))


@register("power-law")
def power_law() -> Law:
    return Law(
        name="power-law",
        inputs=("x",),
        params=("E", "A", "alpha"),
        bounds=((0.0, 20.0), (1e-4, 1e12), (1e-3, 3.0)),
        fn=_power_law,
        equation="L = E + A*x^(-alpha)",
        reference=KAPLAN,
        positive_inputs=("x",),
        description="saturating power law in one input (map it: --col x=compute)",
    )


def _bnsl(p: Mapping[str, Any], x: Mapping[str, Any]) -> Any:
    lx = jnp.log(x["x"])
    log_term = (
        jnp.log(p["b"])
        - p["c0"] * lx
        - p["c1"] * p["f1"] * softplus((lx - jnp.log(p["d1"])) / p["f1"])
    )
    return p["a"] + jnp.exp(log_term)


@register("bnsl")
def bnsl() -> Law:
    return Law(
        name="bnsl",
        inputs=("x",),
        params=("a", "b", "c0", "c1", "d1", "f1"),
        bounds=((0.0, 20.0), (1e-4, 1e12), (-1.0, 3.0), (-3.0, 3.0), (1.0, 1e30), (1e-2, 10.0)),
        fn=_bnsl,
        equation="y = a + b*x^(-c0) * (1 + (x/d1)^(1/f1))^(-c1*f1)",
        reference=CABALLERO,
        positive_inputs=("x",),
        description="broken neural scaling law with one break",
    )
