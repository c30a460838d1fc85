"""The surrogate network: streaming causal Conv1d front end, LSTM, linear read-out.

One native step in, ``substeps`` output bins out. The network sees the (normalised) drive, and
optionally its own spikes of the previous step (``feedback``) and exponential traces of all its
earlier spikes (``spike_traces``, see :mod:`.spike_traces`). Everything here is in normalised
units; :mod:`.runtime` converts to PyNN units.

Outputs per native step and bin: the *analog* outputs (v first, then ``n_extra`` further
recordables such as dendritic v, calcium or the dipole of a detailed cell) and one spike logit.
Analog tensors are ``[n_steps, n_cells, (1 + n_extra) * substeps]``, output-major: output ``k``
is ``[..., k * substeps:(k + 1) * substeps]``; with ``n_extra = 0`` that is just v.

A conditioned network (cell parameters as its last ``film`` inputs) may also let those
parameters scale and shift the convolution's features (``film``, feature-wise linear
modulation): ``z = tanh(conv) * (1 + gamma(p)) + beta(p)`` with ``gamma, beta`` linear in the
parameters ``p``. The parameters then change how the drive enters the LSTM, not only add to it.

State layout (dim 1, or dim 0 for 1-D tensors, indexes cells)::

    buf   [kernel - 1, n_cells, n_inputs]   last input frames seen by the causal convolution
    h, c  [1, n_cells, hidden]              LSTM state
    above [n_cells] (bool)                  the previous native step's top spike logit was
                                            above threshold (see :func:`detect_spikes`)
"""

import torch
from torch import nn

from .inference import packed_for
from .spike_traces import SpikeTraces


SMALL_BATCH = 200   # below this many cells a closed-loop step uses torch.lstm_cell


class SurrogateNet(nn.Module):
    """Causal-conv + LSTM surrogate of one cell type.

    Parameters
    ----------
    n_inputs : int
        Input features per native step: drive channels x drive bins per native step
        (``native_dt / drive_dt``; see :func:`.runtime.fold_drive`).
    substeps : int
        Output bins per native step.
    conv_channels : int
        Channels of the causal convolution.
    kernel : int
        Kernel length of the causal convolution, in native steps.
    hidden : int
        LSTM hidden units.
    feedback : bool
        The network also sees its own spikes: input frame ``t`` ends with the ``substeps``
        spike bins of native step ``t - 1`` (see :meth:`run_closed_loop`). Trained with the
        true spikes in their place (teacher forcing).
    n_extra : int
        Analog outputs besides v (see the module docstring).
    spike_traces : sequence of float, optional
        Time constants (ms) of exponential traces of the network's own spikes, fed back
        after the spike bins (needs ``feedback`` and ``output_dt``; see :mod:`.spike_traces`).
    output_dt : float, optional
        Output bin width (ms); needed with ``spike_traces``.
    film : int
        The last ``film`` drive inputs (the conditions of a conditioned surrogate) also
        modulate the convolution's features (see the module docstring); 0: off.
    """

    def __init__(self, n_inputs, substeps, conv_channels=32, kernel=3, hidden=64,
                 feedback=False, n_extra=0, spike_traces=(), output_dt=None, film=0):
        super().__init__()
        if not 0 <= int(film) <= n_inputs:
            raise ValueError(f"film must be between 0 and n_inputs ({n_inputs}), got {film}")
        self.n_inputs = n_inputs
        self.substeps = substeps
        self.kernel = kernel
        self.hidden = hidden
        self.feedback = bool(feedback)
        if int(n_extra) < 0:
            raise ValueError(f"n_extra must be >= 0, got {n_extra}")
        self.n_extra = int(n_extra)
        self.traces = None
        if spike_traces:
            if not self.feedback or output_dt is None:
                raise ValueError("spike_traces need feedback=True and output_dt")
            self.traces = SpikeTraces(spike_traces, substeps, float(output_dt))
        # fed-back features per step: spike bins, then the spike traces
        n_traces = len(self.traces) if self.traces is not None else 0
        self.n_fed = substeps + n_traces if self.feedback else 0
        self.n_frame = n_inputs + self.n_fed
        self.conv = nn.Conv1d(self.n_frame, conv_channels, kernel)
        self.lstm = nn.LSTM(conv_channels, hidden)
        # read-out layout: v bins, spike-logit bins, then the extra outputs' bins
        self.readout = nn.Linear(hidden, (2 + self.n_extra) * substeps)
        self.film = None
        if film:                # starts as the identity: gamma = beta = 0
            self.film = nn.Linear(int(film), 2 * conv_channels)
            nn.init.zeros_(self.film.weight)
            nn.init.zeros_(self.film.bias)

    def config(self):
        """Constructor arguments, for the cell-type card."""
        cfg = dict(n_inputs=self.n_inputs, substeps=self.substeps,
                   conv_channels=self.conv.out_channels, kernel=self.kernel,
                   hidden=self.hidden)
        if self.feedback:
            cfg["feedback"] = True
        if self.n_extra:
            cfg["n_extra"] = self.n_extra
        if self.traces is not None:
            cfg["spike_traces"] = list(self.traces.taus)
            cfg["output_dt"] = self.traces.output_dt
        if self.film is not None:
            cfg["film"] = self.film.in_features
        return cfg

    def modulation(self, x):
        """Feature scale ``1 + gamma`` and shift ``beta`` [..., F] from the conditions at the
        end of the drive inputs of ``x`` [..., >= n_inputs]; ``None`` without ``film``."""
        if self.film is None:
            return None
        n_in, n_film = self.n_inputs, self.film.in_features
        out = self.film(x[..., n_in - n_film:n_in])
        gamma, beta = out.chunk(2, dim=-1)
        return 1.0 + gamma, beta

    def next_fed(self, spikes, fed):
        """Fed-back features of the next step from this step's spike bins ``[N, substeps]``
        (0/1) and this step's fed features ``fed`` ``[N, n_fed]``."""
        if self.traces is None:
            return spikes
        return torch.cat([spikes, self.traces.step(spikes, fed[:, self.substeps:])], dim=-1)

    def teacher_fed(self, spike_bins):
        """Teacher-forcing input of a feedback network: the fed-back features every step
        would see had the network spiked as ``spike_bins`` [n, n_steps, substeps] (float
        0/1) -> [n, n_steps, n_fed]: step ``t`` holds step ``t - 1``'s (zeros at step 0)."""
        fed = spike_bins
        if self.traces is not None:
            fed = torch.cat([spike_bins, self.traces.of_train(spike_bins)], dim=-1)
        return torch.cat([torch.zeros_like(fed[:, :1]), fed[:, :-1]], dim=1)

    def split_readout(self, out):
        """Read-out ``[..., (2 + n_extra) * S]`` -> (analog ``[..., (1 + n_extra) * S]``,
        logits ``[..., S]``)."""
        s = self.substeps
        if not self.n_extra:
            return out[..., :s], out[..., s:2 * s]
        return torch.cat([out[..., :s], out[..., 2 * s:]], dim=-1), out[..., s:2 * s]

    def zero_state(self, n_cells, device=None, dtype=torch.float32):
        """All-zero state for ``n_cells`` cells (not the resting state)."""
        kw = dict(device=device, dtype=dtype)
        return (torch.zeros(self.kernel - 1, n_cells, self.n_frame, **kw),
                torch.zeros(1, n_cells, self.hidden, **kw),
                torch.zeros(1, n_cells, self.hidden, **kw),
                torch.zeros(n_cells, dtype=torch.bool, device=device))

    def _causal_conv(self, xx):
        """The causal convolution as one matrix product over time-major frames.

        ``xx`` [k-1+T, N, C] -> [T, N, F]; identical to ``self.conv`` on ``[N, C, k-1+T]``
        but without the two layout copies, which dominate for short windows of many cells.
        """
        k, T = self.kernel, xx.shape[0] - self.kernel + 1
        frames = torch.cat([xx[j:j + T] for j in range(k)], dim=-1)       # [T, N, k*C]
        weight = self.conv.weight.permute(2, 1, 0).reshape(k * xx.shape[-1], -1)
        out = torch.addmm(self.conv.bias, frames.reshape(-1, frames.shape[-1]), weight)
        return out.view(T, xx.shape[1], -1)

    def forward(self, x, state):
        """Run a sequence of native steps.

        Parameters
        ----------
        x : Tensor [n_steps, n_cells, n_inputs]
            Normalised drive.
        state : tuple
            See the module docstring; the spike flag is passed through untouched.

        Returns
        -------
        v : Tensor [n_steps, n_cells, (1 + n_extra) * substeps]
            Normalised v (and the extra outputs) at the end of every output bin.
        logits : Tensor [n_steps, n_cells, substeps]
            Spike logit of every output bin.
        state : tuple
            State after the last step.
        """
        buf, h, c, last = state
        xx = torch.cat([buf, x], dim=0)                       # [k-1+T, N, C]
        z = torch.tanh_(self._causal_conv(xx))                # [T, N, F]
        mod = self.modulation(x)
        if mod is not None:
            z = z * mod[0] + mod[1]
        y, (h, c) = self.lstm(z, (h, c))
        analog, logits = self.split_readout(self.readout(y))
        new_buf = xx[xx.shape[0] - (self.kernel - 1):]
        return analog, logits, (new_buf, h, c, last)

    def run_closed_loop(self, x, state, fed, threshold):
        """Step a feedback network, feeding every step's detected spikes into the next.

        Parameters
        ----------
        x : Tensor [n_steps, n_cells, n_inputs]
            Normalised drive (and conditions), without the feedback bins.
        state : tuple
            As for :meth:`forward`; its spike flag is used and updated here.
        fed : Tensor [n_cells, n_fed]
            Fed-back features of the step before ``x[0]`` (spike bins, then spike traces).
        threshold : float

        Returns
        -------
        v : Tensor [n_steps, n_cells, (1 + n_extra) * substeps]
        logits : Tensor [n_steps, n_cells, substeps]
        spikes : Tensor [n_steps, n_cells, substeps] (bool)
        state : tuple
        fed : Tensor [n_cells, n_fed]
        """
        buf, h, c, above = state
        k, n_in, s = self.kernel, self.n_inputs, self.substeps
        n_steps, n_cells = x.shape[0], x.shape[1]
        # The convolution is linear: its drive part is one matrix product for all steps,
        # only the fed-back part is added step by step.
        drive = torch.cat([buf[..., :n_in], x], dim=0)                     # [k-1+T, N, C]
        frames = torch.cat([drive[j:j + n_steps] for j in range(k)], dim=-1)
        frames = frames.reshape(n_steps * n_cells, -1)
        mod = self.modulation(x)
        if torch.is_grad_enabled() or n_cells < SMALL_BATCH:
            step, pre, h, c = self._autograd_stepper(frames, h, c)
        else:                           # inference: the same step, sigmoid-only kernels
            packed = packed_for(self)
            step, pre = packed.stepper(n_cells, x), packed.drive_part(frames)
            mod = packed.modulation_terms(mod)
            h, c = h[0].clone(), c[0].clone()
        pre = pre.view(n_steps, n_cells, -1)
        fed_parts = [buf[j, :, n_in:] for j in range(k - 1)]
        v = x.new_empty(n_steps, n_cells, (1 + self.n_extra) * s)
        logits = x.new_empty(n_steps, n_cells, s)
        spikes = torch.empty(n_steps, n_cells, s, dtype=torch.bool, device=x.device)
        bins = torch.arange(s, device=x.device)
        fed = fed.to(x.dtype)
        for t in range(n_steps):
            fed_parts.append(fed)
            out, h, c = step(pre[t], torch.cat(fed_parts[len(fed_parts) - k:], -1), h, c,
                             None if mod is None else (mod[0][t], mod[1][t]))
            v[t], logits[t] = self.split_readout(out)
            # detect_spikes for one step, with fewer tensor operations
            top, idx = logits[t].max(dim=-1)
            over = top > threshold
            torch.logical_and(bins == idx.unsqueeze(-1), (over & ~above).unsqueeze(-1),
                              out=spikes[t])
            above, fed = over, self.next_fed(spikes[t].to(x.dtype), fed)
        if h.dim() == 2:
            h, c = h.unsqueeze(0), c.unsqueeze(0)
        keep = fed_parts[len(fed_parts) - (k - 1):] if k > 1 else []
        new_buf = torch.cat([drive[drive.shape[0] - (k - 1):],
                             torch.stack(keep) if keep
                             else drive.new_zeros(0, n_cells, self.n_fed)],
                            dim=-1)
        return v, logits, spikes, (new_buf, h, c, above), fed

    def _autograd_stepper(self, frames, h, c):
        """The closed-loop step with the training modules (differentiable): ``step(pre_t,
        fed_frames, h, c, mod_t) -> (out, h, c)`` (``mod_t``: this step's feature scale and
        shift, or ``None``), plus the drive part of the convolution."""
        k, n_in = self.kernel, self.n_inputs
        if torch.is_grad_enabled():
            weight = self.conv.weight.permute(2, 1, 0)                      # [k, frame, F]
            w_drive = weight[:, :n_in].reshape(k * n_in, -1)
            w_fed = weight[:, n_in:].reshape(-1, weight.shape[-1])
        else:                           # the same matrices, laid out once per weight update
            packed = packed_for(self)
            w_drive, w_fed = packed.conv_drive, packed.conv_fed
        pre = torch.addmm(self.conv.bias, frames, w_drive)
        w_out, b_out = self.readout.weight.t(), self.readout.bias
        lstm_weights = self.lstm._flat_weights
        small = h.shape[1] < SMALL_BATCH
        if small:
            h, c = h[0], c[0]

        def step(pre_t, fed_frames, h, c, mod_t=None):
            z = torch.tanh_(torch.addmm(pre_t, fed_frames, w_fed))
            if mod_t is not None:
                z = z * mod_t[0] + mod_t[1]
            if small:                   # the same step; the cell kernel is faster here
                h, c = torch.lstm_cell(z, (h, c), *lstm_weights)          # [N, H]
                y = h
            else:
                y, h, c = torch.lstm(z.unsqueeze(0), (h, c), lstm_weights, True, 1, 0.0, False,
                                     False, False)              # = self.lstm, less overhead
                y = y[0]
            return torch.addmm(b_out, y, w_out), h, c

        return step, pre, h, c


def detect_spikes(logits, above, threshold):
    """Spike bins from logits: one spike per threshold crossing, no host synchronisation.

    Per native step, take the highest bin logit. A step spikes (in that bin) when its highest
    logit exceeds ``threshold`` and the previous step's did not: a spike needs the logit to
    fall below threshold again before the next one (refractoriness, at most one spike per
    supra-threshold episode). The rule needs only one carried flag per cell, so sequence and
    step-by-step evaluation agree exactly.

    Parameters
    ----------
    logits : Tensor [n_steps, n_cells, substeps]
    above : Tensor [n_cells] (bool)
        Whether the step before ``logits[0]`` was above threshold.
    threshold : float

    Returns
    -------
    spikes : Tensor [n_steps, n_cells, substeps] (bool)
    above : Tensor [n_cells] (bool)
        Carried flag for the next call.
    """
    s = logits.shape[-1]
    top, idx = logits.max(dim=-1)
    over = top > threshold
    prev = torch.cat([above.unsqueeze(0), over[:-1]], dim=0)
    fire = over & ~prev
    spikes = nn.functional.one_hot(idx, s).bool() & fire.unsqueeze(-1)
    return spikes, over[-1] if over.shape[0] else above


def flatten_bins(x):
    """[n_steps, n_cells, substeps] -> [n_steps * substeps, n_cells] (time-major)."""
    t, n, s = x.shape
    return x.permute(0, 2, 1).reshape(t * s, n)
