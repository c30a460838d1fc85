"""A cell group: the cells of one surrogate type, as rows of one batched state; and a
surrogate batch: the cell groups that share one runtime and run in one call."""

import numpy as np
import torch

from . import errors as E
from .checks import per_item_values, steps_of
from .synapses import SynapseBank


class CellGroup:
    """Cells of one surrogate type: rows of one batched state."""

    def __init__(self, runtime, n, receptors, taus, i_offset, dt, device, conditions=None,
                 rise_taus=None):
        self.runtime, self.n, self.receptors, self.device = runtime, n, receptors, device
        self.conditions = self._check_conditions(conditions)
        self.native_steps = steps_of(float(runtime.native_dt), dt, "native_dt")
        # the drive is averaged over bins of drive_dt (the native step unless the runtime
        # asks for finer bins, e.g. its output step)
        self.drive_steps = steps_of(float(getattr(runtime, "drive_dt", runtime.native_dt)), dt,
                                    "drive_dt")
        self.output_dt = float(runtime.output_dt)
        self.channels = tuple(getattr(runtime, "drive_channels", None)
                              or getattr(runtime, "channels"))
        self.recordables = tuple(getattr(runtime, "recordables", ("v",)))
        self.rec_index = {r.name: i for i, r in enumerate(receptors)}
        self.bank = SynapseBank([r.kernel for r in receptors], taus, dt, device, rise_taus)
        M = np.zeros((len(receptors), len(self.channels)))
        for i, r in enumerate(receptors):
            M[i, self.channels.index(r.channel)] = 1.0
        self.mix = torch.as_tensor(M, dtype=torch.float64, device=device)
        self.i_col = self.channels.index("i_inj") if "i_inj" in self.channels else None
        self.set_i_offset(i_offset)
        self.ring = None
        self.currents = []

    def _check_conditions(self, conditions):
        """Per-cell values of the runtime's conditioned parameters (None if it has none)."""
        names = tuple(getattr(self.runtime, "condition_names", ()))
        if not names:
            if conditions:
                raise E.EngineValueError("conditions given, but the runtime is not conditioned")
            return None
        missing = [k for k in names if k not in (conditions or {})]
        if missing:
            raise E.EngineValueError("the runtime is conditioned on %s; missing values for %s"
                                     % (names, missing))
        return {k: per_item_values(conditions[k], self.n, k) for k in names}

    def set_condition(self, name, values):
        """Change one conditioned parameter of every cell; returns the new values."""
        if self.conditions is None or name not in self.conditions:
            raise E.EngineValueError("%r is not a conditioned parameter of this group" % name)
        self.conditions[name] = per_item_values(values, self.n, name)
        return self.conditions[name]

    def resting_v(self):
        """Resting v (mV) of every cell, as a tensor [n] on the group's device."""
        if self.conditions is None:
            return torch.full((self.n,), float(self.runtime.v_rest), device=self.device)
        v = self.runtime.resting_v(self.n, self.conditions)
        return torch.as_tensor(v, dtype=torch.float32, device=self.device)

    def set_i_offset(self, values):
        self.i_offset_host = values
        self.i_offset = torch.as_tensor(values, dtype=torch.float64, device=self.device)

    def signal_names(self):
        names = set(self.recordables) | set(self.rec_index)
        for ch, var in (("g_exc", "gsyn_exc"), ("g_inh", "gsyn_inh")):
            if any(r.channel == ch for r in self.receptors):
                names.add(var)
        return names

    def reset(self):
        self.bank.reset()
        if self.ring is not None:
            self.ring.reset()
        self.last = {"v": self.resting_v()}

    def synaptic_signal(self, name, rec):
        """``rec`` [..., n, R] -> [..., n] for a receptor name or gsyn_exc/gsyn_inh."""
        if name in self.rec_index:
            return rec[..., self.rec_index[name]]
        ch = {"gsyn_exc": "g_exc", "gsyn_inh": "g_inh"}[name]
        cols = [i for i, r in enumerate(self.receptors) if r.channel == ch]
        return rec[..., cols].sum(-1)


class SurrogateBatch:
    """The cell groups of one runtime, run in one call: group ids and their row ranges."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.groups, self.rows = [], []
        self.n_cells = 0
        self.state = None

    def add(self, gid, n):
        self.groups.append(gid)
        self.rows.append((self.n_cells, self.n_cells + n))
        self.n_cells += n

    def initial_state(self, groups):
        """Resting state of all rows; ``groups`` maps group id -> CellGroup."""
        if not getattr(self.runtime, "condition_names", ()):
            return self.runtime.initial_state(self.n_cells)
        conditions = {name: np.concatenate([groups[g].conditions[name] for g in self.groups])
                      for name in self.runtime.condition_names}
        return self.runtime.initial_state(self.n_cells, conditions)

    def update_conditions(self, gid, conditions):
        """Give the rows of group ``gid`` new conditioning values in the running state."""
        start, stop = self.rows[self.groups.index(gid)]
        self.state = self.runtime.with_conditions(self.state, slice(start, stop), conditions)
