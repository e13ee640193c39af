"""Exceptions with messages that name the thing, the value and the fix."""

from __future__ import annotations


class ScalingLawsError(Exception):
    """Base class. ``str(err)`` is one line a user can act on; the CLI exits with status 2."""


class DataError(ScalingLawsError, ValueError):
    """A runs table (or other input file) is malformed: the message names file, column, row, fix."""


class LawError(ScalingLawsError, ValueError):
    """A law or formula is invalid: unknown name, bad bounds, unsafe or unparsable expression."""


class FitError(ScalingLawsError, RuntimeError):
    """Fitting could not produce any finite result."""


class FileFormatError(ScalingLawsError, ValueError):
    """A fit.json, ledger or configuration file is unreadable or inconsistent."""
