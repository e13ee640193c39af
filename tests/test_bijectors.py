"""Bounded parameters reach the optimiser through bijections: round trips and Jacobians."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from scalinglaws._bijectors import Bijector


def test_round_trip_and_inside_bounds():
    bij = Bijector.from_bounds(np.array([[0.0, 1.0], [1e-3, 1e9], [-5.0, 5.0], [-1e6, 1e6]]))
    assert bij.log_scale.tolist() == [False, True, False, False]
    u = jnp.linspace(-30, 30, 61)[:, None] * jnp.ones(4)
    theta = bij.forward(u)
    assert np.all(theta >= bij.lo) and np.all(theta <= bij.hi)
    mid = jnp.asarray(np.random.default_rng(0).normal(size=(50, 4)) * 3)
    np.testing.assert_allclose(bij.inverse(bij.forward(mid)), mid, rtol=1e-9, atol=1e-9)
    q = jnp.linspace(0.01, 0.99, 7)[:, None] * jnp.ones(4)
    np.testing.assert_allclose(bij.to_unit(bij.from_unit(q)), q, rtol=1e-12)


def test_log_abs_det_jacobian_matches_autodiff():
    bij = Bijector.from_bounds(np.array([[0.0, 2.0], [1e-2, 1e6]]))
    u = jnp.array([0.3, -1.2])
    jac = jax.jacfwd(bij.forward)(u)
    np.testing.assert_allclose(
        bij.log_abs_det_jacobian(u), np.log(np.abs(np.diag(jac))).sum(), rtol=1e-12
    )


def test_log_scale_start_is_log_uniform():
    bij = Bijector.from_bounds(np.array([[1e-2, 1e10]]))
    theta = np.asarray(bij.from_unit(jnp.array([[0.5]])))
    np.testing.assert_allclose(theta, 1e4, rtol=1e-12)
