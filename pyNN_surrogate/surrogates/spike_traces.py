"""Exponential traces of a cell's own spikes, an input of a feedback surrogate.

An adapting cell's next spike depends on its spikes of the last hundreds of ms (the slow
variable of Izhikevich's or AdEx's model jumps at every spike and decays with its own time
constant). A feedback network sees its own spikes of the previous native step only, so it has
to carry that history in its LSTM state. These traces give it the history directly: for each
time constant ``tau_k``, ``trace_k`` jumps by 1 at every spike and decays with ``tau_k``. They
are computed from the network's own (discrete) spikes, so they are exact in closed loop, and
from the true spikes in training (teacher forcing), like the spike bins themselves.

The network sees ``asinh(trace_k / (tau_k * RATE_UNIT))``: about the cell's recent rate in
units of 50 Hz, compressed for bursts.
"""

import math

import torch
from torch import nn

RATE_UNIT = 0.05          # spikes per ms (50 Hz) that a trace reads as 1 before compression


class SpikeTraces(nn.Module):
    """Exponential spike traces with fixed time constants (no trainable parameters).

    Parameters
    ----------
    taus : sequence of float
        Time constants (ms), all > 0.
    substeps : int
        Output bins per native step (a spike is placed at the end of its bin).
    output_dt : float
        Output bin width (ms).
    """

    def __init__(self, taus, substeps, output_dt):
        super().__init__()
        taus = [float(t) for t in taus]
        if not taus or min(taus) <= 0 or not all(math.isfinite(t) for t in taus):
            raise ValueError(f"spike trace time constants must be positive, got {taus}")
        if output_dt <= 0:
            raise ValueError(f"output_dt must be positive, got {output_dt}")
        self.taus, self.output_dt = tuple(taus), float(output_dt)
        tau = torch.tensor(taus, dtype=torch.float32)
        lag = (substeps - 1 - torch.arange(substeps, dtype=torch.float32)) * output_dt
        # fixed by the constructor arguments, so not part of the saved weights
        self.register_buffer("decay", torch.exp(-substeps * output_dt / tau), persistent=False)
        self.register_buffer("bin_weight", torch.exp(-lag[:, None] / tau[None, :]),
                             persistent=False)                                # [S, K]
        self.register_buffer("scale", 1.0 / (RATE_UNIT * tau), persistent=False)

    def __len__(self):
        return len(self.taus)

    def step(self, spikes, seen):
        """Traces at the end of a native step, as the network sees them.

        Parameters
        ----------
        spikes : Tensor [n_cells, substeps]
            The step's spike bins (0/1).
        seen : Tensor [n_cells, K]
            The traces at the end of the previous step, as returned by this method.

        Returns
        -------
        Tensor [n_cells, K]
        """
        raw = torch.sinh(seen) / self.scale
        return torch.asinh((raw * self.decay + spikes @ self.bin_weight) * self.scale)

    def of_train(self, spike_bins):
        """Traces at the end of every step of whole spike trains.

        Parameters
        ----------
        spike_bins : Tensor [n, n_steps, substeps]

        Returns
        -------
        Tensor [n, n_steps, K], as :meth:`step` would give step by step from zero traces.
        """
        jumps = spike_bins @ self.bin_weight                             # [n, T, K]
        raw = torch.empty_like(jumps)
        current = jumps.new_zeros(jumps.shape[0], jumps.shape[2])
        for t in range(jumps.shape[1]):
            current = current * self.decay + jumps[:, t]
            raw[:, t] = current
        return torch.asinh(raw * self.scale)
