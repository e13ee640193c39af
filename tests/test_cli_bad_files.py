"""`sl fit` on every malformed runs file: exit status 2 and one line naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from scalinglaws.cli._main import cli

BAD = Path(__file__).parent / "data" / "bad"
FILES = sorted(p for p in BAD.iterdir() if p.name != "README.md")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_fit_bad_file(path: Path):
    result = CliRunner().invoke(cli, ["fit", str(path), "--law", "chinchilla"])
    out = result.output
    assert result.exit_code == 2, out
    assert "Traceback" not in out
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out
    assert "error" in out.lower()
    assert path.name in out
