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
"""

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
