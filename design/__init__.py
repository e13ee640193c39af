"""scalinglaws.design: costs, acquisitions, budgets, proposals, the ledger, executors, workloads.

- proposing runs: :func:`propose`, :func:`predict_target`, :func:`plot_proposals`,
  :class:`DesignLoop`, :data:`METHODS`, :func:`select_batch`
- costs and budgets: :class:`CostModel`, :func:`cost_model`, :func:`fit_cost_model`,
  :class:`Budget`, :func:`parse_budget`
- benchmark: :func:`bench`, :func:`summarize`
- the closed loop: :class:`Ledger`, :class:`LocalExecutor`, :class:`SubmititExecutor`
- reference workloads: :func:`train_lm`, :func:`run_inference`
"""

from ._acquisition import (
    ModePosterior,
    build_posterior,
    dopt_gain,
    mspe_inter_gain,
    select_batch,
    vopt_gain,
)
from ._bench import BENCH_METHODS, bench, summarize
from ._budget import Budget, DesignError, parse_budget
from ._costs import CostModel, cost_model, fit_cost_model
from ._executors import (
    Executor,
    ExecutorError,
    JobStatus,
    LocalExecutor,
    ResultError,
    SubmititExecutor,
    format_command,
    parse_result,
)
from ._ledger import STATES, Ledger, LedgerError, Trial
from ._loop import Study, StudyResult, config_key, run_study
from ._plot import plot_proposals
from ._propose import METHODS, DesignLoop, predict_target, propose
from ._workload_infer import Problem, load_problems, make_problems, run_inference, solve_probability
from ._workload_lm import lm_shape, load_corpus, train_lm

__all__ = [
    "BENCH_METHODS",
    "METHODS",
    "STATES",
    "Budget",
    "CostModel",
    "DesignError",
    "DesignLoop",
    "Executor",
    "ExecutorError",
    "JobStatus",
    "Ledger",
    "LedgerError",
    "LocalExecutor",
    "ModePosterior",
    "Problem",
    "ResultError",
    "Study",
    "StudyResult",
    "SubmititExecutor",
    "Trial",
    "bench",
    "build_posterior",
    "config_key",
    "cost_model",
    "dopt_gain",
    "fit_cost_model",
    "format_command",
    "lm_shape",
    "load_corpus",
    "load_problems",
    "make_problems",
    "mspe_inter_gain",
    "parse_budget",
    "parse_result",
    "plot_proposals",
    "predict_target",
    "propose",
    "run_inference",
    "run_study",
    "select_batch",
    "solve_probability",
    "summarize",
    "train_lm",
    "vopt_gain",
]
