"""Reading and validating a user's runs table for a law.

:func:`read_table` reads a CSV, TSV or parquet file; :func:`prepare_runs` matches its columns to
a law's inputs and outputs and checks every value the fit will use. Every problem raises
:class:`~scalinglaws.DataError` with one line that names the file (and the column and row where
it applies), says what is wrong and how to fix it.

>>> runs = prepare_runs(read_table("runs.csv"), get_law("chinchilla"), source="runs.csv")
... # doctest: +SKIP
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._errors import DataError
from ._law import Law

SUFFIXES = {".csv": ",", ".tsv": "\t", ".parquet": None, ".pq": None}

# Column names tried, in order, for a single-output law whose output name is not in the table.
OUTPUT_FALLBACKS = ("loss", "y", "target", "val_loss")
# Column names recognised as total training compute (for deriving N or D).
COMPUTE_NAMES = ("C", "compute", "flops")
# Common spellings, only used to suggest a --col mapping in error messages.
_SYNONYMS = {
    "N": ("params", "parameters", "n_params", "num_params", "model_size", "non_embedding_params"),
    "D": ("tokens", "n_tokens", "num_tokens", "data", "data_size", "dataset_size"),
    "C": COMPUTE_NAMES,
    "loss": ("val_loss", "eval_loss", "valid_loss", "train_loss", "lm_loss", "y", "target"),
}
_LINES_ATTR = "scalinglaws_line_numbers"
# the path a table was read from (read_table), so later checks can name the file
SOURCE_ATTR = "scalinglaws_source"
_MAX_LIST = 12


# -- reading ---------------------------------------------------------------------------------
def read_table(path: str | Path) -> pd.DataFrame:
    """Read a runs table from ``.csv``, ``.tsv``, ``.parquet`` or ``.pq``.

    CSV/TSV cells that are all numbers become numeric columns; other columns keep their text
    (:func:`prepare_runs` reports the offending cell). Column names are stripped of spaces.
    """
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: file not found; check the path (relative to {Path.cwd()})")
    if p.is_dir():
        raise DataError(f"{p}: is a directory, not a file; give the path of a .csv or .parquet")
    suffix = p.suffix.lower()
    if suffix not in SUFFIXES:
        raise DataError(
            f"{p}: unsupported file type {repr(p.suffix) if p.suffix else '(no suffix)'}; "
            f"save the runs as {', '.join(SUFFIXES)} (by suffix)"
        )
    try:
        data = p.read_bytes()
    except OSError as e:
        raise DataError(f"{p}: cannot be read ({_one_line(e)}); check its permissions") from None
    if not data:
        raise DataError(f"{p}: is empty (0 bytes); write a header line and one row per run")
    if SUFFIXES[suffix] is None:
        df = _read_parquet(p, data)
    else:
        df = _read_delimited(p, data, SUFFIXES[suffix])
    if len(df) == 0:
        only = " (only a header line)" if SUFFIXES[suffix] else ""
        raise DataError(f"{p}: has no data rows{only}; add one row per training run")
    df.attrs[SOURCE_ATTR] = str(p)
    return df


def numeric_columns(
    df: pd.DataFrame, cols: Sequence[str], what: str, *, missing_ok: Sequence[str] = ()
) -> pd.DataFrame:
    """A copy of ``df`` whose columns ``cols`` are float64, checked cell by cell.

    A cell that is not a number, or is empty, NaN or infinite (allowed in the columns
    ``missing_ok``), raises a one-line :class:`DataError` naming the file the table was read
    from (``what`` if it was not read by :func:`read_table`), the column and the row.
    """
    ctx = _Ctx(str(df.attrs.get(SOURCE_ATTR, what)), df)
    out = df.copy()
    for c in cols:
        out[c] = ctx.values(c, empty_ok=True) if c in missing_ok else ctx.numeric(c)
    return out


def _read_parquet(p: Path, data: bytes) -> pd.DataFrame:
    fix = "re-export it with DataFrame.to_parquet, or save it as .csv"
    if not data.startswith(b"PAR1"):
        head = data[:4096]
        if b"\x00" not in head:
            try:
                head.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                raise DataError(
                    f"{p}: is text, not a parquet file (no PAR1 magic bytes); if it is CSV, "
                    "rename it to .csv, else re-export it with DataFrame.to_parquet"
                )
        raise DataError(f"{p}: is not a parquet file (no PAR1 magic bytes); {fix}")
    if not data.endswith(b"PAR1"):
        raise DataError(f"{p}: is a truncated or corrupted parquet file (no footer); {fix}")
    try:
        df = pd.read_parquet(io.BytesIO(data))
    except Exception as e:  # noqa: BLE001 - any reader failure means a broken file
        raise DataError(
            f"{p}: is not a readable parquet file ({_one_line(e, 120)}); {fix}"
        ) from None
    df.columns = [str(c).strip() for c in df.columns]
    _check_duplicates(p, list(df.columns))
    return df.reset_index(drop=True)


def _read_delimited(p: Path, data: bytes, sep: str) -> pd.DataFrame:
    kind = "TSV" if sep == "\t" else "CSV"
    magic = {b"PK\x03\x04": "a zip/Excel workbook", b"PAR1": "a parquet file"}
    for head, what in magic.items():
        if data.startswith(head):
            fix = "rename it to .parquet" if what == "a parquet file" else f"export it as {kind}"
            raise DataError(f"{p}: is {what}, not a {kind} text file; {fix}")
    if b"\x00" in data:
        raise DataError(
            f"{p}: holds binary data (NUL bytes), not {kind} text; export the runs as {kind}"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(
            f"{p}: is not UTF-8 text (byte {e.start}: {data[e.start : e.start + 1]!r}); "
            "re-save the file with UTF-8 encoding"
        ) from None
    if not text.strip():
        raise DataError(
            f"{p}: is empty (only blank lines); write a header line and one row per run"
        )
    try:
        rows, lines = _csv_rows(text, sep)
    except csv.Error as e:
        raise DataError(
            f"{p}: could not be parsed as {kind} ({_one_line(e)}); fix the quoting on that line"
        ) from None
    header, header_line = rows[0], lines[0]
    header = [h.strip() for h in header]
    _check_header(p, header, header_line, sep, kind)
    body = rows[1:]
    for row, line in zip(body, lines[1:], strict=True):
        if len(row) != len(header):
            raise DataError(
                f"{p}: line {line} has {len(row)} fields but the header has {len(header)}; "
                f"give every row exactly one value per column ({', '.join(header)})"
            )
    cols = {}
    for j, name in enumerate(header):
        cells = [row[j].strip() for row in body]
        if not name:
            if not any(cells):  # e.g. a trailing separator on every line
                continue
            raise DataError(
                f"{p}: column {j + 1} of the header (line {header_line}) has no name but holds "
                "values; name it in the header or delete the column"
            )
        cols[name] = _parse_column(cells)
    df = pd.DataFrame(cols, columns=list(cols))
    df.attrs[_LINES_ATTR] = list(lines[1:])
    return df


def _csv_rows(text: str, sep: str) -> tuple[list[list[str]], list[int]]:
    """Non-blank rows of a delimited text and the (last) line number of each."""
    reader = csv.reader(io.StringIO(text), delimiter=sep, skipinitialspace=True, strict=True)
    rows, lines = [], []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            raise csv.Error(f"line {reader.line_num}: {e}") from None
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        rows.append(row)
        lines.append(reader.line_num)
    return rows, lines


def _check_header(p: Path, header: list[str], line: int, sep: str, kind: str) -> None:
    if len(header) == 1:
        for other, label in ((";", "';'"), ("\t", "tabs"), (",", "','"), ("|", "'|'")):
            if other != sep and other in header[0]:
                target = "comma-separated .csv" if other != "\t" else ".tsv (or comma-separated)"
                raise DataError(
                    f"{p}: line {line} reads as a single column {header[0][:60]!r}: the file seems "
                    f"to use {label} as separator, but {kind} needs "
                    f"{'commas' if sep == ',' else 'tabs'}; save it as {target}"
                )
    if header and all(_is_number(h) for h in header if h):
        raise DataError(
            f"{p}: line {line} ({', '.join(header[:4])}) looks like data, not a header; "
            "add a first line naming the columns, e.g. N,D,loss"
        )
    _check_duplicates(p, [h for h in header if h])


def _check_duplicates(p: Path, names: list[str]) -> None:
    seen: dict[str, int] = {}
    for j, name in enumerate(names):
        if name in seen:
            raise DataError(
                f"{p}: column name {name!r} appears twice in the header (columns {seen[name] + 1} "
                f"and {j + 1}); rename or delete one of them"
            )
        seen[name] = j


def _parse_column(cells: list[str]) -> Any:
    """Numbers if every cell is a number (ints stay ints), else the stripped text."""
    if cells and all(cells):
        try:
            return pd.to_numeric(pd.Series(cells, dtype=object), errors="raise").to_numpy()
        except (ValueError, TypeError):
            pass
    return np.asarray(cells, dtype=object)


# -- validated runs --------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, eq=False)
class Runs:
    """Runs of one table, validated for one law.

    Attributes:
        x: law input name → float64 array of shape (n,).
        y: float64 array of shape (n, k), one column per law output.
        groups: group label (str) per row, or None when not grouped.
        source: where the rows came from (file name), used in messages.
        columns: law input/output name → table column it was read from (or ``"derived"``).
        notes: human-readable notes on what was inferred (derived columns, fallbacks).
        frame: the rows used, with all original columns (index 0..n-1).
        rows: 1-based data-row number of each row in the source table.
        outputs: the law's output names, one per column of ``y``.
    """

    x: dict[str, np.ndarray]
    y: np.ndarray
    groups: np.ndarray | None
    source: str
    columns: dict[str, str]
    notes: list[str]
    frame: pd.DataFrame
    rows: np.ndarray
    outputs: tuple[str, ...] = ()

    @property
    def n(self) -> int:
        """Number of runs."""
        return int(self.y.shape[0])

    def subset(self, mask_or_index: Any) -> Runs:
        """The runs selected by a boolean mask of length n or by integer positions."""
        idx = np.asarray(mask_or_index)
        if idx.dtype == bool:
            if idx.shape != (self.n,):
                raise ValueError(f"mask has shape {idx.shape}; expected ({self.n},)")
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.int64).reshape(-1)
        return Runs(
            x={k: v[idx] for k, v in self.x.items()},
            y=self.y[idx],
            groups=None if self.groups is None else self.groups[idx],
            source=self.source,
            columns=dict(self.columns),
            notes=list(self.notes),
            frame=self.frame.iloc[idx].reset_index(drop=True),
            rows=self.rows[idx],
            outputs=self.outputs,
        )

    def split_groups(self) -> dict[str, Runs]:
        """Runs per group label, in order of first appearance (``{"all": self}`` if ungrouped)."""
        if self.groups is None:
            return {"all": self}
        labels = list(dict.fromkeys(self.groups.tolist()))
        return {g: self.subset(self.groups == g) for g in labels}


def prepare_runs(
    df: pd.DataFrame,
    law: Law,
    *,
    source: str = "<table>",
    columns: Mapping[str, str] | None = None,
    group: str | None = None,
    min_rows: int | None = None,
) -> Runs:
    """Match ``df``'s columns to ``law``'s inputs and outputs and validate every used value.

    Args:
        df: the runs table (e.g. from :func:`read_table`).
        law: the law to fit.
        source: name used in error messages (the file path).
        columns: law name → table column (``--col N=params``); the key ``C`` (compute) is also
            accepted when the law takes N and D. Unmapped names match a column of the same name,
            exactly, then case-insensitively. A missing D (or N) is derived from N (or D) and a
            compute column ``C``/``compute``/``flops`` as C / (6 N) (or C / (6 D)); a missing C
            as 6 N D.
        group: column whose values split the runs into separately fitted groups.
        min_rows: minimum runs (per group) required; default: as many values as the law has
            free parameters (``n * len(law.outputs) >= law.n_params``).

    Raises:
        DataError: one line naming the file, column, row, the problem and the fix.
    """
    src = str(source)
    if not all(isinstance(c, str) for c in df.columns):
        df = df.rename(columns=str)
    ctx = _Ctx(src, df)
    if len(df) == 0:
        raise DataError(f"{src}: has no data rows; add one row per training run")
    table_cols = [str(c) for c in df.columns]
    if len(set(table_cols)) != len(table_cols):
        _check_duplicates(Path(src), table_cols)
    names = (*law.inputs, *law.outputs)
    mapping = dict(columns or {})
    can_derive_c = "C" not in names and {"N", "D"} & set(law.inputs)
    for key, col in mapping.items():
        if key not in names and not (key == "C" and can_derive_c):
            raise DataError(
                f"{src}: law {law.name} has no input or output {key!r}; its inputs are "
                f"{', '.join(law.inputs)} and its output{'s' if len(law.outputs) > 1 else ''} "
                f"{', '.join(law.outputs)}; fix the --col {key}={col} mapping"
            )
        if col not in table_cols:
            raise DataError(
                f"{src}: --col {key}={col} names no column of the table; its columns are "
                f"{_list(table_cols)}"
            )

    resolved: dict[str, str | None] = {n: _find(ctx, n, mapping, table_cols) for n in names}
    notes: list[str] = []
    used: dict[str, str] = {}
    x: dict[str, np.ndarray] = {}

    # inputs (with N/D/C derivation from compute)
    compute_col = _find(ctx, "C", mapping, table_cols, aliases=COMPUTE_NAMES[1:])
    sources = {k: resolved.get(k) or _find(ctx, k, mapping, table_cols) for k in ("N", "D")}
    sources["C"] = compute_col
    derived: dict[str, tuple[str, str, str]] = {}
    for name in law.inputs:
        if resolved[name] is not None:
            continue
        recipe = _derivation(name, sources)
        if recipe is None:
            raise DataError(_missing_msg(src, law, name, "input", table_cols, compute_col))
        derived[name] = recipe
    floor = law.input_floor
    for name in law.inputs:
        col = resolved[name]
        if col is None:
            continue
        x[name] = ctx.numeric(col)
        used[name] = col
        if floor is None and name in law.positive_inputs:
            ctx.positive(col, x[name], f"law {law.name} takes a log/power of {name}")
    for name, (formula, a, b) in derived.items():
        ca, cb = str(sources[a]), str(sources[b])
        va, vb = ctx.numeric(ca), ctx.numeric(cb)
        if floor is None and name in law.positive_inputs:
            why = f"law {law.name} takes a log/power of {name}, derived as {formula}"
            ctx.positive(ca, va, why)
            ctx.positive(cb, vb, why)
        if name == "C":
            x[name] = 6.0 * va * vb
            notes.append(f"derived C = 6·N·D from columns {ca} and {cb}")
        else:
            x[name] = va / (6.0 * vb)
            notes.append(f"derived {name} = C/(6·{b}) from columns {ca} and {cb} (C = 6·N·D)")
        used[name] = "derived"
    x = {name: x[name] for name in law.inputs}

    # outputs
    ys = []
    for name in law.outputs:
        col = resolved[name]
        if col is None and len(law.outputs) == 1:
            for alt in OUTPUT_FALLBACKS:
                col = _find(ctx, alt, {}, table_cols)
                if col is not None:
                    notes.append(f"using column {col} as the output {name} of law {law.name}")
                    break
        if col is None:
            raise DataError(_missing_msg(src, law, name, "output", table_cols, None))
        ys.append(ctx.numeric(col))
        used[name] = col
    y = np.stack(ys, axis=1) if ys else np.zeros((len(df), 0))

    # groups
    groups = None
    if group is not None:
        if group not in table_cols:
            raise DataError(
                f"{src}: has no group column {group!r}; its columns are {_list(table_cols)}; "
                "fix --group or drop it"
            )
        g = df[group]
        bad = np.flatnonzero(g.isna().to_numpy() | (g.astype(str).str.strip() == "").to_numpy())
        if bad.size:
            raise DataError(
                f"{src}: column {group}, {ctx.where(bad[0])}: the group label is empty; "
                "fill it or delete the row"
            )
        groups = g.astype(str).to_numpy(dtype=object)

    runs = Runs(
        x=x,
        y=y,
        groups=groups,
        source=src,
        columns=used,
        notes=notes,
        frame=df.reset_index(drop=True),
        rows=np.arange(1, len(df) + 1),
        outputs=tuple(law.outputs),
    )
    for label, part in runs.split_groups().items():
        _check_count(src, law, part.n, label if groups is not None else None, min_rows)
    return runs


def check_positive_outputs(runs: Runs, why: str) -> None:
    """Raise :class:`DataError` at the first output value <= 0 (e.g. before fitting log loss).

    ``why`` completes the sentence "... must be > 0 because <why>".
    """
    outs = list(runs.outputs)
    for j in range(runs.y.shape[1]):
        bad = np.flatnonzero(~(runs.y[:, j] > 0))
        if bad.size:
            i = int(bad[0])
            name = outs[j] if j < len(outs) else f"output {j}"
            col = runs.columns.get(name, name)
            more = f" ({bad.size} such rows)" if bad.size > 1 else ""
            raise DataError(
                f"{runs.source}: column {col}, row {int(runs.rows[i])}: value "
                f"{runs.y[i, j]:.6g} must be > 0 because {why}{more}; "
                "delete the row or fit without the log transform"
            )


# -- helpers ---------------------------------------------------------------------------------
class _Ctx:
    """Where rows are in the source (for messages) and numeric conversion of columns."""

    def __init__(self, source: str, df: pd.DataFrame):
        self.source = source
        self.df = df
        lines = df.attrs.get(_LINES_ATTR)
        self.lines = lines if isinstance(lines, list) and len(lines) == len(df) else None
        self._cache: dict[str, np.ndarray] = {}

    def where(self, i: int) -> str:
        if self.lines is not None:
            return f"row {i + 1} (line {self.lines[i]})"
        return f"row {i + 1}"

    def numeric(self, col: str) -> np.ndarray:
        if col in self._cache:
            return self._cache[col]
        v = self.values(col)
        self._finite(col, v)
        self._cache[col] = v
        return v

    def values(self, col: str, empty_ok: bool = False) -> np.ndarray:
        """The column as floats (NaN and infinities kept); a cell that is not a number raises
        (an empty one too, unless ``empty_ok``: it is NaN)."""
        s = self.df[col]
        src = self.source
        if pd.api.types.is_bool_dtype(s.dtype):
            raise DataError(
                f"{src}: column {col} holds true/false values, not numbers; "
                "give the measured numbers in that column, or map another one with --col"
            )
        if pd.api.types.is_numeric_dtype(s.dtype):
            return s.to_numpy(dtype=np.float64, na_value=np.nan)
        cells = s.to_numpy(dtype=object)
        if empty_ok:
            cells = np.array([np.nan if _blank(c) else c for c in cells], dtype=object)
        return self._convert(col, cells)

    def _convert(self, col: str, cells: np.ndarray) -> np.ndarray:
        out = np.empty(len(cells), dtype=np.float64)
        first: tuple[int, Any] | None = None
        n_bad = 0
        for i, c in enumerate(cells):
            val = _cell_float(c)
            if val is None:
                n_bad += 1
                if first is None:
                    first = (i, c)
                val = np.nan
            out[i] = val
        if first is not None:
            i, c = first
            more = f" ({n_bad} such cells in this column)" if n_bad > 1 else ""
            if _blank(c):
                raise DataError(
                    f"{self.source}: column {col}, {self.where(i)} is empty{more}; "
                    "delete the row or fill the value"
                )
            if isinstance(c, (bool, np.bool_)) or str(c).strip().lower() in ("true", "false"):
                raise DataError(
                    f"{self.source}: column {col}, {self.where(i)}: {c!r} is a true/false value, "
                    f"not a number{more}; replace it with a number or delete the row"
                )
            hint = ""
            if isinstance(c, str) and re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?", c.strip()):
                hint = " (remove the thousands separators)"
            raise DataError(
                f"{self.source}: column {col}, {self.where(i)}: {_short(c)} is not a number{more}; "
                f"replace it with a number{hint} or delete the row"
            )
        return out

    def _finite(self, col: str, v: np.ndarray) -> None:
        bad = np.flatnonzero(~np.isfinite(v))
        if bad.size:
            i = int(bad[0])
            more = f" ({bad.size} such cells in this column)" if bad.size > 1 else ""
            what = "is empty or NaN" if np.isnan(v[i]) else f"is infinite ({v[i]})"
            raise DataError(
                f"{self.source}: column {col}, {self.where(i)} {what}{more}; "
                "delete the row or fill the value"
            )

    def positive(self, col: str, v: np.ndarray, why: str) -> None:
        bad = np.flatnonzero(~(v > 0))
        if bad.size:
            i = int(bad[0])
            more = f" ({bad.size} such rows)" if bad.size > 1 else ""
            raise DataError(
                f"{self.source}: column {col}, {self.where(i)}: value {v[i]:.6g} is not > 0{more}; "
                f"{why}, which must be > 0; fix or delete the row"
            )


def _blank(c: Any) -> bool:
    return isinstance(c, str) and not c.strip()


def _cell_float(c: Any) -> float | None:
    """A cell as a float (NaN/inf kept, checked later), or None if it is not a number."""
    if c is None or (isinstance(c, float) and np.isnan(c)) or c is pd.NA:
        return np.nan
    if isinstance(c, (bool, np.bool_)):
        return None
    if isinstance(c, (int, float, np.integer, np.floating)):
        return float(c)
    if isinstance(c, str):
        s = c.strip()
        if not s:
            return None
        try:
            return float(s)
        except ValueError:
            return None
    return None


def _find(
    ctx: _Ctx,
    name: str,
    mapping: Mapping[str, str],
    table_cols: Sequence[str],
    aliases: Sequence[str] = (),
) -> str | None:
    """Table column for a law name: mapping, exact name, then case-insensitive (then aliases)."""
    if name in mapping:
        return mapping[name]
    for cand in (name, *aliases):
        if cand in table_cols:
            return cand
        hits = [c for c in table_cols if c.strip().lower() == cand.lower()]
        if len(hits) > 1:
            raise DataError(
                f"{ctx.source}: columns {', '.join(hits)} all match {name!r} up to case; "
                f"choose one with --col {name}=<column>"
            )
        if hits:
            return hits[0]
    return None


def _derivation(name: str, sources: Mapping[str, str | None]) -> tuple[str, str, str] | None:
    """(formula, first source, second source) to derive a missing N, D or C."""
    has = {k for k, v in sources.items() if v is not None}
    if name == "D" and {"C", "N"} <= has:
        return ("C/(6·N)", "C", "N")
    if name == "N" and {"C", "D"} <= has:
        return ("C/(6·D)", "C", "D")
    if name == "C" and {"N", "D"} <= has:
        return ("6·N·D", "N", "D")
    return None


def _missing_msg(
    src: str, law: Law, name: str, kind: str, cols: Sequence[str], compute_col: str | None
) -> str:
    guess = _suggest(name, cols)
    example = guess or "<column>"
    msg = (
        f"{src}: has no column for {kind} {name!r} of law {law.name} "
        f"(its columns are {_list(cols)}); rename a column to {name} or map one with "
        f"--col {name}={example}"
    )
    if name in ("N", "D") and compute_col is None:
        other = "N" if name == "D" else "D"
        msg += f", or give {other} and a compute column C (then {name} = C/(6·{other}))"
    return msg


def _suggest(name: str, cols: Sequence[str]) -> str | None:
    low = {c.lower(): c for c in cols}
    for s in _SYNONYMS.get(name, ()):
        if s.lower() in low:
            return low[s.lower()]
    close = difflib.get_close_matches(name.lower(), list(low), n=1, cutoff=0.75)
    return low[close[0]] if close else None


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _check_count(src: str, law: Law, n: int, group: str | None, min_rows: int | None) -> None:
    where = f"{src}: group {group!r}" if group is not None else f"{src}:"
    runs = f"{n} run{'s' if n != 1 else ''}"
    fix_group = ", or drop --group" if group is not None else ""
    if min_rows is not None:
        if n < min_rows:
            raise DataError(
                f"{where} has {runs} but at least {min_rows} are needed; add runs{fix_group}"
            )
        return
    k = max(len(law.outputs), 1)
    if n * k < law.n_params:
        values = f" ({n * k} values)" if k > 1 else ""
        raise DataError(
            f"{where} has {runs}{values} but law {law.name} has {law.n_params} free parameters; "
            f"add runs or use a law with fewer parameters{fix_group}"
        )


def _list(cols: Sequence[str]) -> str:
    shown = ", ".join(
        repr(c) if (not c or c != c.strip() or "," in c) else c for c in cols[:_MAX_LIST]
    )
    return shown + (f", … ({len(cols)} in all)" if len(cols) > _MAX_LIST else "")


def _short(value: Any, width: int = 40) -> str:
    r = repr(value)
    return r if len(r) <= width else r[: width - 1] + "…"


def _one_line(e: BaseException | str, width: int = 200) -> str:
    s = " ".join(str(e).split())
    return s if len(s) <= width else s[: width - 1] + "…"
