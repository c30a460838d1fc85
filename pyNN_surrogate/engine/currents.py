"""Current sources with pyNN.neuron's timing.

pyNN.neuron drives an ``IClamp`` whose current NEURON evaluates at the step
midpoint; PyNN shifts its recording by one step so that the value recorded at
``t_k`` is the current applied during ``[t_k, t_k + dt)``.  The engine uses
exactly that value as the ``i_inj`` drive sample at ``t_k``, and
``get_current_trace`` returns it (samples at 0, dt, ..., t).  With
``m = t_k + dt/2``:

* ``dc``: amplitude while ``start <= m < stop``, else 0.
* ``step``: times are rounded to the dt grid (as pyNN does); the value is the
  amplitude of the last time ``<= m`` (0 before the first).
* ``ac``: played values ``offset + amplitude*sin(2 pi f j dt/1000 + 2 pi phase/360)`` at
  ``start + j*dt`` for ``j < round((stop + dt - start)/dt) - 1``, then 0; the value
  is that of the last play time ``<= m`` (0 before ``start``).
* ``noisy``: a new value ``mean + stdev*N(0,1)`` at ``start + j*max(dt_noise, dt)``
  for ``j < round((stop-start)/max(dt_noise, dt))``, 0 from ``stop`` on.  Random
  values come from the engine's generator (a fixed number of draws per window).

Parameters are scalars (one source injects the same current into every target).
"""

import math

import numpy as np
import torch

from .errors import EngineValueError, ShapeMismatchError

PARAMS = {
    "dc": {"amplitude": 1.0, "start": 0.0, "stop": 1e12},
    "step": {"times": None, "amplitudes": None},
    "ac": {"amplitude": 1.0, "offset": 0.0, "frequency": 10.0, "phase": 0.0,
           "start": 0.0, "stop": 1e12},
    "noisy": {"mean": 0.0, "stdev": 1.0, "start": 0.0, "stop": 1e12, "dt": 0.1},
}


def check_current_params(kind, params, dt, base=None):
    """Validate the parameters of a current source; returns the full parameter dict."""
    if kind not in PARAMS:
        raise EngineValueError("unknown current source kind %r; expected one of %s"
                               % (kind, tuple(PARAMS)))
    unknown = set(params) - set(PARAMS[kind])
    if unknown:
        raise EngineValueError("unknown parameter(s) %s for a %r current source; expected %s"
                               % (sorted(unknown), kind, tuple(PARAMS[kind])))
    out = dict(PARAMS[kind]) if base is None else dict(base)
    out.update(params)
    if kind == "step":
        if out["times"] is None or out["amplitudes"] is None:
            raise EngineValueError("a 'step' current source needs 'times' and 'amplitudes'")
        times = np.asarray(out["times"], dtype=float).reshape(-1)
        amps = np.asarray(out["amplitudes"], dtype=float).reshape(-1)
        if times.shape != amps.shape:
            raise ShapeMismatchError("step current: %d times but %d amplitudes"
                                     % (times.size, amps.size))
        if not np.all(np.isfinite(times)) or not np.all(np.isfinite(amps)):
            raise EngineValueError("step current: times and amplitudes must be finite")
        if np.any(times < 0):
            raise EngineValueError("step current: times must be >= 0")
        if np.any(np.diff(times) <= 0):
            raise EngineValueError("step current: times must be strictly increasing")
        out["times"], out["amplitudes"] = times, amps
        return out
    for name in PARAMS[kind]:
        v = out[name]
        if np.ndim(v) != 0:
            raise EngineValueError("current source parameter %r must be a scalar" % name)
        out[name] = float(v)
        if not math.isfinite(out[name]):
            raise EngineValueError("current source parameter %r must be finite" % name)
    if out["stop"] < out["start"]:
        raise EngineValueError("current source: stop (%g) < start (%g)"
                               % (out["stop"], out["start"]))
    if kind == "noisy" and (out["dt"] <= 0 or out["stdev"] < 0):
        raise EngineValueError("noisy current: dt must be > 0 and stdev >= 0")
    return out


class CurrentSource:
    """One current source injected into cells of one or more groups.

    Parameters
    ----------
    kind : str
    params : dict
    targets : list of (group_id, LongTensor idx)
    dt : float
    device : torch.device
    """

    def __init__(self, kind, params, targets, dt, device):
        self.kind, self.targets, self.dt, self.device = kind, targets, dt, device
        self.params = check_current_params(kind, params, dt)
        self._apply()
        self.reset()

    def set_params(self, params):
        """Change parameters (validate first with :func:`check_current_params`)."""
        self.params = check_current_params(self.kind, params, self.dt, base=self.params)
        self._apply()

    def _apply(self):
        p, dt = self.params, self.dt
        if self.kind == "step":
            times = np.rint(p["times"] / dt) * dt
            keep = np.append(times[1:] != times[:-1], True)   # pyNN drops rounded duplicates
            self._times = torch.as_tensor(times[keep], dtype=torch.float64, device=self.device)
            self._amps = torch.as_tensor(np.append(0.0, p["amplitudes"][keep]),
                                         dtype=torch.float64, device=self.device)
        elif self.kind == "ac":
            self._n_play = int(round((p["stop"] + dt - p["start"]) / dt))
        elif self.kind == "noisy":
            self._dtn = max(p["dt"], dt)
            self._n_noise = int(round((p["stop"] - p["start"]) / self._dtn))

    def reset(self):
        """Forget recorded trace and noise state."""
        self._noise_idx = torch.full((), -1, dtype=torch.int64, device=self.device)
        self._noise_val = torch.zeros((), dtype=torch.float64, device=self.device)
        self.trace = []

    def values(self, step0, K, gen, record=True):
        """Current (nA, float64 [K]) applied during each step of the window."""
        p, dt = self.params, self.dt
        k = torch.arange(K, dtype=torch.float64, device=self.device)
        mid = (k + step0) * dt + 0.5 * dt
        tol = 1e-9 * dt
        if self.kind == "dc":
            on = (mid >= p["start"] - tol) & (mid < p["stop"] - tol)
            val = on.to(torch.float64) * p["amplitude"]
        elif self.kind == "step":
            i = torch.searchsorted(self._times, mid + tol, right=True)
            val = self._amps[i]
        elif self.kind == "ac":
            j = torch.floor((mid - p["start"]) / dt + 1e-9)
            on = (j >= 0) & (j < self._n_play - 1)
            val = p["offset"] + p["amplitude"] * torch.sin(
                j * dt * 2 * math.pi * p["frequency"] / 1000.0 + 2 * math.pi * p["phase"] / 360.0)
            val = torch.where(on, val, torch.zeros_like(val))
        else:
            val = self._noisy(mid, K, gen)
        if record:
            self.trace.append(val)
        return val

    def _noisy(self, mid, K, gen):
        p = self.params
        j = torch.floor((mid - p["start"]) / self._dtn + 1e-9).to(torch.int64)
        n_fresh = int(math.ceil(K * self.dt / self._dtn)) + 1
        fresh = p["mean"] + p["stdev"] * torch.randn(n_fresh, dtype=torch.float64,
                                                     device=self.device, generator=gen)
        rel = j - self._noise_idx
        pick = fresh[torch.clamp(rel - 1, 0, n_fresh - 1)]
        val = torch.where(rel == 0, self._noise_val, pick)
        on = (j >= 0) & (j < self._n_noise)
        val = torch.where(on, val, torch.zeros_like(val))
        self._noise_idx = torch.where(on[-1], j[-1], self._noise_idx)
        self._noise_val = torch.where(on[-1], val[-1], self._noise_val)
        return val
