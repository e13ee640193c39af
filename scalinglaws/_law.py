"""The ``Law`` description and the registry of named laws.

A law is a pure JAX function of named parameters and named inputs, plus a frozen description
(names, bounds, prior range, equation, reference). Parameters are passed as a mapping
``{name: scalar}``; inputs as a mapping ``{name: array of shape (n,)}``. The function returns an
array of shape ``(n,)`` for a single target or ``(n, k)`` for ``k`` targets.

>>> from scalinglaws import get_law
>>> law = get_law("chinchilla")
>>> law.params
('E', 'A', 'B', 'alpha', 'beta')
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import Any

import jax.numpy as jnp
import numpy as np

from ._bijectors import Bijector
from ._errors import LawError

LawFn = Callable[[Mapping[str, Any], Mapping[str, Any]], Any]


@dataclasses.dataclass(frozen=True, eq=False)
class Law:
    """A parametric scaling law.

    Attributes:
        name: registry name (``"chinchilla"``) or ``"<file>:<law>"`` for formula laws.
        inputs: input (feature) names, in order.
        params: parameter names, in order; the order of every parameter vector.
        bounds: ``(lo, hi)`` per parameter, finite, ``lo < hi``.
        fn: ``fn(params, x) -> y``, pure jax.numpy.
        outputs: target names; one per column of ``fn``'s result.
        equation: human-readable equation.
        reference: citation.
        positive_inputs: inputs the law takes a log or fractional power of (must be > 0).
        input_floor: clamp every input at this floor before evaluation (None: no clamp).
        prior: ``(lo, hi)`` per parameter of the default prior range (defaults to ``bounds``).
        log_scale: per parameter, whether bounds are traversed on the log scale (None: auto).
        reference_values: published parameter values, if any.
        nll: optional ``nll(params, data) -> scalar`` for likelihood laws (fit uses it instead
            of residual losses); ``data`` is a mapping of arrays.
        extras: closed forms and other law-specific callables (e.g. ``"optimal"``).
    """

    name: str
    inputs: tuple[str, ...]
    params: tuple[str, ...]
    bounds: tuple[tuple[float, float], ...]
    fn: LawFn
    outputs: tuple[str, ...] = ("loss",)
    equation: str = ""
    reference: str = ""
    positive_inputs: tuple[str, ...] = ()
    input_floor: float | None = None
    prior: tuple[tuple[float, float], ...] | None = None
    log_scale: tuple[bool, ...] | None = None
    reference_values: Mapping[str, float] | None = None
    nll: Callable[..., Any] | None = None
    extras: Mapping[str, Callable[..., Any]] = dataclasses.field(default_factory=dict)
    description: str = ""
    spec: Mapping[str, Any] | None = None  # formula laws: what rebuilds them (see _serialize)

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "params", tuple(self.params))
        object.__setattr__(self, "outputs", tuple(self.outputs))
        b = tuple((float(lo), float(hi)) for lo, hi in self.bounds)
        object.__setattr__(self, "bounds", b)
        if len(b) != len(self.params):
            raise LawError(
                f"law {self.name!r}: {len(self.params)} params but {len(b)} bounds; "
                "give one [lo, hi] pair per parameter"
            )
        if len(set(self.params)) != len(self.params):
            raise LawError(f"law {self.name!r}: duplicated parameter names in {self.params}")
        for p, (lo, hi) in zip(self.params, b):
            if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
                raise LawError(
                    f"law {self.name!r}: bounds of {p!r} are [{lo}, {hi}]; "
                    "give finite bounds with lo < hi"
                )

    # -- shapes and vectors ---------------------------------------------------------------
    @property
    def n_params(self) -> int:
        return len(self.params)

    @property
    def bounds_array(self) -> np.ndarray:
        return np.asarray(self.bounds, dtype=np.float64)

    @property
    def prior_array(self) -> np.ndarray:
        return np.asarray(self.prior if self.prior is not None else self.bounds, dtype=np.float64)

    @property
    def bijector(self) -> Bijector:
        ls = None if self.log_scale is None else np.asarray(self.log_scale)
        return Bijector.from_bounds(self.bounds_array, ls)

    def vector(self, params: Mapping[str, float]) -> np.ndarray:
        """Parameter mapping → vector in ``self.params`` order."""
        missing = [p for p in self.params if p not in params]
        if missing:
            raise LawError(f"law {self.name!r}: missing parameter(s) {missing}")
        return np.asarray([float(params[p]) for p in self.params], dtype=np.float64)

    def as_dict(self, theta: Any) -> dict[str, Any]:
        """Vector (..., p) → ``{name: theta[..., i]}``."""
        return {p: theta[..., i] for i, p in enumerate(self.params)}

    # -- evaluation ------------------------------------------------------------------------
    def apply(self, theta: jnp.ndarray, x: Mapping[str, jnp.ndarray]) -> jnp.ndarray:
        """Evaluate at a parameter vector ``theta`` (p,); always returns shape ``(n, k)``."""
        if self.input_floor is not None:
            x = {k: jnp.maximum(v, self.input_floor) for k, v in x.items()}
        y = self.fn(self.as_dict(theta), x)
        y = jnp.asarray(y)
        n = next(iter(x.values())).shape[0] if x else 1
        if y.ndim == 0:
            y = jnp.broadcast_to(y, (n,))
        if y.ndim == 1:
            y = y[:, None]
        return y

    def __call__(
        self, params: Mapping[str, float] | np.ndarray, x: Mapping[str, Any]
    ) -> np.ndarray:
        """Evaluate at named (or vector) parameters on inputs ``x``; numpy in, numpy out.

        Returns shape ``(n,)`` for a single-target law and ``(n, k)`` otherwise.
        """
        theta = self.vector(params) if isinstance(params, Mapping) else np.asarray(params)
        xs = {k: jnp.asarray(np.asarray(x[k], dtype=np.float64)) for k in self.inputs}
        y = np.asarray(self.apply(jnp.asarray(theta, dtype=jnp.float64), xs))
        return y[:, 0] if y.shape[1] == 1 else y

    def describe(self) -> str:
        """Multi-line description: equation, inputs, outputs, params with bounds, reference."""
        lines = [f"{self.name}: {self.description}".rstrip(": ")]
        if self.equation:
            lines.append(f"  equation : {self.equation}")
        lines.append(f"  inputs   : {', '.join(self.inputs)}")
        lines.append(f"  outputs  : {', '.join(self.outputs)}")
        lines.append("  params   :")
        for p, (lo, hi) in zip(self.params, self.bounds):
            ref = ""
            if self.reference_values and p in self.reference_values:
                ref = f"   (reference {self.reference_values[p]:.6g})"
            lines.append(f"    {p:<12s} [{lo:.6g}, {hi:.6g}]{ref}")
        if self.reference:
            lines.append(f"  reference: {self.reference}")
        return "\n".join(lines)


_REGISTRY: dict[str, Callable[[], Law]] = {}


def register(name: str) -> Callable[[Callable[[], Law]], Callable[[], Law]]:
    """Decorator registering a zero-argument law factory under ``name``."""

    def deco(factory: Callable[[], Law]) -> Callable[[], Law]:
        _REGISTRY[name] = factory
        return factory

    return deco


def list_laws() -> list[str]:
    """Names of the built-in laws."""
    _ensure_builtins()
    return sorted(_REGISTRY)


def get_law(name: str | Law) -> Law:
    """A built-in law by name (``"chinchilla"``), or a task law as ``"<task>:<law>"``.

    ``"farseer_scaling_law:sl_1"`` (or a short task name, ``"farseer:sl_1"``) loads the law from
    the bundled ScaleBench task's laws.toml.
    """
    if isinstance(name, Law):
        return name
    return _get_law_cached(name)


@functools.cache
def _get_law_cached(name: str) -> Law:
    # one Law object per name, so that compiled fitting code (cached per law) is reused
    _ensure_builtins()
    if name in _REGISTRY:
        return _REGISTRY[name]()
    if ":" in name:
        task, law = name.split(":", 1)
        from scalinglaws.datasets import laws_file  # lazy: avoids an import cycle

        from ._formula import load_law_file

        return load_law_file(laws_file(task), law)
    raise LawError(
        f"unknown law {name!r}; choose one of {', '.join(sorted(_REGISTRY))}, "
        "a task law such as 'farseer:sl_1', or pass --formula / --law-file"
    )


def _ensure_builtins() -> None:
    from . import _laws, _tts  # noqa: F401  (register on import)
