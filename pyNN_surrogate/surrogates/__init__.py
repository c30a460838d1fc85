"""Surrogate model family and cell-type packages (never imports pyNN or NEURON).

See docs/architecture.md, "Surrogate runtime", for the contract.
"""

from .errors import CellTypeFileError, OutOfDomainError, SurrogateError, UnknownCellTypeError
from .model import SurrogateNet, detect_spikes
from .package import (CellTypePackage, available_celltypes, celltype_search_path,
                      load_celltype, train_command)
from .runtime import SurrogateRuntime

__all__ = ["CellTypeFileError", "OutOfDomainError", "SurrogateError", "UnknownCellTypeError",
           "SurrogateNet", "detect_spikes", "CellTypePackage", "available_celltypes",
           "celltype_search_path", "load_celltype", "train_command", "SurrogateRuntime"]
