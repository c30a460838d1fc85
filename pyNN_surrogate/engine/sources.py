"""Spike sources: explicit spike arrays and renewal processes.

A spike at time ``t_s`` is delivered (like NEURON's fixed-step event queue)
at dt-slot ``ceil(t_s/dt - 1/2)`` (nearest grid point, ties to the earlier
one); recorded spike times are the exact ``t_s``.

Renewal sources (semantics of pyNN.neuron's NetStimFD, PoissonStimRefractory
and GammaStim, see ``pyNN/neuron/nmodl``):

* ``poisson``: rate (Hz), start, duration (ms); intervals Exp(1000/rate),
  first spike at ``start + interval``, spikes in ``[start, start+duration)``.
* ``poisson_refractory``: rate (Hz), tau_refrac, start, duration; intervals
  ``tau_refrac + Exp(1000/rate - tau_refrac)``.  The first spike is at
  ``start + Exp(1000/rate - tau_refrac)`` (no dead time before the first spike;
  pyNN.neuron's mod file fires its first spike at t=0 whatever ``start`` is,
  which we do not copy).  Spikes in ``[start, start+duration]``.
* ``gamma``: alpha (shape), beta (Hz, rate); intervals Gamma(alpha)/beta,
  first spike at ``start + interval``, spikes in ``[start, start+duration]``.

Each renewal cell keeps its next spike time (float64, on device).  A window
makes a fixed number ``M`` of draws per cell (so no host synchronisation and a
fixed RNG consumption); ``M`` covers the expected count + 6 standard
deviations.  A cell that would fire more than ``M`` times in one window keeps
the rest for the next window, where they are delivered at its first slot
(late, never lost).  After a parameter change at ``t > 0`` the next spike is
redrawn from ``max(t, start)``.
"""

import math

import numpy as np
import torch

from .errors import EngineValueError, InvalidSpikeTimesError, ShapeMismatchError, EngineTypeError

RENEWAL_PARAMS = {
    "poisson": ("rate", "start", "duration"),
    "poisson_refractory": ("rate", "tau_refrac", "start", "duration"),
    "gamma": ("alpha", "beta", "start", "duration"),
}
DEFAULTS = {"start": 0.0, "duration": 1e12, "tau_refrac": 0.0, "alpha": 1.0}
KINDS = ("array",) + tuple(RENEWAL_PARAMS)


def spike_slot(times, dt):
    """Delivery dt-slot of spike times (ndarray), ties to the earlier slot."""
    return np.maximum(np.ceil(np.asarray(times, float) / dt - 0.5 - 1e-9), 0).astype(np.int64)


def check_spike_times(spike_times, n):
    """Validate a list of n spike-time arrays; returns a list of float64 arrays."""
    if isinstance(spike_times, np.ndarray) and spike_times.dtype != object and n == 1 \
            and spike_times.ndim == 1:
        spike_times = [spike_times]
    if not isinstance(spike_times, (list, tuple, np.ndarray)):
        raise EngineTypeError("spike_times must be a list of 1-D arrays, got %r"
                              % type(spike_times))
    if len(spike_times) != n:
        raise ShapeMismatchError("spike_times: expected %d arrays (one per source), got %d"
                                 % (n, len(spike_times)))
    out = []
    for i, st in enumerate(spike_times):
        a = np.asarray(st, dtype=float).reshape(-1) if np.size(st) else np.zeros(0)
        if not np.all(np.isfinite(a)):
            raise InvalidSpikeTimesError("spike_times[%d] contains NaN or inf" % i)
        if np.any(a < 0):
            raise InvalidSpikeTimesError("spike_times[%d] contains negative times (ms): %s"
                                         % (i, a[a < 0][:5]))
        if np.any(np.diff(a) < 0):
            raise InvalidSpikeTimesError("spike_times[%d] is not sorted in increasing order"
                                         % i)
        out.append(a)
    return out


def check_renewal_params(kind, params, n, base=None):
    """Validate renewal-source parameters; returns dict name -> float64 array [n]."""
    names = RENEWAL_PARAMS[kind]
    unknown = set(params) - set(names)
    if unknown:
        raise EngineValueError("unknown parameter(s) %s for a %r source; expected %s"
                               % (sorted(unknown), kind, names))
    out = dict(base) if base is not None else {}
    for name in names:
        if name in params:
            v = np.asarray(params[name], dtype=float)
            v = np.full(n, float(v)) if v.ndim == 0 else v.reshape(-1)
            if v.shape != (n,):
                raise ShapeMismatchError("%s: expected a scalar or %d values, got %d"
                                         % (name, n, v.size))
            out[name] = v.copy()
        elif name not in out:
            if name not in DEFAULTS:
                raise EngineValueError("a %r source needs parameter %r" % (kind, name))
            out[name] = np.full(n, DEFAULTS[name])
    for name, v in out.items():
        if np.any(np.isnan(v)):
            raise EngineValueError("%s contains NaN" % name)
    for name in ("rate", "beta", "tau_refrac", "duration", "start"):
        if name in out and np.any(out[name] < 0):
            raise EngineValueError("%s must be >= 0, got min %g" % (name, out[name].min()))
    if kind == "gamma" and np.any(out["alpha"] <= 0):
        raise EngineValueError("alpha must be > 0")
    if kind == "poisson_refractory":
        with np.errstate(divide="ignore"):
            mean = 1000.0 / out["rate"]
        if np.any(mean < out["tau_refrac"]):
            raise EngineValueError("poisson_refractory: 1000/rate (ms) must be >= tau_refrac")
    return out


class SpikeSourceGroup:
    """One group of spike sources of one kind.

    Parameters
    ----------
    kind : str
    n : int
    params : dict
    dt : float
    device : torch.device
    """

    def __init__(self, kind, n, params, dt, device):
        self.kind, self.n, self.dt, self.device = kind, n, dt, device
        self.window_ms = None      # set by the engine at build time
        self.needs_init = True
        if kind == "array":
            unknown = set(params) - {"spike_times"}
            if unknown:
                raise EngineValueError("unknown parameter(s) %s for an 'array' source"
                                       % sorted(unknown))
            self.set_params(params, t_now=0.0)
        else:
            self.params = check_renewal_params(kind, params, n)
            self._to_device()

    # -- parameters -----------------------------------------------------------------------
    def validate(self, params):
        """Check new parameters without applying them; returns the checked values."""
        if self.kind == "array":
            if set(params) != {"spike_times"}:
                raise EngineValueError("an 'array' source only has parameter 'spike_times'")
            return {"spike_times": check_spike_times(params["spike_times"], self.n)}
        return check_renewal_params(self.kind, params, self.n, base=self.params)

    def set_params(self, params, t_now):
        """Apply (validated or raw) parameters.  Spikes before ``t_now`` are ignored."""
        checked = self.validate(params)
        if self.kind == "array":
            st = checked["spike_times"]
            self.spike_times = st
            cells = np.concatenate([np.full(len(a), i) for i, a in enumerate(st)]
                                   + [np.zeros(0)]).astype(np.int64)
            times = np.concatenate(st + [np.zeros(0)])
            slots = spike_slot(times, self.dt)
            order = np.argsort(slots, kind="stable")
            self._slots_host = slots[order]
            self._ev_cell = torch.as_tensor(cells[order], device=self.device)
            self._ev_slot = torch.as_tensor(slots[order], device=self.device)
            self._ev_time = torch.as_tensor(times[order], dtype=torch.float64,
                                            device=self.device)
        else:
            changed = [k for k in checked if not np.array_equal(checked[k], self.params[k])]
            self.params = checked
            self._to_device()
            if changed and changed != ["duration"] and not self.needs_init:
                self._pending_redraw = t_now

    def _to_device(self):
        self._p = {k: torch.as_tensor(v, dtype=torch.float64, device=self.device)
                   for k, v in self.params.items()}
        self._end = self._p["start"] + self._p["duration"]
        if self.kind != "poisson":
            self._end = self._end + 1e-6
        self._pending_redraw = None
        self.set_window(self.window_ms)

    def set_window(self, window_ms):
        """Choose the number of draws per window from the current parameters."""
        self.window_ms = window_ms
        if self.kind == "array" or window_ms is None:
            return
        p = self.params
        if self.kind == "gamma":
            rate, cv2 = p["beta"] / p["alpha"], 1.0 / p["alpha"]
        else:
            rate, cv2 = p["rate"], np.ones(self.n)
        lam = rate * window_ms / 1000.0
        bound = lam + 6.0 * np.sqrt(lam * cv2) + 2.0
        self.draws = int(math.ceil(bound.max())) if self.n else 1

    # -- state ----------------------------------------------------------------------------
    def reset(self):
        """Forget the renewal state; it is redrawn at the first window."""
        self.needs_init = True
        self._pending_redraw = None

    def _interval(self, gen, first, draws=None):
        """Inter-spike intervals (ms): [n], or [draws, n] independent ones per cell."""
        p, n = self._p, self.n
        shape = (n,) if draws is None else (draws, n)
        if self.kind == "gamma":
            g = torch._standard_gamma(p["alpha"].expand(shape).contiguous(), generator=gen)
            return g * 1000.0 / p["beta"]
        e = torch.empty(shape, dtype=torch.float64, device=self.device).exponential_(
            generator=gen)
        if self.kind == "poisson":
            return e * (1000.0 / p["rate"])
        mean = 1000.0 / p["rate"] - p["tau_refrac"]
        return e * mean if first else p["tau_refrac"] + e * mean

    def _draw_first(self, gen, t_from):
        origin = torch.clamp(self._p["start"], min=t_from)
        self.next_t = origin + self._interval(gen, first=True)

    # -- emission -------------------------------------------------------------------------
    def emit(self, step0, K, gen):
        """Spikes of one window.

        Returns
        -------
        spikes_t : Tensor [n, K] float32
            Spike counts per source and dt-slot.
        record : tuple
            ``("dense", times [M, n])`` with NaN where no spike, or
            ``("events", times, cells)`` for array sources.
        """
        S = torch.zeros(self.n * K, dtype=torch.float32, device=self.device)
        if self.kind == "array":
            lo = int(np.searchsorted(self._slots_host, step0, "left"))
            hi = int(np.searchsorted(self._slots_host, step0 + K, "left"))
            cells, slots = self._ev_cell[lo:hi], self._ev_slot[lo:hi]
            S.index_put_((cells * K + (slots - step0),),
                         torch.ones(hi - lo, device=self.device), accumulate=True)
            return S.view(self.n, K), ("events", self._ev_time[lo:hi], cells)
        if self.needs_init:
            self._draw_first(gen, 0.0)
            self.needs_init = False
        elif self._pending_redraw is not None:
            self._draw_first(gen, self._pending_redraw)
            self._pending_redraw = None
        # Candidate spike times: the pending one and the next `draws` after it, [draws+1, n].
        nt = self.next_t
        steps = torch.cumsum(self._interval(gen, first=False, draws=self.draws), 0)
        cand = torch.cat([nt[None], nt[None] + steps], 0)
        times = cand[:-1]
        slot = torch.clamp(torch.ceil(times / self.dt - 0.5 - 1e-9), min=0)
        inside = times <= self._end if self.kind != "poisson" else times < self._end
        fire = (slot < step0 + K) & inside          # a prefix of the draws, per cell
        k = torch.clamp(slot - step0, 0, K - 1).to(torch.int64)
        rows = torch.arange(self.n, device=self.device) * K
        S.index_add_(0, (rows + k).reshape(-1), fire.to(torch.float32).reshape(-1))
        self.next_t = cand.gather(0, fire.sum(0, keepdim=True)).squeeze(0)
        times = torch.where(fire, times, torch.full_like(times, float("nan")))
        return S.view(self.n, K), ("dense", times)
