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
        y, z, u, t_last = self.y, self.z, self.u, self.t_last
        for k in range(K):
            count = spikes[:, k].to(STATE_DTYPE)
            fire = count > 0
            t = (step0 + k) * self.dt
            dtl = t - t_last
            e_rec = torch.exp(-dtl / self.tau_rec)
            e_syn = torch.exp(-dtl / self.tau_syn)
            z_reg = (e_syn - e_rec) / self.denom
            z_sing = (dtl / self.tau_rec) * e_rec
            z_new = z * e_rec + y * torch.where(self.singular, z_sing, z_reg)
            y_new = y * e_syn
            x = 1.0 - y_new - z_new
            u_fac = u * torch.exp(-dtl / self.tau_facil)
            u_new = torch.where(self.facil, u_fac + self.U * (1.0 - u_fac), self.U)
            eff = x * u_new
            out[:, k] = eff * count
            y = torch.where(fire, y_new + eff, y)
            z = torch.where(fire, z_new, z)
            u = torch.where(fire, u_new, u)
            t_last = torch.where(fire, torch.full_like(t_last, t), t_last)
        self.y, self.z, self.u, self.t_last = y, z, u, t_last
        return out.to(torch.float32)
