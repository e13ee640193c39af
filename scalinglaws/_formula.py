"""Safe formula laws: a whitelist AST walk compiling an expression to a jax function.

The syntax is that of ScaleBench's laws.toml: Python arithmetic (``+ - * / ** %``, unary minus,
parentheses, comparisons inside ``where``) over parameter names, input names, numbers and the
constants ``pi`` and ``e``, with the functions ``exp, log, log10, log2, log1p, expm1, sqrt, abs,
tanh, sigmoid, softplus, minimum, maximum, where``. Nothing is ever passed to ``eval``: every
node type is checked against a whitelist and compiled into a closure over ``jax.numpy``.

>>> law = formula_law("E + A*N**(-alpha)", {"E": (0, 10), "A": (1e-3, 1e6), "alpha": (0, 2)})
>>> law.inputs
('N',)
"""

from __future__ import annotations

import ast
import math
import operator
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

from ._errors import LawError
from ._law import Law
from ._numerics import softplus

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_FUNCS: dict[str, tuple[int, Callable[..., Any]]] = {
    "exp": (1, jnp.exp),
    "log": (1, jnp.log),
    "log10": (1, jnp.log10),
    "log2": (1, jnp.log2),
    "log1p": (1, jnp.log1p),
    "expm1": (1, jnp.expm1),
    "sqrt": (1, jnp.sqrt),
    "abs": (1, jnp.abs),
    "tanh": (1, jnp.tanh),
    "sigmoid": (1, jax.nn.sigmoid),
    "softplus": (1, softplus),
    "minimum": (2, jnp.minimum),
    "maximum": (2, jnp.maximum),
    "where": (3, jnp.where),
}
_CONSTS = {"pi": math.pi, "e": math.e}
_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.Mod: operator.mod,
}
_CMPOPS = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
# functions whose argument must be positive for a finite value
_POSITIVE_ARG = {"log", "log10", "log2", "sqrt"}

Node = Callable[[Mapping[str, Any]], Any]


class _Compiler:
    def __init__(self, expr: str, params: Sequence[str], where: str):
        self.expr = expr
        self.params = set(params)
        self.where = where
        self.names: list[str] = []  # free input names, first-seen order
        self.positive: set[str] = set()

    def fail(self, msg: str) -> LawError:
        return LawError(f"{self.where}: {msg} in formula {self.expr!r}")

    def compile(self) -> Node:
        try:
            tree = ast.parse(self.expr.strip(), mode="eval")
        except SyntaxError as err:
            raise self.fail(f"syntax error at column {err.offset}") from None
        return self.visit(tree.body, positive=False)

    def _names_in(self, node: ast.AST) -> set[str]:
        return {
            n.id
            for n in ast.walk(node)
            if isinstance(n, ast.Name) and n.id not in self.params and n.id not in _CONSTS
        }

    def visit(self, node: ast.AST, positive: bool) -> Node:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise self.fail(f"constant {node.value!r} is not a number")
            v = float(node.value)
            return lambda env: v
        if isinstance(node, ast.Name):
            name = node.id
            if name in _CONSTS and name not in self.params:
                v = _CONSTS[name]
                return lambda env: v
            if name in _FUNCS:
                raise self.fail(f"function {name!r} used as a value")
            if name not in self.params and name not in self.names:
                self.names.append(name)
            if positive and name not in self.params:
                self.positive.add(name)
            return lambda env: env[name]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            inner = self.visit(node.operand, positive=False)
            if isinstance(node.op, ast.USub):
                return lambda env: -inner(env)
            return inner
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            op = _BINOPS[type(node.op)]
            base_positive = False
            if isinstance(node.op, ast.Pow):
                exp = node.right
                is_int = isinstance(exp, ast.Constant) and float(exp.value).is_integer()
                base_positive = not is_int
            left = self.visit(node.left, positive=base_positive)
            right = self.visit(node.right, positive=False)
            if base_positive:
                self.positive |= self._names_in(node.left)
            return lambda env: op(left(env), right(env))
        if isinstance(node, ast.Compare):
            if len(node.ops) != 1 or type(node.ops[0]) not in _CMPOPS:
                raise self.fail("only single comparisons (a < b) are allowed")
            op = _CMPOPS[type(node.ops[0])]
            left = self.visit(node.left, positive=False)
            right = self.visit(node.comparators[0], positive=False)
            return lambda env: op(left(env), right(env))
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCS:
                fname = ast.unparse(node.func)
                raise self.fail(
                    f"function {fname!r} is not allowed (allowed: {', '.join(sorted(_FUNCS))})"
                )
            if node.keywords:
                raise self.fail(f"keyword arguments are not allowed in {node.func.id}()")
            arity, fn = _FUNCS[node.func.id]
            if len(node.args) != arity:
                raise self.fail(f"{node.func.id}() takes {arity} argument(s), got {len(node.args)}")
            args = [self.visit(a, positive=False) for a in node.args]
            if node.func.id in _POSITIVE_ARG:
                self.positive |= self._names_in(node.args[0])
            if arity == 1:
                (a,) = args
                return lambda env: fn(a(env))
            return lambda env: fn(*(a(env) for a in args))
        kind = type(node).__name__
        raise self.fail(f"{kind} expressions are not allowed")


def compile_formula(
    expr: str, params: Sequence[str], *, where: str = "formula"
) -> tuple[Node, list[str], set[str]]:
    """Compile ``expr`` → (function of an environment mapping, input names, positive inputs)."""
    c = _Compiler(expr, params, where)
    node = c.compile()
    return node, c.names, c.positive


def formula_law(
    formulas: str | Sequence[str],
    bounds: Mapping[str, tuple[float, float]],
    *,
    name: str = "formula",
    inputs: Sequence[str] | None = None,
    outputs: Sequence[str] | None = None,
    input_floor: float | None = None,
    reference_values: Mapping[str, float] | None = None,
    description: str = "",
    reference: str = "",
) -> Law:
    """A :class:`Law` from one formula per target.

    Args:
        formulas: an expression, or one per target (multi-target law).
        bounds: ``{param: (lo, hi)}`` in parameter order; every other name is an input.
        inputs: input order (defaults to the order of first appearance).
        outputs: target names (defaults to ``("loss",)`` or ``y1, y2, …``).
    """
    exprs = [formulas] if isinstance(formulas, str) else list(formulas)
    if not exprs:
        raise LawError(f"law {name!r}: no formula given")
    params = list(bounds)
    nodes, names, positive = [], [], set()
    for i, expr in enumerate(exprs):
        where = f"law {name!r}" + (f" target {i + 1}" if len(exprs) > 1 else "")
        node, ns, pos = compile_formula(expr, params, where=where)
        nodes.append(node)
        names += [n for n in ns if n not in names]
        positive |= pos
    if inputs is None:
        inputs = names
    else:
        unknown = [n for n in names if n not in inputs]
        if unknown:
            raise LawError(
                f"law {name!r}: formula uses {unknown}, which is neither a parameter "
                f"({', '.join(params)}) nor an input ({', '.join(inputs)})"
            )
    if outputs is None:
        outputs = ("loss",) if len(exprs) == 1 else tuple(f"y{i + 1}" for i in range(len(exprs)))
    if len(outputs) != len(exprs):
        raise LawError(f"law {name!r}: {len(exprs)} formulas but {len(outputs)} targets")

    def fn(p: Mapping[str, Any], x: Mapping[str, Any]) -> Any:
        env = {**x, **p}
        ys = [node(env) for node in nodes]
        n = next(iter(x.values())).shape[0] if x else 1
        ys = [jnp.broadcast_to(y, (n,)) for y in ys]
        return ys[0] if len(ys) == 1 else jnp.stack(ys, axis=-1)

    equation = exprs[0] if len(exprs) == 1 else " ; ".join(exprs)
    return Law(
        name=name,
        inputs=tuple(inputs),
        params=tuple(params),
        bounds=tuple(tuple(bounds[p]) for p in params),
        fn=fn,
        outputs=tuple(outputs),
        equation=equation,
        positive_inputs=tuple(n for n in inputs if n in positive),
        input_floor=input_floor,
        reference_values=reference_values,
        description=description,
        reference=reference,
        spec={
            "formulas": exprs,
            "bounds": {p: list(bounds[p]) for p in params},
            "inputs": list(inputs),
            "outputs": list(outputs),
            "input_floor": input_floor,
            "name": name,
        },
    )


def read_law_file(path: str | Path) -> dict[str, Any]:
    """Parse a laws.toml manifest (raises LawError with the file name on failure)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise LawError(f"{path}: law file not found; check the --law-file path") from None
    except tomllib.TOMLDecodeError as err:
        raise LawError(f"{path}: not valid TOML ({err}); fix the file") from None


def laws_in_file(path: str | Path) -> list[str]:
    """Names of the laws in a laws.toml file, in file order."""
    return list(read_law_file(path).get("laws", {}))


def load_law_file(path: str | Path, law: str | None = None) -> Law:
    """Load one law from a laws.toml manifest (ScaleBench format).

    The manifest gives ``features`` (input order), ``targets``, optionally ``input_floor``, and
    ``[laws.NAME]`` tables with ``params``, ``bounds`` and ``formula`` (or ``formulas``, one per
    target), optionally ``reference`` values.
    """
    path = Path(path)
    manifest = read_law_file(path)
    laws = manifest.get("laws", {})
    if not laws:
        raise LawError(f"{path}: no [laws.NAME] tables; add at least one law")
    if law is None:
        if len(laws) > 1:
            raise LawError(
                f"{path}: holds {len(laws)} laws; pick one with --law ({', '.join(laws)})"
            )
        law = next(iter(laws))
    if law not in laws:
        raise LawError(f"{path}: no law {law!r}; choose one of {', '.join(laws)}")
    spec = laws[law]
    where = f"{path}: law {law!r}"
    for key in ("params", "bounds"):
        if key not in spec:
            raise LawError(f"{where} has no {key!r}; add it")
    params, bounds = list(spec["params"]), list(spec["bounds"])
    if len(params) != len(bounds):
        raise LawError(f"{where}: {len(params)} params but {len(bounds)} bounds")
    formulas = spec.get("formulas", spec.get("formula"))
    if formulas is None:
        raise LawError(f"{where} has no 'formula' (or 'formulas'); add it")
    task = manifest.get("task", path.parent.name)
    return formula_law(
        formulas,
        {p: (float(b[0]), float(b[1])) for p, b in zip(params, bounds)},
        name=f"{task}:{law}",
        inputs=manifest.get("features"),
        outputs=manifest.get("targets"),
        input_floor=manifest.get("input_floor"),
        reference_values=spec.get("reference"),
        description=f"law {law} of {task}",
        reference="Li et al. 2026, arXiv 2604.22753 (ScaleBench); see the task's laws.toml",
    )
