"""Exact post-synaptic kernels (exponential, alpha, dual exponential and delta),
integrated at ``dt``.

Timing convention (identical to pyNN.neuron's fixed-step NEURON, checked in
``tests/engine/test_synapses_vs_neuron.py``).  A spike arriving at grid point
``t_k = k*dt`` is delivered at the start of the step ``[t_k, t_k + dt)``:

* ``exp`` kernel (ExpSyn / ExpISyn):  ``g(t) = w exp(-(t - t_k)/tau)``.
  The *drive* for step k (what NEURON's integrator applies during
  ``[t_k, t_k+dt)``) is ``g(t_k+)``, i.e. including the arrivals at ``t_k``.
  The *recorded* value at ``t_k`` (what pyNN.neuron records) is ``g(t_k-)``,
  i.e. excluding them.
* ``alpha`` kernel (pyNN's AlphaSyn / AlphaISyn):
  ``g(t) = w x exp(1 - x)``, ``x = (t - t_k)/tau``.  NEURON evaluates it in
  BREAKPOINT at the step midpoint, so the drive for step k is
  ``g(t_k + dt/2)`` (arrivals up to ``t_k`` included) and the value recorded
  at ``t_k`` is the previous step's drive, ``g(t_k - dt/2)`` with arrivals up
  to ``t_{k-1}``.  NEURON drops an event 20 tau after onset
  (relative size < 1.2e-7 of its weight); we keep it.

* ``exp2`` kernel (NEURON's Exp2Syn, the synapses of hnn-core's cells):
  ``g(t) = w f (exp(-(t - t_k)/tau) - exp(-(t - t_k)/tau_rise))`` with Exp2Syn's peak
  normalisation ``f``. It is the sum of two ``exp`` traces with coefficients ``+f`` and
  ``-f`` (Exp2Syn's states B and A), so its drive has the ``exp`` timing convention. Exp2Syn's
  ``g`` is assigned in BREAKPOINT, though, so the value recorded at ``t_k`` is the previous
  step's drive, ``g(t_{k-1}+)``, as for ``alpha``. The bank integrates *traces*: each
  ``exp2`` receptor is two of them, every other receptor one.

* ``delta`` kernel (voltage jumps, e.g. pyNN's Izhikevich): an arrival of weight ``w``
  (mV) at ``t_k`` moves v by ``w`` at the start of step k. The drive of step k is the jump
  rate ``a_k / dt`` (mV/ms), so a bin's mean drive times its width is the total jump.

The kernels are linear filters, integrated with closed-form decay factors.
Synapse state is kept in float64 (it is only ``n_cells x n_receptors``), so
the traces match NEURON to ~1e-12 relative instead of accumulating float32
rounding over thousands of steps.
"""

from dataclasses import dataclass
import numpy as np
import torch

from .errors import EngineTypeError, EngineValueError

KINDS = ("conductance", "current", "voltage")
KERNELS = ("exp", "alpha", "exp2", "delta")
CHANNELS = ("g_exc", "g_inh", "i_inj", "v_jump")
CHANNEL_OF_KIND = {"current": ("i_inj",), "voltage": ("v_jump",),
                   "conductance": ("g_exc", "g_inh")}
# Channels only current/voltage receptors may feed. Conductance receptors feed g_exc/g_inh or
# a channel the runtime names itself (e.g. "apical_tuft.ampa" of a detailed cell).
RESERVED_CHANNELS = ("i_inj", "v_jump")
STATE_DTYPE = torch.float64


@dataclass
class ReceptorSpec:
    """One post-synaptic receptor type of a cell group.

    Parameters
    ----------
    name : str
        Receptor name used by projections (e.g. ``"excitatory"``).
    kind : {"conductance", "current", "voltage"}
        Conductance (weights in uS), current (weights in nA; positive
        weights depolarise, inhibitory current weights are negative) or
        voltage jump (weights in mV, signed; needs the ``delta`` kernel).
    kernel : {"exp", "alpha", "exp2", "delta"}
    tau : array_like [n_cells] or float
        Time constant (ms), the decay time constant of ``exp2``; unused by ``delta``.
    channel : str
        Drive channel this receptor adds to.  Current receptors must use
        ``"i_inj"``, voltage receptors ``"v_jump"``; conductance receptors
        ``"g_exc"``, ``"g_inh"`` or another channel of the runtime (not those two).
    tau_rise : array_like [n_cells] or float, optional
        Rise time constant (ms) of the ``exp2`` kernel (NEURON's ``tau1``), below ``tau``.
    """

    name: str
    kind: str = "conductance"
    kernel: str = "exp"
    tau: object = 5.0
    channel: str = "g_exc"
    tau_rise: object = None


def validate_receptors(receptors, n_cells):
    """Check a list of ReceptorSpec.

    Returns
    -------
    tau, tau_rise : ndarray [n_cells, R]
        Time constants (ms); ``tau_rise`` is NaN for receptors without an ``exp2`` kernel.
    """
    if not isinstance(receptors, (list, tuple)):
        raise EngineTypeError("receptors must be a list of ReceptorSpec, got %r" % type(receptors))
    names = set()
    taus, rises = [], []
    for r in receptors:
        if not isinstance(r, ReceptorSpec):
            raise EngineTypeError("receptors must be ReceptorSpec instances, got %r" % (r,))
        if not isinstance(r.name, str) or not r.name:
            raise EngineValueError("receptor name must be a non-empty string, got %r" % (r.name,))
        if r.name in names:
            raise EngineValueError("duplicate receptor name %r" % r.name)
        names.add(r.name)
        if r.kind not in KINDS:
            raise EngineValueError("receptor %r: kind must be one of %s, got %r"
                                   % (r.name, KINDS, r.kind))
        if r.kernel not in KERNELS:
            raise EngineValueError("receptor %r: kernel must be one of %s, got %r"
                                   % (r.name, KERNELS, r.kernel))
        if not isinstance(r.channel, str) or not r.channel:
            raise EngineValueError("receptor %r: channel must be a non-empty string, got %r"
                                   % (r.name, r.channel))
        allowed = r.kind == "conductance" and r.channel not in RESERVED_CHANNELS
        if r.channel not in CHANNEL_OF_KIND[r.kind] and not allowed:
            raise EngineValueError("receptor %r: a %s receptor cannot feed channel %r"
                                   % (r.name, r.kind, r.channel))
        if (r.kind == "voltage") != (r.kernel == "delta"):
            raise EngineValueError("receptor %r: voltage receptors, and only they, use the "
                                   "delta kernel (got kind %r, kernel %r)"
                                   % (r.name, r.kind, r.kernel))
        taus.append(check_tau(r.tau, n_cells, "receptor %r tau" % r.name))
        rises.append(_check_rise(r, taus[-1], n_cells))
    if not taus:
        return np.zeros((n_cells, 0)), np.zeros((n_cells, 0))
    return np.stack(taus, axis=1), np.stack(rises, axis=1)


def _check_rise(r, tau, n_cells):
    """``tau_rise`` of one receptor, [n_cells] (NaN unless its kernel is exp2)."""
    if r.kernel != "exp2":
        if r.tau_rise is not None:
            raise EngineValueError("receptor %r: tau_rise is only used by the exp2 kernel"
                                   % r.name)
        return np.full(n_cells, np.nan)
    if r.tau_rise is None:
        raise EngineValueError("receptor %r: the exp2 kernel needs tau_rise (ms)" % r.name)
    rise = check_tau(r.tau_rise, n_cells, "receptor %r tau_rise" % r.name)
    if np.any(rise >= tau):
        raise EngineValueError("receptor %r: tau_rise must be below tau (the decay time "
                               "constant)" % r.name)
    return rise


def exp2_factor(tau_rise, tau):
    """NEURON Exp2Syn's peak normalisation (its ``factor``), elementwise, with its clamps
    of ``tau_rise / tau`` to [1e-9, 0.9999]."""
    rise = np.clip(tau_rise, tau * 1e-9, tau * 0.9999)
    t_peak = rise * tau / (tau - rise) * np.log(tau / rise)
    return 1.0 / (np.exp(-t_peak / tau) - np.exp(-t_peak / rise))


def check_tau(tau, n_cells, what):
    """Broadcast ``tau`` to [n_cells] float64 and check it is finite and > 0."""
    arr = np.asarray(tau, dtype=float)
    if arr.ndim == 0:
        arr = np.full(n_cells, float(arr))
    if arr.shape != (n_cells,):
        raise EngineValueError("%s: expected a scalar or %d values, got shape %s"
                               % (what, n_cells, arr.shape))
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise EngineValueError("%s must be finite and > 0 (ms)" % what)
    return arr.copy()


EXP_BLOCK_EXPONENT = 300.0  # largest dt*k/tau inside one closed-form block (exp(300) ~ 1e130)


class SynapseBank:
    """Synaptic traces of all receptors of one cell group.

    Receptors map to *traces*: an ``exp2`` receptor to two ``exp`` traces (decay, then rise),
    every other receptor to one. Arrivals come in and drive/recorded values go out per
    receptor; inside, everything is per trace (the ``*_cols`` attributes index traces).

    Parameters
    ----------
    kernels : sequence of str
        Kernel per receptor column.
    tau : ndarray [n_cells, R]
        Time constants (ms).
    dt : float
    device : torch.device
    tau_rise : ndarray [n_cells, R], optional
        Rise time constants of the ``exp2`` receptors (ms; other columns ignored).
    """

    def __init__(self, kernels, tau, dt, device, tau_rise=None):
        self.dt = float(dt)
        self.device = device
        self.n_cells, self.n_receptors = tau.shape
        self.kernels = tuple(kernels)
        self.trace_receptor, self.trace_is_rise, trace_kernels = [], [], []
        for i, k in enumerate(self.kernels):
            for rise in ((False, True) if k == "exp2" else (False,)):
                self.trace_receptor.append(i)
                self.trace_is_rise.append(rise)
                trace_kernels.append("exp" if k == "exp2" else k)
        self.n_traces = len(trace_kernels)
        self.expanded = self.n_traces != self.n_receptors
        if self.expanded:
            self._trace_src = torch.tensor(self.trace_receptor, dtype=torch.long, device=device)
            P = np.zeros((self.n_traces, self.n_receptors))
            P[np.arange(self.n_traces), self.trace_receptor] = 1.0
            self._sum_traces = torch.as_tensor(P, dtype=STATE_DTYPE, device=device)
        self.exp_cols = [i for i, k in enumerate(trace_kernels) if k == "exp"]
        self.alpha_cols = [i for i, k in enumerate(trace_kernels) if k == "alpha"]
        self.delta_cols = [i for i, k in enumerate(trace_kernels) if k == "delta"]
        self._delta_idx = torch.tensor(self.delta_cols, dtype=torch.long, device=device)
        self._exp_idx = torch.tensor(self.exp_cols, dtype=torch.long, device=device)
        self._alpha_idx = torch.tensor(self.alpha_cols, dtype=torch.long, device=device)
        self.tau_rise = (np.full(tau.shape, np.nan) if tau_rise is None
                         else np.array(tau_rise, dtype=float))
        self.set_tau(tau)
        self.reset()

    def set_tau(self, tau, tau_rise=None):
        """Set time constants (ndarray [n_cells, R], ms; ``tau_rise`` of exp2 receptors
        kept unless given); state is kept."""
        self.tau = np.array(tau, dtype=float)
        if tau_rise is not None:
            self.tau_rise = np.array(tau_rise, dtype=float)
        src = np.array(self.trace_receptor, dtype=np.int64)
        rise = np.array(self.trace_is_rise, dtype=bool)
        trace_tau = np.where(rise, self.tau_rise[:, src], self.tau[:, src])
        if self.expanded:
            # arrival coefficients: +f on the decay trace, -f on the rise trace of an exp2
            coef = np.ones((self.n_cells, self.n_traces))
            exp2 = np.array([self.kernels[i] == "exp2" for i in src])
            f = exp2_factor(self.tau_rise[:, src[exp2]], self.tau[:, src[exp2]])
            coef[:, exp2] = np.where(rise[exp2], -f, f)
            self._coef = torch.as_tensor(coef, dtype=STATE_DTYPE, device=self.device)
            self._coef32 = self._coef.to(torch.float32)
        tau_t = torch.as_tensor(trace_tau, dtype=STATE_DTYPE, device=self.device)
        r = self.dt / tau_t
        # exp: one-step decay factor
        self._r_exp = r[:, self.exp_cols]
        self._d_exp = torch.exp(-self._r_exp)
        # recorded = trace(t_k-) / lag: the exp2 traces record the previous step's drive
        exp2_trace = np.array([self.kernels[self.trace_receptor[i]] == "exp2"
                               for i in self.exp_cols], dtype=bool)
        lag_on = torch.as_tensor(exp2_trace, device=self.device)
        self._rec_lag = torch.where(lag_on, self._d_exp, torch.ones_like(self._d_exp))
        self._growth = {}                     # block length -> d**-k, see _exp_window
        self._bin_weights = {}                # bin length -> weights, see integrate_binned
        # alpha: decay, dt/tau, and the first half-step contribution of an arrival
        ra = r[:, self.alpha_cols]
        h = 0.5 * ra
        self._d_alpha = torch.exp(-ra)
        self._r_alpha = ra
        self._c_a = torch.exp(1.0 - h)        # A contribution at t_k + dt/2
        self._c_g = h * torch.exp(1.0 - h)    # G contribution at t_k + dt/2

    def _to_traces(self, arrivals):
        """Arrivals per receptor [K, n, R] -> per trace [K, n, T] (weighted by Exp2Syn's
        factor, with the sign of the trace)."""
        if not self.expanded:
            return arrivals
        coef = self._coef32 if arrivals.dtype == torch.float32 else self._coef
        return arrivals.index_select(2, self._trace_src) * coef.to(arrivals.dtype)

    def _to_receptors(self, values):
        """Per-trace values [..., n, T] -> per receptor [..., n, R] (traces summed)."""
        if not self.expanded or values is None:
            return values
        return values @ self._sum_traces

    def reset(self):
        """Zero all traces."""
        n = self.n_cells
        self.g_exp = torch.zeros(n, len(self.exp_cols), dtype=STATE_DTYPE, device=self.device)
        self.a_alpha = torch.zeros(n, len(self.alpha_cols), dtype=STATE_DTYPE, device=self.device)
        self.g_alpha = torch.zeros_like(self.a_alpha)

    def current_recorded(self):
        """Recorded value (pyNN.neuron convention) at the current time, [n_cells, R]."""
        out = torch.zeros(self.n_cells, self.n_traces, dtype=STATE_DTYPE, device=self.device)
        if self.exp_cols:
            out[:, self._exp_idx] = self.g_exp / self._rec_lag
        if self.alpha_cols:
            out[:, self._alpha_idx] = self.g_alpha
        return self._to_receptors(out)

    def _exp_window(self, arrivals):
        """Exponential traces over a window in closed form, block by block.

        With ``d = exp(-dt/tau)`` and ``g`` the trace at the window start, the value applied
        during step k is ``d**k * (g + sum_{j<=k} d**-j * a_j)``. Blocks are short enough that
        ``d**-j`` stays far from overflow (``j*dt/tau <= EXP_BLOCK_EXPONENT``).
        """
        K = arrivals.shape[0]
        rate = self._r_exp                                   # dt / tau, [n, R_exp]
        block = max(1, min(K, int(EXP_BLOCK_EXPONENT / float(rate.max()))))
        out = torch.empty_like(arrivals)
        g = self.g_exp
        for start in range(0, K, block):
            stop = min(K, start + block)
            growth = self._growth.get(stop - start)
            if growth is None:                                 # d**-k, cached per length
                k = torch.arange(stop - start, dtype=STATE_DTYPE,
                                 device=self.device)[:, None, None]
                growth = self._growth[stop - start] = torch.exp(k * rate)
            summed = torch.cumsum(arrivals[start:stop] * growth, 0)
            out[start:stop] = (g + summed) / growth
            g = out[stop - 1] * self._d_exp
        return out

    def _binned_weights(self, m):
        """Closed-form weights of bins of ``m`` steps (cached per ``m``).

        With ``S(n) = 1 + d + ... + d**(n-1)``, a bin starting from trace ``g`` with arrivals
        ``a_j`` (j < m) has mean drive ``g S(m)/m + sum_j a_j S(m-j)/m`` and leaves the trace
        ``d**m g + sum_j a_j d**(m-j)``.
        """
        if m not in self._bin_weights:
            r = self._r_exp                                            # [n, R]
            left = torch.arange(m, 0, -1, dtype=STATE_DTYPE, device=self.device)[:, None, None]
            S = lambda n: torch.expm1(-n * r) / torch.expm1(-r)         # noqa: E731
            per_arrival = torch.stack([S(left) / m, torch.exp(-left * r)])  # [2, m, n, R]
            self._bin_weights[m] = (per_arrival.to(torch.float32),
                                    S(torch.tensor(float(m), dtype=STATE_DTYPE)) / m,
                                    torch.exp(-m * r))                   # [n, R] each
        return self._bin_weights[m]

    @property
    def all_exp(self):
        """True when every trace is exponential (``exp`` and ``exp2`` receptors only)."""
        return len(self.exp_cols) == self.n_traces

    def integrate_binned(self, arrivals, m):
        """Advance all-exponential traces over one window and return only the mean drive
        per bin of ``m`` steps (what the surrogate consumes), in closed form.

        Equal to ``integrate(arrivals)[0].view(K // m, m, n, R).mean(1)`` without computing
        the drive of every step. Needs :attr:`all_exp`. The arrivals of a bin are weighted in
        float32 (relative error ~1e-7, which does not accumulate: each bin's share decays);
        the traces are carried in float64 as in :meth:`integrate`.

        Parameters
        ----------
        arrivals : Tensor [K, n_cells, R]
        m : int
            Steps per bin; divides K.

        Returns
        -------
        Tensor [K // m, n_cells, R] float64
        """
        if not self.all_exp:
            raise EngineValueError("integrate_binned needs exponential kernels only")
        K = arrivals.shape[0]
        a = self._to_traces(arrivals.to(torch.float32)).reshape(K // m, 1, m, self.n_cells,
                                                                  self.n_traces)
        per_arrival, from_start, decay = self._binned_weights(m)
        contrib, carried = (a * per_arrival).sum(2).to(STATE_DTYPE).unbind(1)  # [K/m, n, R]
        out = torch.empty_like(contrib)
        g = self.g_exp
        for b in range(K // m):
            out[b] = from_start * g + contrib[b]
            g = decay * g + carried[b]
        self.g_exp = g
        return self._to_receptors(out)

    def integrate(self, arrivals, with_recorded=True):
        """Advance all traces over one window.

        Parameters
        ----------
        arrivals : Tensor [K, n_cells, R]
            Summed weights arriving at each dt point of the window.
        with_recorded : bool
            Also return the recorded values (skipped when nothing records them).

        Returns
        -------
        drive : Tensor [K, n_cells, R] float64
            Value applied during each step ``[t_k, t_k+dt)``.
        recorded : Tensor [K, n_cells, R] float64 or None
            Value pyNN.neuron records at each ``t_k`` (None unless ``with_recorded``;
            for delta receptors the jump rate of the step).
        """
        a = self._to_traces(arrivals.to(STATE_DTYPE))
        parts = []                              # (trace index, drive, recorded)
        if self.exp_cols:
            only = len(self.exp_cols) == self.n_traces
            ae = a if only else a.index_select(2, self._exp_idx)
            de_out = self._exp_window(ae)
            self.g_exp = de_out[-1] * self._d_exp
            parts.append((self._exp_idx, de_out, (de_out - ae) / self._rec_lag))
        if self.alpha_cols:
            parts.append((self._alpha_idx,) + self._alpha_window(
                a.index_select(2, self._alpha_idx)))
        if self.delta_cols:
            jumps = a.index_select(2, self._delta_idx) / self.dt
            parts.append((self._delta_idx, jumps, jumps))
        if len(parts) == 1 and parts[0][1].shape[2] == self.n_traces:
            _, drive, recorded = parts[0]       # one kernel only: no copy
            return (self._to_receptors(drive),
                    self._to_receptors(recorded) if with_recorded else None)
        drive = torch.zeros(a.shape, dtype=STATE_DTYPE, device=self.device)
        recorded = torch.zeros_like(drive)
        for idx, d_out, r_out in parts:
            drive.index_copy_(2, idx, d_out)
            recorded.index_copy_(2, idx, r_out)
        return (self._to_receptors(drive),
                self._to_receptors(recorded) if with_recorded else None)

    def _alpha_window(self, aa):
        """Alpha traces over a window, step by step: (drive, recorded), [K, n, R_alpha]."""
        dr_out = torch.empty_like(aa)
        A, G = self.a_alpha, self.g_alpha
        d, r, ca, cg = self._d_alpha, self._r_alpha, self._c_a, self._c_g
        for k in range(aa.shape[0]):
            # previous midpoint value is what NEURON records at t_k
            G = d * (G + r * A) + aa[k] * cg
            A = d * A + aa[k] * ca
            dr_out[k] = G
        rec_out = torch.cat([self.g_alpha.unsqueeze(0), dr_out[:-1]], 0)
        self.a_alpha, self.g_alpha = A, G
        return dr_out, rec_out
