"""Shared CLI plumbing: one-line errors with exit status 2, option parsers, output helpers."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import Any

import click

from scalinglaws._errors import ScalingLawsError

EXIT_USAGE = 2


class CliError(ScalingLawsError):
    """A user error detected in the CLI layer."""


def fail(msg: str) -> None:
    """Print ``error: msg`` on one line to stderr and exit with status 2."""
    click.echo(f"error: {msg}", err=True)
    sys.exit(EXIT_USAGE)


class SLGroup(click.Group):
    """A click group whose commands turn expected errors into one line and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ScalingLawsError as err:
            fail(str(err).replace("\n", " "))
        except click.exceptions.Exit:
            raise
        except click.ClickException as err:
            if isinstance(err, click.UsageError) and err.ctx is not None:
                fail(f"{err.format_message()} (see '{err.ctx.command_path} --help')")
            fail(err.format_message())
        except OSError as err:  # a path that cannot be read or written: the user's to fix
            if err.filename is not None:
                fail(f"{err.filename}: {err.strerror}")
            fail(f"{err}; check the path")

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run as a program: usage errors become one ``error:`` line and exit status 2."""
        kwargs["standalone_mode"] = False
        try:
            rv = super().main(*args, **kwargs)
        except click.exceptions.Abort:
            click.echo("aborted", err=True)
            sys.exit(130)
        except click.exceptions.Exit as e:
            sys.exit(e.exit_code)
        except click.UsageError as err:
            where = f" (see '{err.ctx.command_path} --help')" if err.ctx is not None else ""
            fail(f"{err.format_message()}{where}")
        except click.ClickException as err:
            fail(err.format_message())
        sys.exit(rv if isinstance(rv, int) else 0)


def parse_assignments(items: Iterable[str], what: str, *, numeric: bool = True) -> dict[str, Any]:
    """``["N=7e10,D=1.4e12", "k=3"]`` → ``{"N": 7e10, "D": 1.4e12, "k": 3.0}``."""
    out: dict[str, Any] = {}
    for item in items:
        for part in str(item).split(","):
            part = part.strip()
            if not part:
                continue
            if "=" not in part:
                raise CliError(f"{what} {part!r} is not NAME=VALUE; write e.g. N=7e10")
            k, v = (s.strip() for s in part.split("=", 1))
            if numeric:
                try:
                    out[k] = float(v)
                except ValueError:
                    raise CliError(f"{what} {k}={v!r}: {v!r} is not a number") from None
            else:
                out[k] = v
    return out


def parse_ranges(items: Sequence[str]) -> dict[str, tuple[float, float]]:
    """``["E=0:10", "alpha=0:2"]`` → ``{"E": (0, 10), "alpha": (0, 2)}``."""
    out: dict[str, tuple[float, float]] = {}
    for item in items:
        if "=" not in item or ":" not in item.split("=", 1)[1]:
            raise CliError(f"--param {item!r} is not NAME=LO:HI; write e.g. --param alpha=0:2")
        k, rng = item.split("=", 1)
        lo, hi = rng.split(":", 1)
        try:
            out[k.strip()] = (float(lo), float(hi))
        except ValueError:
            raise CliError(f"--param {item!r}: bounds must be numbers, e.g. alpha=0:2") from None
    return out


def fmt(v: float) -> str:
    """A compact number: 4 significant digits, scientific when large or small."""
    v = float(v)
    if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
        return f"{v:.4e}"
    return f"{v:.6g}"


def table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    """A plain aligned text table."""
    cells = [[str(h) for h in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
