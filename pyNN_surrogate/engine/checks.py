"""Argument checks shared by the engine's modules (time grids, index arrays, per-item values)."""

import numpy as np

from . import errors as E


def steps_of(value, dt, what, exc=E.TimeStepError):
    """``value/dt`` as an int, or raise if it is not an integer (to 1e-6)."""
    q = value / dt
    n = int(round(q))
    if abs(q - n) > 1e-6 * max(1.0, abs(q)):
        raise exc("%s (%g ms) must be an integer multiple of dt (%g ms)" % (what, value, dt))
    return n


def index_array(idx, n, what):
    a = np.asarray(idx)
    if a.ndim != 1 or (a.size and not np.issubdtype(a.dtype, np.integer)):
        raise E.EngineTypeError("%s must be a 1-D integer array" % what)
    a = a.astype(np.int64)
    if a.size and (a.min() < 0 or a.max() >= n):
        raise E.EngineValueError("%s out of range [0, %d)" % (what, n))
    return a


def per_item_values(values, n, what):
    v = np.asarray(values, dtype=float)
    v = np.full(n, float(v)) if v.ndim == 0 else v.reshape(-1)
    if v.shape != (n,):
        raise E.ShapeMismatchError("%s: expected a scalar or %d values, got %d"
                                   % (what, n, v.size))
    if not np.all(np.isfinite(v)):
        raise E.EngineValueError("%s must be finite" % what)
    return v.copy()
