"""SurrogateRuntime: the batched, streaming surrogate the engine calls (see
docs/architecture.md, "Surrogate runtime")."""

import torch

from .model import SurrogateNet, detect_spikes, flatten_bins

SETTLE_CHUNK = 2000      # native steps per settling chunk
SETTLE_MAX_CHUNKS = 50
SETTLE_TOL = 1e-7        # max abs change of the state over one chunk that counts as settled


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
        vout = card["outputs"]["v"]
        self._v_offset = float(vout["offset"])
        self._v_scale = float(vout["scale"])
        self.threshold = float(card["spike_threshold"])
        self._rest, self.v_rest = self._settle()

    @torch.no_grad()
    def _settle(self):
        """Resting state: run one cell from the zero state on zero drive until it settles."""
        state = self.net.zero_state(1, self.device, self.dtype)
        zeros = torch.zeros(SETTLE_CHUNK, 1, self.n_channels * self.drive_per_step,
                            device=self.device, dtype=self.dtype)
        v = None
        for _ in range(SETTLE_MAX_CHUNKS):
            before = torch.cat([s.flatten() for s in state[1:3]])
            v, _, state = self.net(zeros, state)
            after = torch.cat([s.flatten() for s in state[1:3]])
            if float((after - before).abs().max()) < SETTLE_TOL:
                break
        buf, h, c, _ = state
        rest = (buf, h, c, torch.zeros(1, dtype=torch.bool, device=self.device))
        v_rest = self._v_offset + self._v_scale * float(v[-1, 0, -1])
        return rest, v_rest

    def initial_state(self, n_cells):
        """Resting state for ``n_cells`` cells (a tuple of tensors, dim 1 or 0 = cells)."""
        buf, h, c, last = self._rest
        return (buf.expand(-1, n_cells, -1).clone(), h.expand(-1, n_cells, -1).clone(),
                c.expand(-1, n_cells, -1).clone(), last.expand(n_cells).clone())

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
            ``"v"``: Tensor [n_steps * substeps, n_cells], mV, at the end of each output bin.
        spikes : Tensor [n_steps * substeps, n_cells] (bool)
        state : tuple
        """
        x = fold_drive(normalise(drive.to(dtype=self.dtype), self._scales),
                       self.drive_per_step)
        v, logits, state = self.net(x, state)
        spikes, last = detect_spikes(logits, state[3], self.threshold)
        v = self._v_offset + self._v_scale * v
        return {"v": flatten_bins(v)}, flatten_bins(spikes), state[:3] + (last,)


def build_net(card):
    """Construct the (untrained) network described by ``card["model"]``."""
    cfg = dict(card["model"])
    cfg.pop("kind", None)
    cfg.pop("n_parameters", None)
    return SurrogateNet(**cfg)
