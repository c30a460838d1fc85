"""SurrogateRuntime: the batched, streaming surrogate the engine calls (see
docs/architecture.md, "Surrogate runtime")."""

import numpy as np
import torch

from .conditioning import (cell_frames, condition_entries, condition_frames,
                           denormalise_conditions, normalise_conditions)
from .model import SurrogateNet, detect_spikes, flatten_bins

SETTLE_CHUNK = 2000      # native steps per settling chunk
SETTLE_MAX_CHUNKS = 50
SETTLE_TOL = 1e-7        # max abs change of the state over one chunk that counts as settled
SETTLE_ROWS = 512        # distinct parameter sets settled per call (bounds the memory)
# Output transforms a card may declare: name -> (forward for training data, inverse at run time)
OUTPUT_TRANSFORMS = {"log": (np.log, torch.exp)}


def normalise(drive, scales):
    """Normalise drive in PyNN units: ``asinh(drive / scale)`` per channel."""
    return torch.asinh(drive / scales)


def drive_per_step(card):
    """Drive bins per native step: ``native_dt / drive_dt`` (1 when the card has no
    ``drive_dt``, i.e. one step-averaged drive sample per native step)."""
    native_dt = float(card["native_dt"])
    drive_dt = float(card.get("drive_dt") or native_dt)
    r = native_dt / drive_dt
    if abs(r - round(r)) > 1e-6 or round(r) < 1:
        raise ValueError(f"drive_dt {drive_dt} ms does not divide native_dt {native_dt} ms")
    return int(round(r))


def fold_drive(x, per_step):
    """[n_steps * per_step, n_cells, C] -> [n_steps, n_cells, per_step * C].

    Input feature ``j * C + c`` of native step ``n`` is channel ``c`` of drive bin ``j``
    of the step (the same layout as ``x.reshape(n, n_steps, per_step * C)`` for
    trial-major training data ``[n, n_steps * per_step, C]``).
    """
    if per_step == 1:
        return x
    t, n, c = x.shape
    if t % per_step:
        raise ValueError(f"drive has {t} bins, not a multiple of {per_step} per native step")
    return x.reshape(t // per_step, per_step, n, c).permute(0, 2, 1, 3).reshape(
        t // per_step, n, per_step * c)


class SurrogateRuntime:
    """Batched streaming evaluation of one cell type's surrogate on one device.

    Parameters
    ----------
    net : SurrogateNet
        Network with trained weights (moved to ``device``/``dtype`` here).
    card : dict
        The cell type's card (normalisation, output scaling, spike threshold).
    device : str or torch.device
    dtype : torch.dtype

    Attributes
    ----------
    v_rest : float
        Resting membrane potential (mV) of the surrogate: v after settling on zero drive.
    substeps, n_channels : int
    native_dt, output_dt : float (ms)
    drive_dt : float (ms)
        Width of the drive bins ``run`` expects (``native_dt`` for cards without
        ``drive_dt``); the engine averages the drive over bins of this width.
    drive_per_step : int
        ``native_dt / drive_dt``.
    channels, drive_channels : tuple of str
    recordables : tuple of str
    condition_names : tuple of str
        Intrinsic parameters the network takes as inputs (empty for an unconditioned card;
        see :mod:`.conditioning`). A conditioned runtime needs their per-cell values in
        :meth:`initial_state`; ``v_rest`` is then the resting v at the card's reference
        parameters, and :meth:`resting_v` gives it per cell.
    reference : dict
        The card's reference parameter set of a conditioned surrogate (the ground-truth
        cell's values); empty otherwise.

    Notes
    -----
    The state is the tuple ``(buf, h, c, above, conditions, fed, frame)`` (see :mod:`.model`),
    where ``conditions`` [1, n_cells, n_conditions] holds the normalised parameters of every
    cell (dim 1 indexes cells, as in the other state tensors), ``fed`` [1, n_cells, n_fed] the
    fed-back features of a feedback network ([1, n_cells, 0] otherwise) and ``frame``
    [1, n_cells, n_channels + 2] every cell's drive factors, v offset and v scale (the card's
    cell frames, see :mod:`.conditioning`; the card's global values without them).
    """

    def __init__(self, net, card, device="cpu", dtype=torch.float32):
        self.device = torch.device(device)
        self.dtype = dtype
        self.net = net.to(device=self.device, dtype=dtype).eval()
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.substeps = net.substeps
        self.native_dt = float(card["native_dt"])
        self.output_dt = float(card["output_dt"])
        self.drive_per_step = drive_per_step(card)
        self.drive_dt = self.native_dt / self.drive_per_step
        self.channels = tuple(ch["name"] for ch in card["drive_channels"])
        self.drive_channels = self.channels
        self.recordables = tuple(card.get("recordables", ("v",)))
        self.n_channels = len(self.channels)
        self._scales = torch.tensor(
            [ch["normalisation"]["scale"] for ch in card["drive_channels"]],
            device=self.device, dtype=dtype)
        self.output_names = tuple(card["outputs"])
        if not self.output_names or self.output_names[0] != "v" \
                or len(self.output_names) != 1 + net.n_extra:
            raise ValueError(f"card outputs {self.output_names} do not match the network: "
                             f"'v' first, then its {net.n_extra} extra output(s)")
        self._offsets = [float(card["outputs"][k]["offset"]) for k in self.output_names]
        self._scales_out = [float(card["outputs"][k]["scale"]) for k in self.output_names]
        self._inverse = []
        for k in self.output_names:
            transform = card["outputs"][k].get("transform")
            if transform is not None and transform not in OUTPUT_TRANSFORMS:
                raise ValueError(f"output {k!r}: unknown transform {transform!r}; known: "
                                 f"{sorted(OUTPUT_TRANSFORMS)}")
            self._inverse.append(OUTPUT_TRANSFORMS[transform][1] if transform else None)
        self._v_offset, self._v_scale = self._offsets[0], self._scales_out[0]
        self.threshold = float(card["spike_threshold"])
        self._conditions = condition_entries(card)
        self.condition_names = tuple(e["name"] for e in self._conditions)
        self._frames = condition_frames(card)
        self._rest_cache = {}
        self.reference = dict(card.get("conditioning", {}).get("reference", {}))
        z = normalise_conditions(self._conditions, self.reference, 1)
        self.v_rest = float(self._rest_of(z)[1][0])

    def normalise_conditions(self, conditions, n_cells):
        """Per-cell normalised conditioning inputs [n_cells, n_conditions] (numpy float32).

        ``conditions`` maps each name in :attr:`condition_names` to a scalar or an array of
        ``n_cells`` values (PyNN units); it may be ``None`` for an unconditioned runtime.
        """
        if not self._conditions:
            return np.zeros((n_cells, 0), dtype=np.float32)
        if conditions is None:
            raise ValueError(f"this surrogate is conditioned on {self.condition_names}; "
                             "initial_state needs their per-cell values")
        return normalise_conditions(self._conditions, conditions, n_cells)

    def _frame_of(self, values, n_cells):
        """Per-cell drive factors, v offset and v scale [n_cells, n_channels + 2] (float64)
        for parameter values ``values`` (name -> scalar or array; ``None``: the reference)."""
        frames = cell_frames(self._frames, self.reference, values or {}, n_cells,
                             self.channels)
        offset, scale = frames.v_affine(self._v_offset, self._v_scale)
        return np.concatenate([frames.drive_factor, offset[:, None], scale[:, None]], axis=1)

    @torch.no_grad()
    def _settle(self, z):
        """Resting states of cells with normalised conditions ``z`` [m, P]: run them from the
        zero state on zero drive until the LSTM state stops changing.

        Returns ``(buf, h, c)`` with m cells and the resting v [m] (mV)."""
        m = z.shape[0]
        state = self.net.zero_state(m, self.device, self.dtype)
        zeros = torch.zeros(SETTLE_CHUNK, m, self.n_channels * self.drive_per_step,
                            device=self.device, dtype=self.dtype)
        cond = torch.as_tensor(z, device=self.device, dtype=self.dtype)
        x = torch.cat([zeros, cond.expand(SETTLE_CHUNK, m, -1)], dim=-1)
        if self.net.feedback:                # at rest no spikes (and zero traces) are fed back
            x = torch.cat([x, zeros.new_zeros(SETTLE_CHUNK, m, self.net.n_fed)], dim=-1)
        v = None
        for _ in range(SETTLE_MAX_CHUNKS):
            before = torch.cat([s.flatten() for s in state[1:3]])
            v, _, state = self.net(x, state)
            after = torch.cat([s.flatten() for s in state[1:3]])
            if float((after - before).abs().max()) < SETTLE_TOL:
                break
        v_last = v[-1, :, self.substeps - 1].double().cpu().numpy()
        frame = self._frame_of(denormalise_conditions(self._conditions, z), m)
        v_rest = frame[:, -2] + frame[:, -1] * v_last
        return state[:3], v_rest

    def _rest_of(self, z):
        """Resting ``(buf, h, c)`` and v [n] for normalised conditions ``z`` [n, P]; every
        distinct row is settled once per runtime and cached."""
        rows, inverse = np.unique(z, axis=0, return_inverse=True)
        inverse = np.asarray(inverse).reshape(-1)
        keys = [r.tobytes() for r in rows]
        missing = [i for i, k in enumerate(keys) if k not in self._rest_cache]
        for start in range(0, len(missing), SETTLE_ROWS):
            part = missing[start:start + SETTLE_ROWS]
            (buf, h, c), v = self._settle(rows[part])
            for j, i in enumerate(part):
                self._rest_cache[keys[i]] = (buf[:, j], h[:, j], c[:, j], float(v[j]))
        parts = [self._rest_cache[k] for k in keys]
        idx = torch.as_tensor(inverse, device=self.device)
        buf, h, c = (torch.stack([p[k] for p in parts], dim=1)[:, idx] for k in range(3))
        v = np.array([p[3] for p in parts])[inverse]
        return (buf, h, c), v

    def initial_state(self, n_cells, conditions=None):
        """Resting state for ``n_cells`` cells (a tuple of tensors, dim 1 or 0 = cells).

        Parameters
        ----------
        n_cells : int
        conditions : dict, optional
            Conditioned parameter name -> scalar or per-cell array (PyNN units); required
            when :attr:`condition_names` is not empty.
        """
        z = self.normalise_conditions(conditions, n_cells)
        (buf, h, c), _ = self._rest_of(z)
        fed = torch.zeros(1, n_cells, self.net.n_fed, device=self.device, dtype=self.dtype)
        return (buf.contiguous(), h.contiguous(), c.contiguous(),
                torch.zeros(n_cells, dtype=torch.bool, device=self.device),
                self._as_rows(z), fed, self._as_rows(self._frame_of(conditions, n_cells)))

    def _as_rows(self, a):
        """numpy [n_cells, k] -> state tensor [1, n_cells, k]."""
        return torch.as_tensor(a, device=self.device, dtype=self.dtype).unsqueeze(0)

    def with_conditions(self, state, rows, conditions):
        """``state`` with new conditioned parameter values for the cells ``rows`` (a slice):
        their normalised inputs and cell frames change; their dynamic state does not."""
        n = len(range(*rows.indices(state[4].shape[1])))
        cond, frame = state[4].clone(), state[6].clone()
        cond[0, rows] = self._as_rows(self.normalise_conditions(conditions, n))[0]
        frame[0, rows] = self._as_rows(self._frame_of(conditions, n))[0]
        return state[:4] + (cond, state[5], frame)

    def resting_v(self, n_cells, conditions=None):
        """Resting v (mV) of every cell, as a float64 numpy array [n_cells]."""
        return self._rest_of(self.normalise_conditions(conditions, n_cells))[1]

    @torch.no_grad()
    def run(self, drive, state):
        """Advance every cell by ``drive.shape[0] / drive_per_step`` native steps.

        Parameters
        ----------
        drive : Tensor [n_steps * drive_per_step, n_cells, n_channels]
            Drive averaged over bins of ``drive_dt`` in PyNN units (uS, nA), channels in
            ``self.channels`` order.
        state : tuple
            From :meth:`initial_state` or a previous :meth:`run`.

        Returns
        -------
        out : dict
            ``"v"``: Tensor [n_steps * substeps, n_cells], mV, at the end of each output bin;
            the same for every other output of the card (its own units).
        spikes : Tensor [n_steps * substeps, n_cells] (bool)
        state : tuple
        """
        frame = state[6]
        x = fold_drive(normalise(drive.to(dtype=self.dtype),
                                 self._scales * frame[..., :self.n_channels]),
                       self.drive_per_step)
        cond = state[4]
        if cond.shape[-1]:
            x = torch.cat([x, cond.expand(x.shape[0], -1, -1)], dim=-1)
        if self.net.feedback:
            v, _, spikes, net_state, fed = self.net.run_closed_loop(x, state[:4], state[5][0],
                                                                    self.threshold)
            last, fed = net_state[3], fed.unsqueeze(0)
        else:
            v, logits, net_state = self.net(x, state[:4])
            spikes, last = detect_spikes(logits, net_state[3], self.threshold)
            fed = state[5]
        s = self.substeps
        out = {}
        for k, name in enumerate(self.output_names):
            offset, scale = ((frame[..., -2:-1], frame[..., -1:]) if k == 0
                             else (self._offsets[k], self._scales_out[k]))
            value = offset + scale * v[..., k * s:(k + 1) * s]
            out[name] = flatten_bins(value if self._inverse[k] is None
                                     else self._inverse[k](value))
        return out, flatten_bins(spikes), net_state[:3] + (last, cond, fed, frame)


def build_net(card):
    """Construct the (untrained) network described by ``card["model"]``."""
    cfg = dict(card["model"])
    cfg.pop("kind", None)
    cfg.pop("n_parameters", None)
    return SurrogateNet(**cfg)
