"""Budgets for active design: parse ``"10%"`` or an absolute cost; account for spend.

The paper's convention (Li et al., arXiv 2604.22753): a budget given as a percentage is a fraction
of the candidate pool's total cost, ``B = f · Σ_{c ∈ pool} cost(c)``. Runs already observed and
runs in flight count as spent: ``remaining = B − cost(observed) − cost(in flight)``.
"""

from __future__ import annotations

import dataclasses
import math

from scalinglaws._errors import ScalingLawsError

__all__ = ["Budget", "DesignError", "parse_budget"]


class DesignError(ScalingLawsError, ValueError):
    """An active-design input is unusable: empty pool, budget spent, bad cost model, ..."""


def parse_budget(spec: str | float, total_cost: float) -> float:
    """Budget in cost units from ``"10%"`` (of ``total_cost``) or an absolute number.

    Args:
        spec: ``"10%"``, ``"0.5%"``, ``"1e21"``, ``3e20`` (absolute).
        total_cost: total cost of the candidate pool (what a percentage refers to).

    Returns:
        The budget B (> 0).
    """
    text = str(spec).strip()
    try:
        if text.endswith("%"):
            value = float(text[:-1]) / 100.0 * float(total_cost)
            pct = float(text[:-1])
            if not (math.isfinite(pct) and pct > 0):
                raise ValueError
        else:
            value = float(text)
    except ValueError:
        raise DesignError(
            f"budget {spec!r} is not a positive number or percentage; write e.g. 10% or 3e20"
        ) from None
    if not (math.isfinite(value) and value > 0):
        raise DesignError(f"budget {spec!r} gives {value:g}; give a positive budget, e.g. 10%")
    return value


@dataclasses.dataclass
class Budget:
    """A budget ``limit`` with the cost already ``spent`` (observed + in flight)."""

    limit: float
    spent: float = 0.0

    @property
    def remaining(self) -> float:
        return self.limit - self.spent

    def affords(self, cost: float) -> bool:
        """Whether a run of ``cost`` fits: ``spent + cost ≤ limit`` (relative tolerance 1e-12)."""
        return self.spent + cost <= self.limit * (1 + 1e-12)

    def pay(self, cost: float) -> None:
        self.spent += float(cost)
