"""Intrinsic-parameter conditioning: a surrogate that takes cell parameters as inputs.

A conditioned card declares, under ``"conditioning"``, the parameters the network receives as
constant inputs next to the drive, each with its units, its trained range and the transform
used to normalise it, and the constraints between parameters that the ground truth respected::

    "conditioning": {
        "parameters": [{"name": "tau_m", "units": "ms", "min": 5.0, "max": 40.0,
                        "transform": "log"}, ...],
        "constraints": [{"lower": "v_reset", "upper": "v_thresh", "min_gap": 2.0}, ...]
    }

The normalised value of a parameter is ``2 (f(x) - f(min)) / (f(max) - f(min)) - 1`` with
``f = log`` or the identity, so the trained range maps onto [-1, 1].

A card may also declare *cell frames*: exact per-cell rescalings of the drive and of v that put
every cell on the reference cell's scales, so the network need not learn them::

    "frames": {"drive": {"g_exc": {"cm": 1, "tau_m": -1}, ...},
               "v": {"origin": "v_rest", "span": ["v_rest", "v_thresh"]}}

Drive channel ``ch`` of a cell is divided by ``prod((x_k / ref_k) ** e_k)`` over its entry (here
the leak conductance ``cm / tau_m`` relative to the reference cell's) before normalisation. v is
read relative to the cell's ``origin`` and stretched by its ``span`` (the difference of the two
named parameters) relative to the reference's: the network's v output is what the reference
cell would read, ``v_ref = origin_ref + (v - origin) / stretch``. At the reference parameters
both are the identity.
"""

from dataclasses import dataclass

import numpy as np

TRANSFORMS = ("linear", "log")


def condition_entries(card):
    """The conditioned parameters a card declares (a list of dicts; empty if none)."""
    return list(card.get("conditioning", {}).get("parameters", []))


def condition_constraints(card):
    """The parameter constraints a card declares (a list of dicts; empty if none)."""
    return list(card.get("conditioning", {}).get("constraints", []))


def _transform(entry, x):
    if entry["transform"] == "log":
        return np.log(x)
    return x


def normalise_conditions(entries, values, n_cells):
    """Per-cell normalised conditioning inputs.

    Parameters
    ----------
    entries : list of dict
        From :func:`condition_entries`.
    values : dict
        Parameter name -> scalar or 1-D array of ``n_cells`` values, PyNN units.
    n_cells : int

    Returns
    -------
    ndarray [n_cells, len(entries)] (float32)

    Raises
    ------
    KeyError
        If a conditioned parameter is missing from ``values``.
    ValueError
        If an array has the wrong length or a log-transformed value is not positive.
    """
    out = np.zeros((n_cells, len(entries)), dtype=np.float32)
    for j, entry in enumerate(entries):
        name = entry["name"]
        if name not in values:
            raise KeyError(f"conditioned parameter {name!r} has no value")
        x = np.broadcast_to(np.asarray(values[name], dtype=float), (n_cells,))
        if entry["transform"] == "log" and np.any(x <= 0):
            raise ValueError(f"conditioned parameter {name!r} must be > 0 (log transform)")
        lo = _transform(entry, float(entry["min"]))
        hi = _transform(entry, float(entry["max"]))
        out[:, j] = 2.0 * (_transform(entry, x) - lo) / (hi - lo) - 1.0
    return out


def violated_constraints(constraints, values):
    """The constraints that some cell breaks, each with that cell's values.

    Parameters
    ----------
    constraints : list of dict
        ``{"lower": a, "upper": b, "min_gap": g}`` means ``values[b] - values[a] >= g``.
    values : dict
        Parameter name -> scalar or 1-D array (PyNN units); constraints naming a parameter
        that is absent are skipped.

    Returns
    -------
    list of (dict, float, float)
        ``(constraint, lower value, upper value)`` of the first offending cell, per broken
        constraint, in the order given.
    """
    out = []
    for c in constraints:
        lower, upper, gap = c["lower"], c["upper"], float(c.get("min_gap", 0.0))
        if lower not in values or upper not in values:
            continue
        a = np.atleast_1d(np.asarray(values[lower], dtype=float))
        b = np.atleast_1d(np.asarray(values[upper], dtype=float))
        a, b = np.broadcast_arrays(a, b)
        bad = (b - a) < gap - 1e-9
        if bad.any():
            i = int(np.argmax(bad))
            out.append((c, float(a[i]), float(b[i])))
    return out


def constraint_violation(constraints, values):
    """The first violated constraint (see :func:`violated_constraints`) as a message, or
    ``None``."""
    broken = violated_constraints(constraints, values)
    if not broken:
        return None
    c, a, b = broken[0]
    return (f"{c['upper']} ({b:g}) must exceed {c['lower']} ({a:g}) by at least "
            f"{float(c.get('min_gap', 0.0)):g} in the trained domain")


@dataclass
class CellFrames:
    """Per-cell drive factors and v frame of a conditioned surrogate with cell frames.

    Attributes
    ----------
    drive_factor : ndarray [n_cells, n_channels]
        Each cell's drive is divided by this (1 at the reference parameters).
    origin : ndarray [n_cells]
        Each cell's v origin (mV).
    origin_ref : float
        The reference cell's v origin (mV).
    stretch : ndarray [n_cells]
        Each cell's v span over the reference's.
    """

    drive_factor: np.ndarray
    origin: np.ndarray
    origin_ref: float
    stretch: np.ndarray

    def framed_drive(self, drive):
        """Trial-major drive ``[n_cells, n_bins, n_channels]`` on the reference cell's scale."""
        return drive / self.drive_factor[:, None, :].astype(drive.dtype)

    def reference_v(self, v):
        """Trial-major v ``[n_cells, n_bins]`` (mV) as the reference cell would read it."""
        origin, stretch = (a[:, None].astype(v.dtype) for a in (self.origin, self.stretch))
        return (self.origin_ref + (v - origin) / stretch).astype(v.dtype)

    def v_affine(self, v_offset, v_scale):
        """Per-cell ``(offset, scale)`` [n_cells] with ``v = offset + scale * v_norm``, for a
        network whose v output is normalised as ``v_ref = v_offset + v_scale * v_norm``."""
        return (self.origin + self.stretch * (v_offset - self.origin_ref),
                v_scale * self.stretch)


def condition_frames(card):
    """The cell frames a card declares (see the module docstring), or ``None``."""
    return card.get("conditioning", {}).get("frames")


def cell_frames(frames, reference, values, n_cells, channels):
    """Per-cell :class:`CellFrames` (identity frames where ``frames`` is ``None``).

    Parameters
    ----------
    frames : dict or None
        From :func:`condition_frames`.
    reference : dict
        The reference parameter set (PyNN units).
    values : dict
        Parameter name -> scalar or array of ``n_cells`` values; a parameter the frames name
        but ``values`` lacks takes its reference value.
    n_cells : int
    channels : sequence of str
        Drive channel names, in the network's order.

    Raises
    ------
    ValueError
        For a drive factor on a parameter that is not positive, or a zero reference span.
    """
    def per_cell(name):
        return np.broadcast_to(np.asarray(values.get(name, reference[name]), dtype=float),
                               (n_cells,))

    factor = np.ones((n_cells, len(channels)))
    origin, origin_ref, stretch = np.zeros(n_cells), 0.0, np.ones(n_cells)
    if frames is None:
        return CellFrames(factor, origin, origin_ref, stretch)
    for j, ch in enumerate(channels):
        for name, power in frames.get("drive", {}).get(ch, {}).items():
            x, ref = per_cell(name), float(reference[name])
            if ref <= 0 or np.any(x <= 0):
                raise ValueError(f"drive frame of {ch!r}: {name} must be > 0")
            factor[:, j] *= (x / ref) ** float(power)
    v_frame = frames.get("v")
    if v_frame:
        origin, origin_ref = per_cell(v_frame["origin"]).copy(), float(reference[v_frame["origin"]])
        a, b = v_frame["span"]
        span_ref = float(reference[b]) - float(reference[a])
        if span_ref == 0:
            raise ValueError(f"v frame: the reference span {b} - {a} is zero")
        stretch = (per_cell(b) - per_cell(a)) / span_ref
    return CellFrames(factor, origin, origin_ref, stretch)


def denormalise_conditions(entries, z):
    """Parameter values (PyNN units) from normalised inputs ``z`` [n, len(entries)]: the
    inverse of :func:`normalise_conditions`, as a dict of float64 arrays."""
    z = np.asarray(z, dtype=float)
    out = {}
    for j, entry in enumerate(entries):
        lo = _transform(entry, float(entry["min"]))
        hi = _transform(entry, float(entry["max"]))
        f = lo + (z[:, j] + 1.0) * (hi - lo) / 2.0
        out[entry["name"]] = np.exp(f) if entry["transform"] == "log" else f
    return out
