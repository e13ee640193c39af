"""The bundled ScaleBench tasks (and user task folders in the same format).

A task folder holds ``train.parquet`` (the candidate pool), ``test.parquet`` (the held-out
target region) and ``laws.toml`` (features, targets, group column, cost expression, budget
checkpoints and the candidate laws). The eight public ScaleBench tasks ship with the package.

>>> from scalinglaws.datasets import load
>>> task = load("farseer")
>>> task.features, task.targets
(('N', 'D'), ('loss',))
"""

from __future__ import annotations

import dataclasses
import importlib.resources
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scalinglaws._errors import DataError
from scalinglaws._io import SOURCE_ATTR, numeric_columns

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

_TASKS = (
    "data_constrained_scaling_law",
    "domain_mixture_scaling_law",
    "farseer_scaling_law",
    "lr_bsz_scaling_law",
    "moe_scaling_law",
    "parallel_scaling_law",
    "sparsity_scaling_law",
    "vocab_scaling_law",
)

_ALIASES = {
    "farseer": "farseer_scaling_law",
    "lr_bsz": "lr_bsz_scaling_law",
    "data_constrained": "data_constrained_scaling_law",
    "domain_mixture": "domain_mixture_scaling_law",
    "domain": "domain_mixture_scaling_law",
    "moe": "moe_scaling_law",
    "parallel": "parallel_scaling_law",
    "sparsity": "sparsity_scaling_law",
    "vocab": "vocab_scaling_law",
}

_FILES = ("train.parquet", "test.parquet", "laws.toml")


@dataclasses.dataclass(frozen=True, eq=False)
class Task:
    """One scaling-law task: candidate pool, target region and the manifest of its laws.

    Attributes:
        name: task name (``"farseer_scaling_law"``; the folder name for a user task).
        train: candidate pool, one row per run that could be launched.
        test: held-out target region where extrapolation is scored.
        features: input columns, in the order the laws use them.
        targets: output columns.
        group: column whose groups are fitted separately (None: one group).
        cost: expression for the cost of one run, e.g. ``"6 * N * D"`` (see :func:`task_cost`).
        budget_fractions: budget checkpoints as fractions of the pool's total cost.
        input_floor: clamp inputs at this floor before evaluating a law (None: no clamp).
        law_names: names of the task's candidate laws, in file order.
        description: the leading comment block of laws.toml (or its ``description`` key).
        path: the task folder.
        manifest: the parsed laws.toml.
    """

    name: str
    train: pd.DataFrame
    test: pd.DataFrame
    features: tuple[str, ...]
    targets: tuple[str, ...]
    group: str | None
    cost: str
    budget_fractions: tuple[float, ...]
    input_floor: float | None
    law_names: tuple[str, ...]
    description: str
    path: Path
    manifest: dict[str, Any]


def list_tasks() -> list[str]:
    """Full names of the bundled ScaleBench tasks."""
    return list(_TASKS)


def resolve_task(name: str) -> str:
    """Full task name for a full name or short alias (``"farseer"``, ``"domain"``, ...)."""
    key = str(name).strip()
    if key in _TASKS:
        return key
    low = key.lower()
    if low in _TASKS:
        return low
    if low in _ALIASES:
        return _ALIASES[low]
    if f"{low}_scaling_law" in _TASKS:
        return f"{low}_scaling_law"
    raise DataError(
        f"unknown task {name!r}; choose one of {', '.join(_TASKS)} "
        f"(or a short name: {', '.join(sorted(_ALIASES))}), or give a folder holding "
        "train.parquet, test.parquet and laws.toml"
    )


def task_dir(name: str | Path) -> Path:
    """Folder of a bundled task (by name or alias) or of a user task given as a path."""
    if isinstance(name, Path) or not _is_task_name(str(name)):
        p = Path(name).expanduser()
        if p.is_dir():
            return p
        if p.exists() or any(c in str(name) for c in "/\\") or str(name).startswith("."):
            raise DataError(
                f"{name}: not a task folder; give a directory holding "
                "train.parquet, test.parquet and laws.toml, or a bundled task name"
            )
    full = resolve_task(str(name))
    return Path(str(importlib.resources.files("scalinglaws.datasets") / "scalebench" / full))


def laws_file(name: str | Path) -> Path:
    """Path of a task's laws.toml (bundled task name/alias or task folder)."""
    path = task_dir(name) / "laws.toml"
    if not path.is_file():
        raise DataError(f"{path}: file not found; a task folder needs a laws.toml manifest")
    return path


def load(name: str | Path) -> Task:
    """Load a bundled task by name or alias, or a user task folder by path."""
    folder = task_dir(name)
    for f in _FILES:
        if not (folder / f).is_file():
            raise DataError(
                f"{folder / f}: file not found; a task folder needs {', '.join(_FILES)}"
            )
    toml_path = folder / "laws.toml"
    text = toml_path.read_text(encoding="utf-8")
    try:
        manifest = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise DataError(f"{toml_path}: invalid TOML ({e}); fix the syntax") from None
    frames = {}
    for split in ("train", "test"):
        p = folder / f"{split}.parquet"
        try:
            frames[split] = pd.read_parquet(p)
        except Exception as e:  # noqa: BLE001 - any reader failure is a data problem
            msg = " ".join(str(e).split())
            raise DataError(f"{p}: not a readable parquet file ({msg})") from None
    features = _str_tuple(manifest, "features", toml_path)
    targets = _str_tuple(manifest, "targets", toml_path)
    group = manifest.get("group")
    for split, df in frames.items():
        needed = [*features, *targets, *([group] if group else [])]
        missing = [c for c in needed if c not in df.columns]
        if missing:
            raise DataError(
                f"{folder / (split + '.parquet')}: missing column(s) {', '.join(missing)} "
                f"named in laws.toml; its columns are {', '.join(map(str, df.columns))}"
            )
        df.attrs[SOURCE_ATTR] = str(folder / f"{split}.parquet")
        numeric_columns(df, [*features, *targets], "")  # a bad cell: one line naming it
    fractions = manifest.get("budget_fractions", ())
    bad = [b for b in fractions if not (isinstance(b, (int, float)) and 0 < b <= 1)]
    if bad:
        raise DataError(
            f"{toml_path}: budget_fractions holds {bad[0]!r}; each checkpoint is a fraction of "
            "the pool's total cost, in (0, 1] (0.05 for 5%)"
        )
    cost = str(manifest.get("cost", "1"))
    try:
        c = task_cost(cost, frames["train"])
    except DataError as e:
        raise DataError(f"{toml_path}: {e}") from None
    if not np.all(np.isfinite(c) & (c > 0)):
        i = int(np.argmax(~(np.isfinite(c) & (c > 0))))
        raise DataError(
            f"{toml_path}: cost {cost!r} is {float(c[i]):.6g} on row {i + 1} of train.parquet; "
            "every run of the pool needs a positive finite cost: fix the formula or the row"
        )
    floor = manifest.get("input_floor")
    laws = manifest.get("laws", {})
    return Task(
        name=str(manifest.get("task", folder.name)),
        train=frames["train"],
        test=frames["test"],
        features=features,
        targets=targets,
        group=str(group) if group else None,
        cost=cost,
        budget_fractions=tuple(float(b) for b in fractions),
        input_floor=None if floor is None else float(floor),
        law_names=tuple(laws) if isinstance(laws, Mapping) else (),
        description=str(manifest.get("description") or _leading_comments(text)),
        path=folder,
        manifest=manifest,
    )


def task_cost(task: Task | str, df: pd.DataFrame) -> np.ndarray:
    """Cost of each row of ``df`` under the task's cost expression (or an expression string).

    The expression goes through the same whitelist parser as formula laws (no ``eval``).
    """
    from scalinglaws._errors import LawError
    from scalinglaws._formula import compile_formula

    expr = task.cost if isinstance(task, Task) else str(task)
    try:
        node, names, _ = compile_formula(expr, (), where="cost expression")
    except LawError as err:
        raise DataError(f"{err}; use numbers, column names, + - * / ** and parentheses") from None
    missing = [n for n in names if n not in df.columns]
    if missing:
        raise DataError(
            f"cost expression {expr!r} uses column {missing[0]!r}, which the table lacks; "
            f"its columns are {', '.join(map(str, df.columns))}"
        )
    checked = numeric_columns(df, names, "the table")
    env = {n: checked[n].to_numpy(dtype=np.float64) for n in names}
    value = np.asarray(node(env), dtype=np.float64)
    return np.broadcast_to(value, (len(df),)).copy()


def _is_task_name(name: str) -> bool:
    try:
        resolve_task(name)
    except DataError:
        return False
    return True


def _str_tuple(manifest: Mapping[str, Any], key: str, path: Path) -> tuple[str, ...]:
    value = manifest.get(key)
    if isinstance(value, str):
        value = [value]
    if not value or not all(isinstance(v, str) for v in value):
        raise DataError(f'{path}: needs {key} = ["col", ...], a list of column names')
    return tuple(value)


def _leading_comments(text: str) -> str:
    lines = []
    for line in text.splitlines():
        s = line.strip()
        if not s.startswith("#"):
            break
        lines.append(s.lstrip("#").strip())
    return "\n".join(lines).strip()
