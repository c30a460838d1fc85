"""
Loading trained cell types for the backend, with errors in PyNN's vocabulary.

The surrogate layer (:mod:`pyNN_surrogate.surrogates`) knows nothing of PyNN; this module turns
its errors into :mod:`pyNN.errors` classes, keeping the original message.
"""

import os

import numpy as np
from pyNN import errors

from .surrogates import errors as surrogate_errors
from .surrogates.conditioning import condition_constraints, violated_constraints

TRAIN_MISSING_ENV = "PYNN_SURROGATE_TRAIN_MISSING"
# A cell type may ship a second, parameter-conditioned package beside its default one,
# named "<cell type>.conditioned": used for parameters the default package does not cover.
CONDITIONED_SUFFIX = ".conditioned"


class CellTypeFileError(errors.InvalidModelError, IOError):
    """A cell-type package is missing a file or a file is corrupt."""


class SurrogatePackage:
    """A loaded cell-type package whose checks raise :mod:`pyNN.errors` exceptions."""

    def __init__(self, package):
        self._package = package
        self.name = package.name
        self.card = package.card
        self.key = str(package.path)

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


def off_domain_fixed_parameters(card, parameters):
    """The parameter set an on-demand surrogate must be trained for, or an empty dict.

    A parameter the card declares fixed is off the domain when its value differs from it; a
    conditioned parameter (an input of a conditioned surrogate) when it leaves its trained
    range. The on-demand surrogate is trained for one parameter set, so every off-domain
    parameter, and, when a conditioned one is off, every conditioned parameter that differs
    from the card's reference, must have one value for all cells.

    Parameters
    ----------
    card : dict
        Cell-type card (its ``domain`` and ``conditioning``).
    parameters : dict
        Parameter name -> 1-D array of per-cell values.

    Returns
    -------
    dict
        Name -> the (single) requested value, for every parameter the on-demand surrogate
        must fix.

    Raises
    ------
    pyNN.errors.InvalidParameterValueError
        If such a parameter differs between cells.
    """
    domain = card.get("domain", {})
    reference = card.get("conditioning", {}).get("reference", {})
    values = {name: np.atleast_1d(np.asarray(parameters[name], dtype=float))
              for name in domain if name in parameters}
    off = []
    for name, v in values.items():
        spec = domain[name]
        if spec.get("kind") == "fixed":
            ref = float(spec["value"])
            if np.any(np.abs(v - ref) > spec.get("rtol", 1e-3) * abs(ref) + 1e-12):
                off.append(name)
        elif name in reference and np.any((v < spec["min"]) | (v > spec["max"])):
            off.append(name)
    for constraint, _, _ in violated_constraints(condition_constraints(card), values):
        if constraint["upper"] not in off:
            off.append(constraint["upper"])
    if any(name in reference for name in off):
        off += [name for name in reference if name in values and name not in off
                and np.any(values[name] != reference[name])]
    out = {}
    for name in off:
        v = values[name]
        if np.ptp(v) > 0:
            raise errors.InvalidParameterValueError(
                f"{card['name']}: '{name}' differs between cells ({v.min():g} to "
                f"{v.max():g}) and the parameters lie outside the trained domain; an "
                f"on-demand surrogate covers one parameter set, so give every cell the same "
                f"value")
        out[name] = float(v[0])
    return out


def conditioned_companion(celltype_name, load):
    """The cell type's conditioned companion package (``<name>.conditioned``), or ``None``."""
    try:
        return load(celltype_name + CONDITIONED_SUFFIX)
    except errors.NoModelAvailableError:
        return None


def package_for_parameters(celltype_name, parameters, load, train_missing=None):
    """The package that covers `parameters`: the shipped one, or an on-demand one.

    The default package is tried first (it is the most accurate where it applies, often at
    one parameter set), then the cell type's conditioned companion ``<name>.conditioned``
    (parameters as network inputs, over ranges), then a surrogate trained on demand.

    Parameters
    ----------
    celltype_name : str
    parameters : dict
        Parameter name -> 1-D array of per-cell values (PyNN units).
    load : callable
        ``load(name) -> SurrogatePackage`` of the shipped cell type (cached by the caller).
    train_missing : bool, optional
        Train (or take from the per-user cache) a surrogate for intrinsic parameters outside
        the shipped domain. Default: the ``PYNN_SURROGATE_TRAIN_MISSING`` environment variable.

    Raises
    ------
    pyNN.errors.InvalidParameterValueError
        Out of domain, with the two ways forward when training on demand is off.
    """
    package = load(celltype_name)
    try:
        package.check_parameters(parameters)
        return package
    except errors.InvalidParameterValueError as error:
        companion = conditioned_companion(celltype_name, load)
        if companion is not None:
            try:
                companion.check_parameters(parameters)
                return companion
            except errors.InvalidParameterValueError as companion_error:
                package, error = companion, companion_error    # the wider domain explains
        fixed = off_domain_fixed_parameters(package.card, parameters)
        if not fixed:
            raise
        if train_missing is None:
            train_missing = os.environ.get(TRAIN_MISSING_ENV, "") not in ("", "0")
        if not train_missing:
            from .surrogates.package import train_command
            cause = error.__cause__
            what = (f"parameter {cause.parameter!r} = {cause.value:g} is outside the domain "
                    f"the {celltype_name} surrogate was trained on ({cause.domain})"
                    if isinstance(cause, surrogate_errors.OutOfDomainError) else str(error))
            raise errors.InvalidParameterValueError(
                f"{what}.\nTwo ways forward: train a surrogate for this parameter set with\n"
                f"    {train_command(celltype_name, fixed)} --out DIR\n"
                f"and run with PYNN_SURROGATE_CELLTYPES=DIR; or let the backend train and "
                f"cache it when the network is built (about 10 minutes, once): "
                f"setup(..., train_missing=True) or {TRAIN_MISSING_ENV}=1") from error
    from .surrogates import load_celltype
    from .training.on_demand import find_or_train

    on_demand = SurrogatePackage(load_celltype(find_or_train(celltype_name, fixed)))
    on_demand.check_parameters(parameters)
    return on_demand
