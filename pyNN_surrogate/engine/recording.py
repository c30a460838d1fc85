"""Recorders: analog signals and spikes, kept on the device until read.

Signals are sampled at ``0, si, 2 si, ...`` (``si`` a multiple of dt) from the
time recording started up to and including the current time.  Samples inside
computed windows go to a preallocated device buffer (grown before a run, never
inside the window loop); the sample at the current time ``t`` is not stored
but computed from the current state when the data are read, so that a later
run does not duplicate it.

Spikes are staged per window on the device as boolean bin tensors (cells) or
NaN-padded time tensors (sources), with no host synchronisation; every ``compress_every`` windows the stage is
compressed to (time, cell) pairs with one ``nonzero`` (one host sync per
``compress_every`` windows).
"""

import math

import numpy as np
import torch


class SignalRecorder:
    """Samples of one variable of one group for the recorded cells.

    Parameters
    ----------
    idx : ndarray [n_rec] int
        Recorded cells (sorted, unique).
    si_steps : int
        Sampling interval in dt steps.
    start_step : int
        First step at which samples are taken.
    resolution : float or None
        ``output_dt / dt`` for variables produced per output bin (linear
        interpolation between bin ends), or None for dt-resolution variables.
    device : torch.device
    """

    def __init__(self, idx, si_steps, start_step, resolution, device):
        self.idx_host = np.asarray(idx, dtype=np.int64)
        self.idx = torch.as_tensor(self.idx_host, device=device)
        self.si_steps = int(si_steps)
        self.start_step = int(start_step)
        self.resolution = resolution
        self.device = device
        self.buf = torch.zeros(0, len(self.idx_host), dtype=torch.float32, device=device)
        self.count = 0
        self._cache = {}

    def reserve(self, n_more):
        """Make room for ``n_more`` samples (called before a run)."""
        need = self.count + n_more
        if need > self.buf.shape[0]:
            new = torch.zeros(max(need, 2 * self.buf.shape[0]), self.buf.shape[1],
                              dtype=self.buf.dtype, device=self.device)
            new[:self.count] = self.buf[:self.count]
            self.buf = new

    def clear(self, step_now):
        """Drop the data; recording goes on from ``step_now``."""
        self.count = 0
        self.start_step = step_now

    def _pattern(self, step0, K):
        k0 = (-step0) % self.si_steps
        first = max(k0, self.start_step - step0)
        if first > k0:   # align on the sampling grid after start_step
            first = k0 + math.ceil((first - k0) / self.si_steps) * self.si_steps
        ks = tuple(range(first, K, self.si_steps))
        if ks not in self._cache:
            k = torch.as_tensor(ks, dtype=torch.long, device=self.device)
            if self.resolution is None:
                self._cache[ks] = (k, None, None)
            else:
                pos = np.asarray(ks, dtype=float) / self.resolution
                a = np.floor(pos + 1e-9)
                frac = np.clip(pos - a, 0.0, 1.0)
                self._cache[ks] = (k, torch.as_tensor(a, dtype=torch.long, device=self.device),
                                   torch.as_tensor(frac, dtype=torch.float32,
                                                   device=self.device))
        return self._cache[ks]

    def n_samples(self, step0, K):
        """Number of samples a window ``[step0, step0+K)`` contributes (host only)."""
        return len(self._pattern(step0, K)[0])

    def sample_window(self, step0, K, values):
        """Store the samples of one window.

        ``values`` is [K, n_cells] (dt resolution) or [n_bins+1, n_cells] (bin
        ends, row 0 = value at the window start) for interpolated variables.
        """
        k, a, frac = self._pattern(step0, K)
        n = len(k)
        if n == 0:
            return
        cols = values.index_select(1, self.idx)
        if a is None:
            samp = cols.index_select(0, k)
        else:
            lo = cols.index_select(0, a)
            hi = cols.index_select(0, torch.clamp(a + 1, max=cols.shape[0] - 1))
            f = frac[:, None]
            samp = lo * (1 - f) + hi * f
        self.buf[self.count:self.count + n] = samp.to(self.buf.dtype)
        self.count += n

    def get(self, step_now, current):
        """Samples so far (+ the one at ``step_now`` from ``current`` [n_cells])."""
        data = self.buf[:self.count]
        if step_now % self.si_steps == 0 and step_now >= self.start_step and current is not None:
            data = torch.cat([data, current.index_select(0, self.idx)[None].to(data.dtype)])
        return data.cpu().numpy().copy()


class SpikeRecorder:
    """Spike times of the recorded cells of one group.

    Parameters
    ----------
    idx : ndarray [n_rec] int
    n_cells : int
    device : torch.device
    compress_every : int
    """

    def __init__(self, idx, n_cells, device, compress_every=32):
        self.idx_host = np.asarray(idx, dtype=np.int64)
        self.idx = torch.as_tensor(self.idx_host, device=device)
        mask = np.zeros(n_cells, dtype=bool)
        mask[self.idx_host] = True
        self.mask = torch.as_tensor(mask, device=device)
        self.device = device
        self.compress_every = compress_every
        self.clear()

    def clear(self):
        self._stage = []
        self._times = []
        self._cells = []

    def add_dense(self, times):
        """``times`` [rows, n_cells] float64, NaN where no spike."""
        self._stage.append(("dense", times.index_select(1, self.idx)))
        self._maybe_compress()

    def add_bins(self, spikes, times):
        """``spikes`` [rows, n_cells] bool for bins at ``times`` [rows] float64 (ms)."""
        self._stage.append(("bins", spikes.index_select(1, self.idx), times))
        self._maybe_compress()

    def add_events(self, times, cells):
        """Spike events (float64 times, int64 cell indices), possibly unrecorded cells."""
        self._stage.append(("events", times, cells))
        self._maybe_compress()

    def _maybe_compress(self):
        if len(self._stage) >= self.compress_every:
            self.compress()

    def compress(self):
        """Turn the staged windows into (time, cell) pairs (one host sync)."""
        dense = [s[1] for s in self._stage if s[0] == "dense"]
        if dense:
            t = torch.cat(dense, 0)
            r, c = torch.nonzero(~torch.isnan(t), as_tuple=True)
            self._times.append(t[r, c])
            self._cells.append(self.idx[c])
        for _, spikes, times in (s for s in self._stage if s[0] == "bins"):
            r, c = torch.nonzero(spikes, as_tuple=True)
            self._times.append(times[r])
            self._cells.append(self.idx[c])
        ev = [s for s in self._stage if s[0] == "events"]
        if ev:
            times = torch.cat([s[1] for s in ev])
            cells = torch.cat([s[2] for s in ev])
            keep = self.mask[cells]
            self._times.append(times[keep])
            self._cells.append(cells[keep])
        self._stage = []

    def get(self):
        """dict cell index -> sorted ndarray of spike times (ms)."""
        self.compress()
        if self._times:
            times = torch.cat(self._times).cpu().numpy()
            cells = torch.cat(self._cells).cpu().numpy()
        else:
            times, cells = np.zeros(0), np.zeros(0, dtype=np.int64)
        order = np.lexsort((times, cells))
        times, cells = times[order], cells[order]
        bounds = np.searchsorted(cells, self.idx_host, "left"), \
            np.searchsorted(cells, self.idx_host, "right")
        return {int(i): times[lo:hi].copy() for i, lo, hi in zip(self.idx_host, *bounds)}
