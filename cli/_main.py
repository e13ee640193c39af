"""The ``sl`` command: a click group; each subcommand lives in its own module."""

from __future__ import annotations

import click

from scalinglaws import __version__

from ._common import SLGroup


@click.group(
    cls=SLGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(__version__, prog_name="sl")
def cli() -> None:
    """scalinglaws: fit scaling laws to pilot runs, predict with honest uncertainty, and plan
    which costed runs to launch next.

    \b
    Quick start:
      sl datasets list                         bundled ScaleBench tasks
      sl fit runs.csv --law chinchilla --json fit.json
      sl predict fit.json --at N=7e10,D=1.4e12
      sl optimal fit.json --compute 5.76e23
    """


def _register() -> None:
    # one line per command module; each module defines click commands and a COMMANDS list
    from . import _designcmd, _fitcmd, _runcmd, _ttscmd

    for mod in (_fitcmd, _designcmd, _ttscmd, _runcmd):
        for cmd in mod.COMMANDS:
            cli.add_command(cmd)


_register()


def main() -> None:
    cli.main(prog_name="sl")
