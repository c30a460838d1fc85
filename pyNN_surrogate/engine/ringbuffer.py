"""Delay ring buffer of one cell group: ``[slots, n_cells, n_receptors]``.

Slot ``s % slots`` holds the summed weights arriving at absolute dt-step ``s``.
A window ``[s0, s0 + K)`` is read (and cleared) in one call; routing adds into
future slots.  ``slots >= max_delay_steps + 2 * K_max`` so that a write never
wraps onto a slot that has not been read yet.
"""

import torch


class RingBuffer:
    """Per-group delay buffer.

    Parameters
    ----------
    n_cells, n_receptors, slots : int
    device : torch.device
    dtype : torch.dtype
    """

    def __init__(self, n_cells, n_receptors, slots, device, dtype=torch.float32):
        self.n_cells = n_cells
        self.n_receptors = n_receptors
        self.slots = int(slots)
        self.device = device
        self.buf = torch.zeros(self.slots, n_cells, n_receptors, dtype=dtype, device=device)
        self._flat = self.buf.view(-1)
        self._arange = torch.arange(self.slots, device=device)

    @property
    def slot_stride(self):
        """Number of elements per slot in the flat view."""
        return self.n_cells * self.n_receptors

    def reset(self):
        """Clear every pending arrival."""
        self.buf.zero_()

    def read_window(self, step0, K):
        """Return arrivals for steps ``[step0, step0+K)`` ([K, n, R]) and clear them."""
        idx = (self._arange[:K] + step0) % self.slots
        out = self.buf.index_select(0, idx)
        self.buf.index_fill_(0, idx, 0.0)
        return out

    def add_flat(self, flat_idx, values):
        """Accumulate ``values`` at flat positions, deterministically.

        On CUDA ``index_put_(accumulate=True)`` uses a sort-based kernel (its
        sum order does not depend on thread scheduling); on CPU that op may be
        multithreaded, whereas ``index_add_`` is a serial, ordered loop.
        """
        idx = flat_idx.reshape(-1)
        val = values.reshape(-1).to(self.buf.dtype)
        if self.device.type == "cuda":
            self._flat.index_put_((idx,), val, accumulate=True)
        else:
            self._flat.index_add_(0, idx, val)
