"""Routing of one window's spikes through a projection into a ring buffer.

Memory is O(synapses).  For static synapses the projection is compressed to
*rows*, one per distinct (delay, post-cell) pair, and stored as a CSR matrix
``W [n_rows, n_pre]`` (duplicate synapses summed).  For a window with spike
counts ``S [n_pre, K]``::

    out = W @ S                          # [n_rows, K]   (sparse x dense)
    Y[D_row - D_min + k, post_row] += out[row, k]      # K index_adds, unique indices
    ring[(step0 + D_min + o) % slots, :, receptor] += Y[o, :]

so the per-window work is O(nnz * K) with no Python loop over synapses or
delays and no host synchronisation.  Every scatter has unique indices (or uses
the deterministic accumulate on CUDA), so results are bit-reproducible.

On the CPU, where reading a tensor on the host costs nothing, static and
per-presynaptic-TM projections use an event-driven path instead: the spiking
(pre, slot) pairs are found with ``nonzero`` and only their outgoing synapses
(a CSR-by-presynaptic-cell index) are scattered, so the work is
O(spikes * fan-out) rather than O(nnz * K).  Both paths give the same sums,
accumulated in a fixed order.

Tsodyks-Markram projections multiply the spike counts by the efficacy
``x*u``: per presynaptic neuron before the product (homogeneous parameters),
or per synapse (then rows are synapses and the efficacy-weighted values are
scattered directly).
"""

import warnings

import numpy as np
import torch

from .tsodyks_markram import TsodyksMarkramState


def _csr(rows, cols, vals, shape, device):
    """Build a float32 CSR matrix from COO numpy arrays (rows sorted here)."""
    order = np.lexsort((cols, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    crow = np.zeros(shape[0] + 1, dtype=np.int64)
    np.add.at(crow, rows + 1, 1)
    crow = np.cumsum(crow)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.sparse_csr_tensor(
            torch.as_tensor(crow, device=device), torch.as_tensor(cols, dtype=torch.int64,
                                                                  device=device),
            torch.as_tensor(vals, dtype=torch.float32, device=device), size=shape)


def _accumulate(flat, idx, vals, unique):
    """``flat[idx] += vals``, deterministic on every device."""
    if unique or flat.device.type != "cuda":
        flat.index_add_(0, idx, vals)
    else:
        flat.index_put_((idx,), vals, accumulate=True)


class Projection:
    """Connections from one group to one receptor of a cell group.

    Parameters
    ----------
    pre_group, post_group : int
    n_pre, n_post : int
        Sizes of the pre and post groups.
    pre_idx, post_idx : ndarray [n_syn] int
    receptor : int
        Receptor column in the post group's ring buffer.
    weight : ndarray [n_syn]
    delay_steps : ndarray [n_syn] int
    tm : dict of ndarray [n_syn] or None
        ``U``, ``tau_rec``, ``tau_facil``, ``tau_syn`` for Tsodyks-Markram.
    dt : float
    device : torch.device
    """

    def __init__(self, pre_group, post_group, n_pre, n_post, pre_idx, post_idx, receptor,
                 weight, delay_steps, tm, dt, device):
        self.pre_group, self.post_group = pre_group, post_group
        self.n_pre, self.n_post = n_pre, n_post
        self.pre_idx = np.asarray(pre_idx, dtype=np.int64)
        self.post_idx = np.asarray(post_idx, dtype=np.int64)
        self.receptor = receptor
        self.weight = np.asarray(weight, dtype=float)
        self.delay_steps = np.asarray(delay_steps, dtype=np.int64)
        self.tm = tm
        self.dt = dt
        self.device = device
        self.tm_state = None
        self.per_synapse = False
        self.slots = None
        self.build()

    @property
    def n_synapses(self):
        return len(self.pre_idx)

    def tm_homogeneous(self):
        """True when every TM parameter (and tau_syn) is the same for all synapses."""
        return all(np.all(v == v[0]) for v in self.tm.values()) if self.n_synapses else True

    def build(self):
        """(Re)build the device structures from the host arrays (TM state kept/converted)."""
        dev = self.device
        D = self.delay_steps
        self.d_min = int(D.min()) if len(D) else 0
        self.d_span = int(D.max()) - self.d_min + 1 if len(D) else 1
        if self.tm is not None:
            per_syn = self.per_synapse or not self.tm_homogeneous()
            params = [self.tm[k] for k in ("U", "tau_rec", "tau_facil", "tau_syn")]
            if per_syn:
                old = self.tm_state
                self.tm_state = TsodyksMarkramState(*params, self.dt, dev)
                if old is not None and not self.per_synapse:   # per-pre -> per-synapse
                    gather = torch.as_tensor(self.pre_idx, device=dev)
                    for name in ("y", "z", "u", "t_last"):
                        setattr(self.tm_state, name, getattr(old, name)[gather].clone())
                elif old is not None:
                    for name in ("y", "z", "u", "t_last"):
                        setattr(self.tm_state, name, getattr(old, name))
                self.per_synapse = True
            else:
                first = [np.full(self.n_pre, p[0] if len(p) else 1.0) for p in params]
                if self.tm_state is None:
                    self.tm_state = TsodyksMarkramState(*first, self.dt, dev)
                else:
                    self.tm_state.set_params(*first)
        if self.per_synapse:
            self._w_syn = torch.as_tensor(self.weight, dtype=torch.float32, device=dev)
            self._pre_t = torch.as_tensor(self.pre_idx, device=dev)
            self._row_base = torch.as_tensor((D - self.d_min) * self.n_post + self.post_idx,
                                             device=dev)
            self._unique = False
            self._W = None
        else:
            key = D * self.n_post + self.post_idx
            ukeys, row = np.unique(key, return_inverse=True)
            self._W = _csr(row.reshape(-1), self.pre_idx, self.weight,
                           (len(ukeys), self.n_pre), dev)
            u_d, u_post = np.divmod(ukeys, self.n_post) if self.n_post else (ukeys, ukeys)
            self._row_base = torch.as_tensor((u_d - self.d_min) * self.n_post + u_post,
                                             device=dev)
            self._unique = True
        self._clamp_cache = {}
        # CSR by presynaptic cell for the CPU event-driven path
        order = np.argsort(self.pre_idx, kind="stable")
        counts = np.bincount(self.pre_idx, minlength=self.n_pre)
        self._ev_ptr = torch.as_tensor(np.concatenate([[0], np.cumsum(counts)]), device=dev)
        self._ev_w = torch.as_tensor(self.weight[order], dtype=torch.float32, device=dev)
        self._ev_d = torch.as_tensor(D[order], device=dev)
        self._ev_post = torch.as_tensor(self.post_idx[order], device=dev)

    def reset(self):
        """Reset the Tsodyks-Markram state."""
        if self.tm_state is not None:
            self.tm_state.reset()

    def _clamp_matrix(self, K):
        """Matrix folding offsets < K (already computed) onto offset K, or None."""
        if self.d_min >= K:
            return None
        if K not in self._clamp_cache:
            O = self.d_span + K - 1
            src = np.arange(O) + self.d_min
            dst = np.maximum(src, K) - self.d_min
            M = np.zeros((O, O), dtype=np.float32)
            M[dst, np.arange(O)] = 1.0
            self._clamp_cache[K] = torch.as_tensor(M, device=self.device)
        return self._clamp_cache[K]

    def route(self, spikes_t, step0, ring, clamp):
        """Deliver one window's spikes.

        Parameters
        ----------
        spikes_t : Tensor [n_pre, K] float32
            Spike counts per presynaptic cell and dt-slot.
        step0 : int
            Absolute dt-step of the window start.
        ring : RingBuffer
            Ring buffer of the post group.
        clamp : bool
            If True, arrivals that would fall before ``step0 + K`` (inside the
            window already computed) are delivered at ``step0 + K``.
        """
        if self.n_synapses == 0:
            return
        K = spikes_t.shape[1]
        if self.device.type == "cpu" and not self.per_synapse:
            return self._route_events(spikes_t, step0, ring, clamp)
        O = self.d_span + K - 1
        if self.tm_state is not None:
            if self.per_synapse:
                units = spikes_t.index_select(0, self._pre_t)
                vals = self.tm_state.efficacies(units, step0) * self._w_syn[:, None]
            else:
                eff = self.tm_state.efficacies(spikes_t, step0)
                vals = self._W @ eff
        else:
            vals = self._W @ spikes_t
        Y = torch.zeros(O * self.n_post, dtype=torch.float32, device=self.device)
        for k in range(K):
            _accumulate(Y, self._row_base + k * self.n_post, vals[:, k].contiguous(),
                        self._unique)
        Y = Y.view(O, self.n_post)
        M = self._clamp_matrix(K) if clamp else None
        if M is not None:
            Y = M @ Y
        slots = (torch.arange(O, device=self.device) + (step0 + self.d_min)) % ring.slots
        ring.buf[:, :, self.receptor].index_add_(0, slots, Y)

    def _route_events(self, spikes_t, step0, ring, clamp):
        """Event-driven delivery (CPU): only the synapses of spiking cells are touched."""
        K = spikes_t.shape[1]
        if self.tm_state is not None:
            spikes_t = self.tm_state.efficacies(spikes_t, step0)
        pre, k = torch.nonzero(spikes_t, as_tuple=True)
        if pre.numel() == 0:
            return
        scale = spikes_t[pre, k]
        start = self._ev_ptr[pre]
        lengths = self._ev_ptr[pre + 1] - start
        total = int(lengths.sum())
        if total == 0:
            return
        first = torch.cumsum(lengths, 0) - lengths
        pos = torch.arange(total, device=self.device) - first.repeat_interleave(lengths, 0,
                                                                              output_size=total)
        syn = start.repeat_interleave(lengths, 0, output_size=total) + pos
        off = k.repeat_interleave(lengths, 0, output_size=total) + self._ev_d[syn]
        if clamp:
            off = torch.clamp(off, min=K)
        vals = self._ev_w[syn] * scale.repeat_interleave(lengths, 0, output_size=total)
        flat = ((off + step0) % ring.slots) * ring.slot_stride \
            + self._ev_post[syn] * ring.n_receptors + self.receptor
        ring.add_flat(flat, vals)
