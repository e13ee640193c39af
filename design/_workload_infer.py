"""Reference workload for test-time scaling: ``k`` samples per problem from a noisy solver.

The bundled problem set (``scalinglaws/datasets/arith_problems.csv``: ``id, question, answer``)
holds 200 integer arithmetic problems (``a + b``, ``a - b``, ``a * b``). The solver is a noisy
calculator: it computes the exact answer and then, independently for each digit, replaces the
digit by a different one with a per-problem rate ``eps_i``. A sample is correct when every digit
survives, so problem ``i`` is solved by one sample with probability
``p_i = (1 - eps_i) ** n_digits_i``.

The single-sample success probabilities ``p_i`` follow a Beta(0.35, 1.5) distribution with a
heavy left tail near 0 (many hard problems), which makes ``pass@k`` grow like a power law in
``k`` -- the regime studied by test-time-scaling laws. ``p_i`` is a fixed property of the
problem (drawn from a generator seeded by the problem text, independent of the run seed), while
the samples are drawn from a generator seeded by ``(seed, problem id)``, so results are
deterministic given the seed and do not depend on how many problems are evaluated.

Command line: ``python -m scalinglaws.design.workload_infer --k 16 --problems 100 --seed 0
[--out counts.csv] [--result PATH]`` prints the JSON result as the last line of stdout.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from scalinglaws._errors import DataError, ScalingLawsError

__all__ = [
    "Problem",
    "load_problems",
    "main",
    "make_problems",
    "run_inference",
    "solve_probability",
]

BETA_A = 0.35
BETA_B = 1.5
N_PROBLEMS = 200
PROBLEMS_SEED = 7


@dataclass(frozen=True)
class Problem:
    """One arithmetic problem: ``question`` like ``'317 * 42'`` and its integer ``answer``."""

    id: int
    question: str
    answer: int


def make_problems(n: int = N_PROBLEMS, seed: int = PROBLEMS_SEED) -> list[Problem]:
    """Generate ``n`` problems (used once to write the bundled CSV; deterministic)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        op = rng.choice(["+", "-", "*"])
        digits_a, digits_b = int(rng.integers(1, 5)), int(rng.integers(1, 4 if op == "*" else 5))
        a = int(rng.integers(10 ** (digits_a - 1), 10**digits_a))
        b = int(rng.integers(10 ** (digits_b - 1), 10**digits_b))
        answer = a + b if op == "+" else a - b if op == "-" else a * b
        out.append(Problem(i, f"{a} {op} {b}", answer))
    return out


def write_problems(path: str | Path, problems: Sequence[Problem]) -> None:
    """Write problems as CSV with columns ``id, question, answer``."""
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "question", "answer"])
        for p in problems:
            writer.writerow([p.id, p.question, p.answer])


def load_problems(path: str | Path | None = None) -> list[Problem]:
    """The bundled problems (or those in the CSV at ``path``), in file order."""
    if path is None:
        text = (resources.files("scalinglaws.datasets") / "arith_problems.csv").read_text()
        where = "arith_problems.csv"
    else:
        where = str(path)
        try:
            text = Path(path).read_text()
        except OSError as err:
            raise DataError(
                f"problems file {where} is unreadable ({err.strerror}); fix the path"
            ) from None
    rows = list(csv.DictReader(text.splitlines()))
    problems = []
    for line, row in enumerate(rows, start=2):
        try:
            problems.append(Problem(int(row["id"]), row["question"], int(row["answer"])))
        except (KeyError, TypeError, ValueError):
            raise DataError(
                f"problems file {where} row {line} is {row!r}; expected integer id, a question "
                "like '12 + 30' and an integer answer"
            ) from None
    return problems


def solve_probability(problem: Problem) -> float:
    """The fixed single-sample success probability ``p_i`` of the noisy solver on ``problem``."""
    digest = hashlib.sha256(problem.question.encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    return float(rng.beta(BETA_A, BETA_B))


def _calculate(question: str) -> int:
    a, op, b = question.split()
    x, y = int(a), int(b)
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    raise DataError(f"question {question!r} has operator {op!r}; use one of + - *")


def _noisy_answers(problem: Problem, k: int, rng: np.random.Generator) -> list[str]:
    """``k`` answers from the noisy calculator (digit errors at the problem's rate)."""
    exact = str(_calculate(problem.question))
    sign, digits = ("-", exact[1:]) if exact.startswith("-") else ("", exact)
    p = solve_probability(problem)
    eps = 1.0 - p ** (1.0 / len(digits))
    flips = rng.random((k, len(digits))) < eps
    shifts = rng.integers(1, 10, size=(k, len(digits)))
    base = np.array([int(c) for c in digits])
    noisy = np.where(flips, (base[None, :] + shifts) % 10, base[None, :])
    return [sign + "".join(str(d) for d in row) for row in noisy]


def run_inference(
    k: int, problems: int | None = None, seed: int = 0, path: str | Path | None = None
) -> dict[str, Any]:
    """Draw ``k`` samples for each of the first ``problems`` problems; return the result.

    The result holds ``pass_at_k`` (fraction of problems with at least one correct sample),
    ``k``, ``problems``, ``cost`` (``k * problems`` samples), ``mean_correct`` and
    ``per_problem`` as ``[problem_id, samples, correct]`` triples.
    """
    if int(k) < 1:
        raise ScalingLawsError(f"k is {k}; pass a positive number of samples per problem")
    pool = load_problems(path)
    n = len(pool) if problems is None else int(problems)
    if not 1 <= n <= len(pool):
        raise ScalingLawsError(f"problems is {problems}; pass a number between 1 and {len(pool)}")
    per_problem = []
    for prob in pool[:n]:
        rng = np.random.default_rng([int(seed), prob.id])
        answers = _noisy_answers(prob, int(k), rng)
        correct = sum(a == str(prob.answer) for a in answers)
        per_problem.append([prob.id, int(k), int(correct)])
    solved = sum(1 for _, _, c in per_problem if c > 0)
    return {
        "pass_at_k": solved / n,
        "k": int(k),
        "problems": n,
        "cost": int(k) * n,
        "mean_correct": sum(c for _, _, c in per_problem) / (n * int(k)),
        "per_problem": per_problem,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: sample, optionally write ``--out`` counts, print the JSON result last."""
    parser = argparse.ArgumentParser(
        prog="python -m scalinglaws.design.workload_infer",
        description="k noisy-solver samples per arithmetic problem; print a JSON result line.",
    )
    parser.add_argument("--k", type=int, required=True, help="samples per problem")
    parser.add_argument("--problems", type=int, default=None, help="first n problems (all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--problems-file", default=None, help="CSV id,question,answer")
    parser.add_argument("--out", default=None, help="write CSV problem,samples,correct")
    parser.add_argument("--result", default=None, help="also write the JSON object here")
    args = parser.parse_args(argv)
    try:
        result = run_inference(args.k, args.problems, args.seed, args.problems_file)
    except ScalingLawsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.out:
        with open(args.out, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["problem", "samples", "correct"])
            writer.writerows(result["per_problem"])
    line = json.dumps(result)
    if args.result:
        Path(args.result).write_text(line + "\n")
    print(line, flush=True)
    return 0
