"""Cell-type packages: ``celltypes/<name>/{card.json, weights.pt}``.

A package is data, not code: the card (JSON) describes the ground truth, time steps, drive
channels and their normalisation, the parameter domain, training and evaluation; ``weights.pt``
is a ``torch.save``\\ d state dict, loaded with ``weights_only=True`` after its SHA-256 has been
checked against the card.
"""

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch

from .conditioning import condition_constraints, constraint_violation, violated_constraints
from .errors import CellTypeFileError, OutOfDomainError, UnknownCellTypeError
from .runtime import SurrogateRuntime, build_net

CARD_FILE = "card.json"
WEIGHTS_FILE = "weights.pt"
ENV_PATH = "PYNN_SURROGATE_CELLTYPES"
FIXED_RTOL = 1e-3


def celltype_search_path():
    """Directories searched for cell-type packages, in order.

    ``$PYNN_SURROGATE_CELLTYPES`` (an ``os.pathsep``-separated list) first, then the
    ``celltypes`` directory next to the ``pyNN_surrogate`` package (a source checkout), then
    ``pyNN_surrogate/celltypes`` (an installed copy). Only existing directories are returned.
    """
    pkg_dir = Path(__file__).resolve().parent.parent
    dirs = [Path(p) for p in os.environ.get(ENV_PATH, "").split(os.pathsep) if p]
    dirs += [pkg_dir.parent / "celltypes", pkg_dir / "celltypes"]
    seen, out = set(), []
    for d in dirs:
        key = str(d.resolve()) if d.exists() else None
        if key and key not in seen and d.is_dir():
            seen.add(key)
            out.append(d)
    return out


def available_celltypes():
    """Sorted names of the cell types found on :func:`celltype_search_path`."""
    names = set()
    for d in celltype_search_path():
        names.update(p.parent.name for p in d.glob(f"*/{CARD_FILE}"))
    return sorted(names)


def train_command(name, params=None):
    """The shell command that trains a surrogate for cell type ``name``.

    Parameters
    ----------
    name : str
    params : dict, optional
        Non-default cell parameters to train for (``--param name=value``).
    """
    cmd = f"python -m pyNN_surrogate.train {name}"
    for k, v in (params or {}).items():
        cmd += f" --param {k}={v:g}"
    return cmd


def sha256_file(path):
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_celltype(name_or_path):
    """Load and verify a cell-type package.

    Parameters
    ----------
    name_or_path : str or path-like
        A cell type name looked up on :func:`celltype_search_path`, or a package directory.

    Returns
    -------
    CellTypePackage

    Raises
    ------
    UnknownCellTypeError
        No package of that name exists.
    CellTypeFileError
        A package file is missing, unreadable or fails its checksum.
    """
    path = Path(name_or_path)
    if not (os.sep in str(name_or_path) or path.is_dir()):
        for d in celltype_search_path():
            if (d / str(name_or_path)).is_dir():
                path = d / str(name_or_path)
                break
        else:
            raise UnknownCellTypeError(
                f"no surrogate package for cell type {name_or_path!r}; available: "
                f"{available_celltypes() or 'none'} (searched "
                f"{[str(d) for d in celltype_search_path()]}); train one with: "
                f"{train_command(str(name_or_path))}")
    return CellTypePackage(path)


class CellTypePackage:
    """A verified cell-type package (see the module docstring).

    Parameters
    ----------
    path : path-like
        Package directory holding ``card.json`` and ``weights.pt``.

    Attributes
    ----------
    card : dict
    name : str
    native_dt, output_dt : float (ms)
    drive_dt : float (ms)
        Drive averaging bin (``native_dt`` when the card has none).
    substeps : int
    drive_channels : tuple of str
    recordables : tuple of str
    """

    def __init__(self, path):
        self.path = Path(path)
        card_path = self.path / CARD_FILE
        weights_path = self.path / WEIGHTS_FILE
        if not card_path.is_file():
            raise CellTypeFileError(f"cell-type card {card_path} is missing")
        try:
            self.card = json.loads(card_path.read_text())
            weights_meta = self.card["weights"]
            expected = weights_meta["sha256"]
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise CellTypeFileError(f"cell-type card {card_path} is unreadable or "
                                    f"incomplete: {err}") from err
        weights_path = self.path / weights_meta.get("file", WEIGHTS_FILE)
        if not weights_path.is_file():
            raise CellTypeFileError(f"surrogate weights {weights_path} are missing")
        actual = sha256_file(weights_path)
        if actual != expected:
            raise CellTypeFileError(
                f"surrogate weights {weights_path} are corrupt: sha256 {actual} does not "
                f"match {expected} recorded in {card_path}")
        try:
            self._state_dict = torch.load(weights_path, map_location="cpu", weights_only=True)
            net = build_net(self.card)
            net.load_state_dict(self._state_dict)
        except Exception as err:
            raise CellTypeFileError(f"surrogate weights {weights_path} cannot be loaded: "
                                    f"{err}") from err
        self.name = self.card["name"]
        self.native_dt = float(self.card["native_dt"])
        self.output_dt = float(self.card["output_dt"])
        self.substeps = int(self.card["substeps"])
        self.drive_dt = float(self.card.get("drive_dt") or self.native_dt)
        self.drive_channels = tuple(ch["name"] for ch in self.card["drive_channels"])
        self.recordables = tuple(self.card.get("recordables", ("v",)))
        self.domain = self.card.get("domain", {})
        self.train_command = self.card.get("training", {}).get(
            "train_command_template", train_command(self.name))

    def __repr__(self):
        return f"CellTypePackage({self.name!r}, path={str(self.path)!r})"

    def new_net(self):
        """A fresh CPU float32 copy of the trained network."""
        net = build_net(self.card)
        net.load_state_dict(self._state_dict)
        return net

    def runtime(self, device="cpu", dtype=torch.float32):
        """A :class:`SurrogateRuntime` on ``device`` with ``dtype``."""
        return SurrogateRuntime(self.new_net(), self.card, device=device, dtype=dtype)

    def check_parameters(self, params):
        """Check cell parameters against the trained domain.

        Parameters
        ----------
        params : dict
            PyNN parameter name -> 1-D numpy array (or scalar), PyNN units. Names the card
            does not mention are not checked.

        Raises
        ------
        OutOfDomainError
            For the first parameter with a NaN or out-of-domain value, or for a conditioned
            parameter set that breaks one of the card's constraints.
        """
        for name, values in params.items():
            arr = np.atleast_1d(np.asarray(values, dtype=float))
            spec = self.domain.get(name)
            if np.isnan(arr).any():
                raise OutOfDomainError(name, float("nan"), _describe(spec),
                                       self.train_command)
            if spec is None or spec["kind"] == "free":
                continue
            if spec["kind"] == "fixed":
                ref = float(spec["value"])
                tol = spec.get("rtol", FIXED_RTOL) * abs(ref) + 1e-12
                bad = np.abs(arr - ref) > tol
            else:
                bad = (arr < spec["min"]) | (arr > spec["max"])
            if bad.any():
                value = float(arr[np.argmax(bad)])
                cmd = (train_command(self.name, {name: value}) if spec["kind"] == "fixed"
                       else self.train_command)
                raise OutOfDomainError(name, value, _describe(spec), cmd)
        constraints = condition_constraints(self.card)
        broken = violated_constraints(constraints, params)
        if broken:
            constraint, _, upper_value = broken[0]
            raise OutOfDomainError(constraint["upper"], upper_value,
                                   constraint_violation(constraints, params), self.train_command)


def _describe(spec):
    """Human-readable text of one domain entry."""
    if spec is None:
        return "unconstrained, but it must be a number"
    if spec["kind"] == "free":
        return "free (any number)"
    if spec["kind"] == "fixed":
        return (f"fixed at {spec['value']:g} (relative tolerance "
                f"{spec.get('rtol', FIXED_RTOL):g})")
    return f"range [{spec['min']:g}, {spec['max']:g}]"
