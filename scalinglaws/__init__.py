"""scalinglaws: fit scaling laws with honest uncertainty; choose which costed runs to launch.

Public API (implementation lives in private ``_module.py`` files):

- laws: :class:`Law`, :func:`get_law`, :func:`list_laws`, :func:`register`,
  :func:`formula_law`, :func:`load_law_file`, :func:`laws_in_file`
- data: :func:`read_table`, :func:`prepare_runs`, :class:`Runs`
- fitting: :func:`fit`, :class:`FitResult`, :class:`Mode`, :func:`make_loss`, :data:`LOSSES`
- uncertainty: :func:`posterior` (laplace | bootstrap | nuts), :class:`Posterior`,
  :func:`laplace`, :class:`LaplaceApprox`, :func:`prediction_jacobian`, :func:`load_draws`,
  :func:`plot_extrapolation`
- files: :func:`save_fit`, :func:`load_fit`
"""

from . import _config  # noqa: F401  (float64, compilation cache)
from ._errors import DataError, FileFormatError, FitError, LawError, ScalingLawsError
from ._fit import FitResult, Mode, fit, hoffmann_grid
from ._formula import formula_law, laws_in_file, load_law_file
from ._io import Runs, prepare_runs, read_table
from ._laplace import LaplaceApprox, laplace, prediction_jacobian
from ._law import Law, get_law, list_laws, register
from ._losses import LOSSES, make_loss
from ._plot_uncertainty import plot_extrapolation
from ._posterior import METHODS as UNCERTAINTY_METHODS
from ._posterior import Posterior, load_draws, posterior
from ._serialize import load_fit, save_fit

__version__ = "0.1.0"

__all__ = [
    "LOSSES",
    "UNCERTAINTY_METHODS",
    "DataError",
    "FileFormatError",
    "FitError",
    "FitResult",
    "LaplaceApprox",
    "Law",
    "LawError",
    "Mode",
    "Posterior",
    "Runs",
    "ScalingLawsError",
    "__version__",
    "fit",
    "formula_law",
    "get_law",
    "hoffmann_grid",
    "laplace",
    "laws_in_file",
    "list_laws",
    "load_draws",
    "load_fit",
    "load_law_file",
    "make_loss",
    "plot_extrapolation",
    "posterior",
    "prediction_jacobian",
    "prepare_runs",
    "read_table",
    "register",
    "save_fit",
]
