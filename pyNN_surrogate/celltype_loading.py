"""
Loading trained cell types for the backend, with errors in PyNN's vocabulary.

The surrogate layer (:mod:`pyNN_surrogate.surrogates`) knows nothing of PyNN; this module turns
its errors into :mod:`pyNN.errors` classes, keeping the original message.
"""

from pyNN import errors

from .surrogates import errors as surrogate_errors


class CellTypeFileError(errors.InvalidModelError, IOError):
    """A cell-type package is missing a file or a file is corrupt."""


class SurrogatePackage:
    """A loaded cell-type package whose checks raise :mod:`pyNN.errors` exceptions."""

    def __init__(self, package):
        self._package = package
        self.name = package.name
        self.card = package.card

    def check_parameters(self, parameters):
        try:
            self._package.check_parameters(parameters)
        except surrogate_errors.OutOfDomainError as error:
            raise errors.InvalidParameterValueError(str(error)) from error

    def runtime(self, device):
        return self._package.runtime(device)


def load_surrogate_package(celltype_name):
    """Load the trained surrogate for `celltype_name`, or raise a PyNN error saying why."""
    from .surrogates import load_celltype

    try:
        return SurrogatePackage(load_celltype(celltype_name))
    except surrogate_errors.UnknownCellTypeError as error:
        raise errors.NoModelAvailableError(str(error)) from error
    except surrogate_errors.CellTypeFileError as error:
        raise CellTypeFileError(str(error)) from error
