"""JAX configuration: float64 everywhere fitting happens, CPU by default, a persistent cache."""

from __future__ import annotations

import os

import jax

jax.config.update("jax_enable_x64", True)
if os.environ.get("SL_NO_COMPILATION_CACHE") is None:
    _cache = os.environ.get(
        "SL_COMPILATION_CACHE",
        os.path.join(os.path.expanduser("~"), ".cache", "scalinglaws", "jax"),
    )
    try:
        jax.config.update("jax_compilation_cache_dir", _cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    except Exception:  # noqa: BLE001 - an unwritable cache must never stop a fit
        pass
