"""A cell group: the cells of one surrogate type, as rows of one batched state."""

import numpy as np
import torch

from .checks import steps_of
from .synapses import SynapseBank


class CellGroup:
    """Cells of one surrogate type: rows of one batched state."""

    def __init__(self, runtime, n, receptors, taus, i_offset, dt, device):
        self.runtime, self.n, self.receptors, self.device = runtime, n, receptors, device
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
        self.bank = SynapseBank([r.kernel for r in receptors], taus, dt, device)
        M = np.zeros((len(receptors), len(self.channels)))
        for i, r in enumerate(receptors):
            M[i, self.channels.index(r.channel)] = 1.0
        self.mix = torch.as_tensor(M, dtype=torch.float64, device=device)
        self.i_col = self.channels.index("i_inj") if "i_inj" in self.channels else None
        self.set_i_offset(i_offset)
        self.ring = None
        self.currents = []

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
        self.last = {"v": torch.full((self.n,), float(self.runtime.v_rest),
                                     device=self.device)}

    def synaptic_signal(self, name, rec):
        """``rec`` [..., n, R] -> [..., n] for a receptor name or gsyn_exc/gsyn_inh."""
        if name in self.rec_index:
            return rec[..., self.rec_index[name]]
        ch = {"gsyn_exc": "g_exc", "gsyn_inh": "g_inh"}[name]
        cols = [i for i, r in enumerate(self.receptors) if r.channel == ch]
        return rec[..., cols].sum(-1)
