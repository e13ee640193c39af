"""Safe numerics shared by laws, losses and bijections (cf. optax ``_src/numerics.py``)."""

from __future__ import annotations

import jax.numpy as jnp


def tiny(x: jnp.ndarray) -> jnp.ndarray:
    """The smallest positive normal number of ``x``'s dtype."""
    return jnp.finfo(jnp.result_type(x, jnp.float32)).tiny


def safe_log(x: jnp.ndarray) -> jnp.ndarray:
    """``log(max(x, tiny))``: finite for x <= 0 (gradient zero there)."""
    return jnp.log(jnp.maximum(x, tiny(x)))


def softplus(x: jnp.ndarray) -> jnp.ndarray:
    """``log(1 + exp(x))`` without overflow."""
    return jnp.logaddexp(x, 0.0)


def sigmoid(x: jnp.ndarray) -> jnp.ndarray:
    return 0.5 * (jnp.tanh(0.5 * x) + 1.0)


def log_sigmoid(x: jnp.ndarray) -> jnp.ndarray:
    return -softplus(-x)


def logit(p: jnp.ndarray) -> jnp.ndarray:
    return jnp.log(p) - jnp.log1p(-p)
