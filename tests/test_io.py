"""Runs tables: reading, validation errors (the tests/data/bad corpus), mapping and derivation."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalinglaws._errors import DataError
from scalinglaws._io import Runs, check_positive_outputs, prepare_runs, read_table
from scalinglaws._law import Law

DATA = Path(__file__).parent / "data"
BAD = DATA / "bad"
GOOD = DATA / "good"

# file in tests/data/bad -> fragment its error message must contain (see bad/README.md)
EXPECTED = {
    "bad_quoting.csv": "could not be parsed as CSV (line 4",
    "binary_garbage.csv": "holds binary data",
    "blank_lines.csv": "is empty (only blank lines)",
    "bool_column.csv": "column loss, row 1 (line 2): 'False' is a true/false value",
    "duplicated_header.csv": "column name 'N' appears twice",
    "empty.csv": "is empty (0 bytes)",
    "empty_cell.csv": "column D, row 2 (line 3) is empty",
    "empty_rows.parquet": "has no data rows",
    "excel_saved_as.csv": "is a zip/Excel workbook",
    "header_only.csv": "has no data rows (only a header line)",
    "inf_D.csv": "column D, row 6 (line 7) is infinite",
    "latin1_text.csv": "is not UTF-8 text",
    "missing_D.csv": "has no column for input 'D'",
    "missing_loss.csv": "has no column for output 'loss'",
    "nan_loss.csv": "column loss, row 4 (line 5) is empty or NaN",
    "negative_C_derivation.csv": "column C, row 3 (line 4): value -1.08e+19 is not > 0",
    "negative_D.csv": "column D, row 7 (line 8): value -9.6e+10 is not > 0",
    "no_header.csv": "looks like data, not a header",
    "no_suffix": "unsupported file type (no suffix)",
    "non_numeric_N.csv": "column N, row 3 (line 4): '300M' is not a number",
    "not_parquet.parquet": "is text, not a parquet file",
    "null_loss.parquet": "column loss, row 3 is empty or NaN",
    "one_row.csv": "has 1 run but law chinchilla has 5 free parameters",
    "parquet_saved_as.csv": "is a parquet file, not a CSV text file",
    "quoted_text.csv": "remove the thousands separators",
    "ragged_rows.csv": "line 5 has 4 fields but the header has 3",
    "short_row.csv": "line 6 has 2 fields but the header has 3",
    "string_N.parquet": "column N, row 4: '600M' is not a number",
    "synonym_columns.csv": "--col N=params",
    "text_in_loss.csv": "column loss, row 5 (line 6): 'diverged' is not a number",
    "too_few_runs.csv": "has 3 runs but law chinchilla has 5 free parameters",
    "truncated.parquet": "truncated or corrupted parquet file",
    "tsv_with_commas.tsv": "seems to use ',' as separator",
    "unknown_suffix.xlsx": "unsupported file type '.xlsx'",
    "unnamed_column.csv": "column 2 of the header (line 1) has no name",
    "wrong_delimiter.csv": "seems to use ';' as separator",
    "zero_N.csv": "column N, row 1 (line 2): value 0 is not > 0",
}


def chinchilla_stub() -> Law:
    return Law(
        name="chinchilla",
        inputs=("N", "D"),
        params=("E", "A", "B", "alpha", "beta"),
        bounds=((0.1, 10), (1, 1e12), (1, 1e12), (0.01, 2.5), (0.01, 2.5)),
        fn=lambda p, x: p["E"] + p["A"] * x["N"] ** -p["alpha"] + p["B"] * x["D"] ** -p["beta"],
        positive_inputs=("N", "D"),
    )


def bad_files() -> list[Path]:
    return sorted(p for p in BAD.iterdir() if p.name != "README.md")


def test_corpus_is_complete():
    names = {p.name for p in bad_files()}
    assert len(names) >= 22
    assert names == set(EXPECTED), "every file in tests/data/bad needs an EXPECTED entry"
    readme = (BAD / "README.md").read_text(encoding="utf-8")
    for name in names:
        assert f"`{name}`" in readme, f"{name} is not listed in tests/data/bad/README.md"


@pytest.mark.parametrize("path", bad_files(), ids=lambda p: p.name)
def test_bad_file_raises_one_line(path: Path):
    with pytest.raises(DataError) as info:
        prepare_runs(read_table(path), chinchilla_stub(), source=str(path))
    msg = str(info.value)
    assert "\n" not in msg and "\r" not in msg
    assert path.name in msg
    assert EXPECTED[path.name] in msg
    assert ";" in msg  # every message says how to fix it after a semicolon


def test_distinct_messages():
    msgs = set()
    for path in bad_files():
        try:
            prepare_runs(read_table(path), chinchilla_stub(), source=path.name)
        except DataError as e:
            msgs.add(str(e))
    assert len(msgs) == len(bad_files())


def test_file_not_found(tmp_path: Path):
    with pytest.raises(DataError, match=r"nope\.csv: file not found"):
        read_table(tmp_path / "nope.csv")


def test_good_files_load():
    law = chinchilla_stub()
    runs = prepare_runs(read_table(GOOD / "chinchilla_runs.csv"), law, source="good.csv")
    assert isinstance(runs, Runs)
    assert runs.n == 40 and runs.y.shape == (40, 1) and runs.y.dtype == np.float64
    assert set(runs.x) == {"N", "D"} and runs.x["N"].dtype == np.float64
    assert runs.columns == {"N": "N", "D": "D", "loss": "loss"}
    assert runs.notes == [] and runs.groups is None
    assert runs.x["N"].min() == pytest.approx(7e7) and runs.x["N"].max() == pytest.approx(1e10)
    tpp = runs.x["D"] / runs.x["N"]
    assert tpp.min() >= 5 * 0.999 and tpp.max() <= 40 * 1.001
    clean = 1.69 + 406.4 / runs.x["N"] ** 0.34 + 410.7 / runs.x["D"] ** 0.28
    assert np.allclose(runs.y[:, 0], clean, rtol=0.02)
    assert list(runs.frame.columns) == ["N", "D", "loss"]


def test_compute_derivation_note():
    law = chinchilla_stub()
    plain = prepare_runs(read_table(GOOD / "chinchilla_runs.csv"), law)
    runs = prepare_runs(read_table(GOOD / "compute_runs.csv"), law, source="compute_runs.csv")
    assert runs.columns["D"] == "derived"
    assert runs.notes == ["derived D = C/(6·N) from columns C and N (C = 6·N·D)"]
    assert np.allclose(runs.x["D"], plain.x["D"], rtol=1e-4)
    assert list(runs.x) == ["N", "D"]


def test_derive_n_and_c():
    df = pd.DataFrame({"D": [1e9, 2e9, 4e9], "compute": [6e18, 2.4e19, 9.6e19], "loss": [3, 2, 1]})
    law_n = Law(name="n", inputs=("N",), params=("a",), bounds=((0, 1),), fn=lambda p, x: x["N"])
    runs = prepare_runs(df, law_n, min_rows=1)
    assert np.allclose(runs.x["N"], [1e9, 2e9, 4e9])
    assert "derived N = C/(6·D) from columns compute and D" in runs.notes[0]
    df2 = pd.DataFrame({"N": [1.0, 2.0], "D": [3.0, 4.0], "loss": [1.0, 2.0]})
    law_c = Law(name="c", inputs=("C",), params=("a",), bounds=((0, 1),), fn=lambda p, x: x["C"])
    runs2 = prepare_runs(df2, law_c)
    assert np.allclose(runs2.x["C"], [18.0, 48.0])
    assert runs2.notes == ["derived C = 6·N·D from columns N and D"]


def test_column_mapping_and_case_insensitive():
    df = pd.DataFrame({"params": [1e8, 2e8, 4e8, 8e8, 1.6e9], "d": [2e9, 4e9, 8e9, 1.6e10, 3.2e10]})
    df["Val_Loss"] = [3.0, 2.8, 2.6, 2.5, 2.4]
    runs = prepare_runs(df, chinchilla_stub(), columns={"N": "params", "loss": "Val_Loss"})
    assert runs.columns == {"N": "params", "D": "d", "loss": "Val_Loss"}
    assert np.allclose(runs.x["N"], df["params"])
    # single-output fallback names: val_loss matches case-insensitively
    runs = prepare_runs(df, chinchilla_stub(), columns={"N": "params"})
    assert runs.columns["loss"] == "Val_Loss"
    assert any("Val_Loss" in n for n in runs.notes)


def test_mapping_errors():
    df = pd.read_csv(GOOD / "chinchilla_runs.csv")
    law = chinchilla_stub()
    with pytest.raises(DataError, match="names no column of the table; its columns are N, D, loss"):
        prepare_runs(df, law, source="t.csv", columns={"N": "params"})
    with pytest.raises(
        DataError,
        match="law chinchilla has no input or output 'X'; its inputs are N, D and its output loss",
    ):
        prepare_runs(df, law, source="t.csv", columns={"X": "N"})
    ambiguous = Law(name="a", inputs=("Lr",), params=("a",), bounds=((0, 1),), fn=lambda p, x: 0)
    two = pd.DataFrame({"lr": [1.0, 2.0], "LR": [1.0, 2.0], "loss": [1.0, 2.0]})
    with pytest.raises(DataError, match="all match 'Lr' up to case"):
        prepare_runs(two, ambiguous)


def test_groups_split_and_per_group_count():
    df = pd.read_csv(GOOD / "chinchilla_runs.csv")
    df["g"] = ["a"] * 25 + ["b"] * 15
    runs = prepare_runs(df, chinchilla_stub(), group="g", source="g.csv")
    parts = runs.split_groups()
    assert list(parts) == ["a", "b"]
    assert parts["a"].n == 25 and parts["b"].n == 15
    assert np.allclose(parts["b"].x["N"], runs.x["N"][25:])
    assert list(parts["b"].rows) == list(range(26, 41))
    assert prepare_runs(df, chinchilla_stub()).split_groups().keys() == {"all"}
    df.loc[df.index[-3:], "g"] = "c"
    with pytest.raises(DataError, match=r"g\.csv: group 'c' has 3 runs but law chinchilla has 5"):
        prepare_runs(df, chinchilla_stub(), group="g", source="g.csv")
    with pytest.raises(DataError, match="has no group column 'grp'"):
        prepare_runs(df, chinchilla_stub(), group="grp", source="g.csv")


def test_min_rows_and_input_floor():
    df = pd.DataFrame({"N": [0.0, 1.0, 2.0], "D": [1.0, 2.0, 3.0], "loss": [1.0, 2.0, 3.0]})
    law = chinchilla_stub()
    with pytest.raises(DataError, match="value 0 is not > 0"):
        prepare_runs(df, law, min_rows=1)
    floored = Law(
        name="floored",
        inputs=("N", "D"),
        params=("a",),
        bounds=((0, 1),),
        fn=lambda p, x: x["N"],
        positive_inputs=("N",),
        input_floor=1e-12,
    )
    assert prepare_runs(df, floored).n == 3
    with pytest.raises(DataError, match="has 3 runs but at least 4 are needed"):
        prepare_runs(df, floored, min_rows=4)


def test_subset_and_positive_outputs():
    df = pd.read_csv(GOOD / "chinchilla_runs.csv")
    df.loc[7, "loss"] = -0.5
    runs = prepare_runs(df, chinchilla_stub(), source="runs.csv")  # outputs may be <= 0
    sub = runs.subset(np.arange(runs.n) >= 5)
    assert sub.n == 35 and sub.rows[0] == 6 and len(sub.frame) == 35
    assert runs.subset([0, 2]).x["N"].shape == (2,)
    with pytest.raises(DataError, match=r"runs\.csv: column loss, row 8: value -0\.5 must be > 0"):
        check_positive_outputs(sub, "the fit uses log(loss)")
    check_positive_outputs(runs.subset(np.arange(5)), "the fit uses log(loss)")


def test_tsv_parquet_and_copied_corpus(tmp_path: Path):
    df = pd.read_csv(GOOD / "chinchilla_runs.csv")
    df.to_csv(tmp_path / "runs.tsv", sep="\t", index=False)
    df.to_parquet(tmp_path / "runs.pq", index=False)
    for name in ("runs.tsv", "runs.pq"):
        t = read_table(tmp_path / name)
        assert prepare_runs(t, chinchilla_stub()).n == 40
    shutil.copy(GOOD / "chinchilla_runs.csv", tmp_path / "UPPER.CSV")
    assert len(read_table(tmp_path / "UPPER.CSV")) == 40
