"""Bundled ScaleBench tasks: loading, aliases, cost expressions, user task folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalinglaws import DataError
from scalinglaws.datasets import (
    Task,
    laws_file,
    list_tasks,
    load,
    resolve_task,
    task_cost,
    task_dir,
)

ROWS = {
    "farseer_scaling_law": (404, 7),
    "lr_bsz_scaling_law": (2702, 117),
    "data_constrained_scaling_law": (161, 21),
    "domain_mixture_scaling_law": (80, 24),
    "moe_scaling_law": (193, 28),
    "parallel_scaling_law": (36, 12),
    "sparsity_scaling_law": (70, 18),
    "vocab_scaling_law": (1080, 120),
}

ALIASES = {
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


def test_list_tasks():
    assert sorted(list_tasks()) == sorted(ROWS)


@pytest.mark.parametrize("name", sorted(ROWS))
def test_task_loads(name: str):
    task = load(name)
    assert isinstance(task, Task)
    assert task.name == name
    assert (len(task.train), len(task.test)) == ROWS[name]
    assert task.features and task.targets and task.law_names
    for df in (task.train, task.test):
        for col in (*task.features, *task.targets, task.group):
            assert col in df.columns
    assert task.group == "group"
    assert task.budget_fractions and all(0 < b < 1 for b in task.budget_fractions)
    assert task.path == task_dir(name) and (task.path / "laws.toml").is_file()
    assert task.manifest["task"] == name and set(task.law_names) == set(task.manifest["laws"])
    assert name in task.description
    cost = task_cost(task, task.train)
    assert cost.shape == (len(task.train),) and np.all(np.isfinite(cost)) and np.all(cost > 0)


def test_manifest_details():
    farseer = load("farseer")
    assert farseer.features == ("N", "D") and farseer.targets == ("loss",)
    assert farseer.cost == "6 * N * D" and farseer.input_floor is None
    assert farseer.budget_fractions == (0.01, 0.05, 0.1)
    domain = load("domain")
    assert domain.input_floor == 1e-12 and len(domain.targets) == 5
    assert domain.budget_fractions == (0.2, 0.35, 0.5)
    assert np.all(task_cost(domain, domain.test) == 1.0)
    assert load("moe").law_names[:3] == ("sl_1", "sl_2", "sl_3")


def test_aliases():
    for alias, full in ALIASES.items():
        assert resolve_task(alias) == full
        assert resolve_task(full) == full
    assert resolve_task("FARSEER") == "farseer_scaling_law"
    assert laws_file("farseer") == laws_file("farseer_scaling_law")
    assert laws_file("farseer").is_file() and laws_file("farseer").name == "laws.toml"


def test_unknown_task():
    with pytest.raises(DataError, match="unknown task 'chinchila'.*farseer_scaling_law"):
        resolve_task("chinchila")
    with pytest.raises(DataError):
        load("no_such_task")


def test_task_cost_farseer():
    task = load("farseer")
    for df in (task.train, task.test):
        expected = 6 * df["N"].to_numpy() * df["D"].to_numpy()
        np.testing.assert_allclose(task_cost(task, df), expected, rtol=1e-12)


def test_task_cost_expressions():
    df = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    np.testing.assert_allclose(task_cost("-(a + b) ** 2 / 2 - 1", df), [-9.0, -19.0])
    np.testing.assert_allclose(task_cost("2", df), [2.0, 2.0])
    for bad in ("__import__('os')", "a.real", "a if b else 1", "a[0]", "c * a", "a +"):
        with pytest.raises(DataError):
            task_cost(bad, df)


def test_load_from_path(tmp_path: Path):
    src = task_dir("parallel")
    dst = tmp_path / "my_task"
    shutil.copytree(src, dst)
    task = load(str(dst))
    assert task.path == dst
    assert (len(task.train), len(task.test)) == ROWS["parallel_scaling_law"]
    assert task.features == ("num_params", "parallel_size")
    assert load(dst).law_names == task.law_names
    assert laws_file(dst) == dst / "laws.toml"
    (dst / "test.parquet").unlink()
    with pytest.raises(DataError, match="test.parquet: file not found"):
        load(dst)
    with pytest.raises(DataError, match="not a task folder"):
        load(tmp_path / "missing")


def test_a_bad_task_folder_is_one_line_naming_the_file(tmp_path: Path):
    """A cell that is not a number, a missing outcome, a checkpoint outside (0, 1] or a cost that
    is not positive: each was replayed silently (or failed deep in a worker) before."""
    src = task_dir("parallel")

    def broken(edit_train=None, edit_toml=None) -> Path:
        dst = tmp_path / f"t{len(list(tmp_path.iterdir()))}"
        shutil.copytree(src, dst)
        if edit_train is not None:
            df = pd.read_parquet(dst / "train.parquet")
            edit_train(df)
            df.to_parquet(dst / "train.parquet")
        if edit_toml is not None:
            toml = dst / "laws.toml"
            toml.write_text(edit_toml(toml.read_text()))
        return dst

    def nan_loss(df):
        df.loc[3, "loss"] = np.nan

    def text(df):
        df["num_params"] = df["num_params"].astype(str)
        df.loc[3, "num_params"] = "abc"

    with pytest.raises(DataError, match=r"train.parquet: column loss, row 4 is empty or NaN"):
        load(broken(nan_loss))
    with pytest.raises(DataError, match=r"train.parquet: column num_params, row 4: 'abc' is not"):
        load(broken(text))
    fractions = "budget_fractions = [0.01, 0.05, 0.1]"
    with pytest.raises(DataError, match=r"laws.toml: budget_fractions holds 5; each checkpoint"):
        load(broken(edit_toml=lambda t: t.replace(fractions, "budget_fractions = [0.01, 5]")))
    cost = 'cost = "num_params"'
    with pytest.raises(DataError, match=r"laws.toml: cost 'num_params - 1e12' is -9.99"):
        load(broken(edit_toml=lambda t: t.replace(cost, 'cost = "num_params - 1e12"')))
