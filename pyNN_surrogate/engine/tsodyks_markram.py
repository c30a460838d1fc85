"""Tsodyks-Markram short-term plasticity, exactly as pyNN.neuron's
``tsodyksmarkram.mod`` (``TsodyksMarkramWA``, a weight adjuster).

On each presynaptic spike at time t (``dtl = t - t_last``)::

    z = z*exp(-dtl/tau_rec) + y*(exp(-dtl/tau_syn) - exp(-dtl/tau_rec)) / (tau_syn/tau_rec - 1)
    y = y*exp(-dtl/tau_syn)
    x = 1 - y - z
    u = u*exp(-dtl/tau_facil) + U*(1 - u)     if tau_facil > 0 else U
    efficacy = x*u                              (weight delivered = w*x*u)
    y = y + x*u
    t_last = t

Initial state: y = z = 0, u = u0 = 0, t_last = 0 (pyNN never sets u0, x, y).
``tau_syn`` is the time constant of the target receptor.  When
``tau_syn == tau_rec`` the z-update uses its limit ``y*(dtl/tau_rec)*exp(-dtl/tau_rec)``.

The state only depends on the presynaptic spike train and the parameters, so
it is updated at emission: the delay is constant per synapse, so time
differences between arrivals equal those between emissions.  Spike times are
the dt-slots the engine delivers at.  Limitation: two spikes of the same
presynaptic cell in the same dt-slot count as one TM event of weight 2*w*x*u.

State is per *unit*: one unit per synapse in general, or one per
presynaptic neuron when U, tau_rec, tau_facil and tau_syn are homogeneous over
the projection (the fast path; chosen automatically).
"""

from dataclasses import dataclass

import numpy as np
import torch

STATE_DTYPE = torch.float64


@dataclass
class TsodyksMarkramSpec:
    """Tsodyks-Markram synapse parameters (scalars or arrays [n_synapses]).

    Parameters
    ----------
    U : float or array_like
        Utilisation increment, in [0, 1].
    tau_rec : float or array_like
        Recovery time constant (ms), > 0.
    tau_facil : float or array_like
        Facilitation time constant (ms), >= 0 (0 = no facilitation).
    """

    U: object = 0.5
    tau_rec: object = 100.0
    tau_facil: object = 0.0


class TsodyksMarkramState:
    """Vectorised TM state over ``n_units`` units.

    Parameters
    ----------
    U, tau_rec, tau_facil, tau_syn : ndarray [n_units]
    dt : float
    device : torch.device
    """

    def __init__(self, U, tau_rec, tau_facil, tau_syn, dt, device):
        self.dt = float(dt)
        self.device = device
        self.n_units = len(U)
        # reading spike counts back to the host is free on the CPU, a sync elsewhere
        self.select_spiking_units = torch.device(device).type == "cpu"
        self.set_params(U, tau_rec, tau_facil, tau_syn)
        self.reset()

    def set_params(self, U, tau_rec, tau_facil, tau_syn):
        """Replace the parameters (state kept)."""
        def t(a):
            return torch.as_tensor(np.asarray(a, dtype=float), dtype=STATE_DTYPE,
                                   device=self.device)
        self.U, self.tau_rec, self.tau_syn = t(U), t(tau_rec), t(tau_syn)
        tf = np.asarray(tau_facil, dtype=float)
        self.facil = torch.as_tensor(tf > 0, device=self.device)
        self.tau_facil = t(np.where(tf > 0, tf, 1.0))
        ratio = np.asarray(tau_syn, dtype=float) / np.asarray(tau_rec, dtype=float)
        self.singular = torch.as_tensor(np.abs(ratio - 1.0) < 1e-12, device=self.device)
        self.denom = t(np.where(np.abs(ratio - 1.0) < 1e-12, 1.0, ratio - 1.0))

    def reset(self):
        """Back to the initial state (y = z = u = 0, t_last = 0)."""
        z = torch.zeros(self.n_units, dtype=STATE_DTYPE, device=self.device)
        self.y, self.z, self.u = z.clone(), z.clone(), z.clone()
        self.t_last = z.clone()

    def efficacies(self, spikes, step0):
        """Process the spikes of one window and return the efficacy per spike.

        The state changes only at spikes, so the update is event-driven: each round takes,
        for every unit, its next spike in the window. On the CPU only the units that spiked
        are touched and there are as many rounds as the most spikes of one unit (reading that
        number back is free there); on other devices the rounds run over every unit and slot,
        with no host synchronisation.

        Parameters
        ----------
        spikes : Tensor [n_units, K]
            Spike counts per unit and dt-slot of the window.
        step0 : int
            Absolute dt-step of the window's first slot.

        Returns
        -------
        Tensor [n_units, K] float32
            ``x*u`` at each spike (0 where there is no spike), times the count.
        """
        K = spikes.shape[1]
        out = torch.zeros(self.n_units, K, dtype=STATE_DTYPE, device=self.device)
        pending = spikes > 0
        if self.select_spiking_units:
            units = torch.nonzero(pending.any(1)).flatten()
            if units.numel() == 0:
                return out.to(torch.float32)
            rounds = int(pending[units].sum(1).max())
        else:
            units, rounds = None, K
        state = self._select(units)
        counts = spikes if units is None else spikes[units]
        pending = pending if units is None else pending[units]
        slots = torch.arange(K, device=self.device)
        unit_out = torch.zeros(counts.shape, dtype=STATE_DTYPE, device=self.device)
        for _ in range(rounds):
            has = pending.any(1)
            first = torch.where(pending, slots, K).min(1).values.clamp(max=K - 1)
            count = counts.gather(1, first[:, None])[:, 0].to(STATE_DTYPE)
            t = (step0 + first).to(STATE_DTYPE) * self.dt
            eff, new_state = self._on_spike(state, t)
            state = [torch.where(has, new, old) for new, old in zip(new_state, state)]
            unit_out.scatter_add_(1, first[:, None], torch.where(has, eff * count, 0.0)[:, None])
            pending = pending.scatter(1, first[:, None], False)
        self._store(units, state)
        if units is None:
            out = unit_out
        else:
            out[units] = unit_out
        return out.to(torch.float32)

    def _select(self, units):
        """State [y, z, u, t_last] and parameters restricted to `units` (all if None)."""
        names = ("y", "z", "u", "t_last", "U", "tau_rec", "tau_syn", "tau_facil", "facil",
                 "singular", "denom")
        if units is None:
            self._view = {name: getattr(self, name) for name in names}
        else:
            self._view = {name: getattr(self, name)[units] for name in names}
        return [self._view[name] for name in ("y", "z", "u", "t_last")]

    def _store(self, units, state):
        for name, value in zip(("y", "z", "u", "t_last"), state):
            if units is None:
                setattr(self, name, value)
            else:
                getattr(self, name)[units] = value

    def _on_spike(self, state, t):
        """Efficacy and new state [y, z, u, t_last] for a spike at time `t` of every unit."""
        p = self._view
        y, z, u, t_last = state
        dtl = t - t_last
        e_rec = torch.exp(-dtl / p["tau_rec"])
        e_syn = torch.exp(-dtl / p["tau_syn"])
        z_reg = (e_syn - e_rec) / p["denom"]
        z_sing = (dtl / p["tau_rec"]) * e_rec
        z_new = z * e_rec + y * torch.where(p["singular"], z_sing, z_reg)
        y_new = y * e_syn
        x = 1.0 - y_new - z_new
        u_fac = u * torch.exp(-dtl / p["tau_facil"])
        u_new = torch.where(p["facil"], u_fac + p["U"] * (1.0 - u_fac), p["U"])
        eff = x * u_new
        return eff, [y_new + eff, z_new, u_new, t]
