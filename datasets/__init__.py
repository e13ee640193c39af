"""Bundled scaling-law data: the eight public ScaleBench tasks.

Data CC-BY-4.0, from "Spend Less, Fit Better: Budget-Efficient Scaling Law Fitting via Active
Experiment Selection" (Li, Li, Lin, Sun, Talwalkar, Yang, arXiv 2604.22753, 2026); see
README.md in this folder.
"""

from ._scalebench import Task, laws_file, list_tasks, load, resolve_task, task_cost, task_dir

__all__ = ["Task", "laws_file", "list_tasks", "load", "resolve_task", "task_cost", "task_dir"]
