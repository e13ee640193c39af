"""fit.json: a fit's parameters, status and modes plus what is needed to rebuild its law.

Built-in laws are stored by name; formula laws carry their formulas and bounds (``law_spec``),
so ``sl predict fit.json`` needs neither the runs table nor the laws.toml file. Other tools add
sections (``"posterior"`` by the uncertainty methods, ``"groups"`` for per-group fits); readers
ignore keys they do not know.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import FileFormatError, ScalingLawsError
from ._law import Law, get_law

FORMAT_VERSION = 1


def law_to_spec(law: Law) -> dict[str, Any] | None:
    """The formula spec of a formula law (None for built-in laws, stored by name)."""
    return dict(law.spec) if law.spec is not None else None


def law_from_record(record: Mapping[str, Any], source: str = "fit.json") -> Law:
    """Rebuild the law of a fit record (``{"law": name, "law_spec": {...}?}``)."""
    spec = record.get("law_spec")
    if spec:
        from ._formula import formula_law

        return formula_law(
            spec["formulas"],
            {k: tuple(v) for k, v in spec["bounds"].items()},
            name=spec.get("name", record.get("law", "formula")),
            inputs=spec.get("inputs"),
            outputs=spec.get("outputs"),
            input_floor=spec.get("input_floor"),
        )
    if "law" not in record:
        raise FileFormatError(f"{source}: no 'law' key; is this a fit.json written by sl fit?")
    try:
        return get_law(record["law"])
    except ScalingLawsError as err:
        raise FileFormatError(f"{source}: {err}") from None


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _clean(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def fit_record(fit: Any, **extra: Any) -> dict[str, Any]:
    """The JSON-ready record of a :class:`~scalinglaws.FitResult` plus extra sections."""
    rec = {"format": FORMAT_VERSION, **fit.to_dict()}
    spec = law_to_spec(fit.law)
    if spec is not None:
        rec["law_spec"] = spec
    rec.update(extra)
    return _clean(rec)


def save_fit(fit: Any, path: str | Path, **extra: Any) -> Path:
    """Write ``fit`` (and extra sections such as ``posterior``) to ``path`` as JSON."""
    path = Path(path)
    rec = fit if isinstance(fit, Mapping) else fit_record(fit, **extra)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(_clean(rec), indent=2) + "\n")
    tmp.replace(path)
    return path


def load_fit(path: str | Path) -> tuple[Law, dict[str, Any]]:
    """Read a fit.json → (law, record). Errors name the file and the fix."""
    path = Path(path)
    try:
        rec = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileFormatError(
            f"{path}: no such file; write one with sl fit ... --json {path}"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise FileFormatError(
            f"{path}: not valid JSON ({err}); re-create it with sl fit --json"
        ) from None
    if not isinstance(rec, dict):
        raise FileFormatError(f"{path}: expected a JSON object written by sl fit --json")
    law = law_from_record(rec, str(path))
    if "groups" not in rec:
        missing = [p for p in law.params if p not in rec.get("params", {})]
        if missing:
            raise FileFormatError(
                f"{path}: parameters {missing} missing; re-create it with sl fit --json"
            )
    return law, rec
