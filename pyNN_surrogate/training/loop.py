"""Training loop: truncated BPTT over whole trials from rest, free-running model selection."""

import copy
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import numpy as np
import torch

from ..surrogates.model import SurrogateNet, detect_spikes
from ..surrogates.runtime import OUTPUT_TRANSFORMS
from .metrics import bins_to_times, rate_mae, spike_scores, v_scores
from .parallel import SplitBatch

THRESHOLD_GRID = np.linspace(-4.0, 6.0, 51)
FEEDBACK_THRESHOLD_GRID = (-1.0, 0.0, 1.0, 2.0)   # each one a closed-loop run
# after training, the chosen network's threshold is refined around the coarse choice
FEEDBACK_REFINE_OFFSETS = tuple(round(0.1 * k, 1) for k in range(-5, 6) if k)


@dataclass
class TrainConfig:
    """Training hyper-parameters.

    Parameters
    ----------
    steps : int
        Optimiser steps (one per chunk); the cosine schedule spans them.
    minutes : float
        Hard wall-clock cap; training stops early (and says so) when it is reached.
    seed : int
    batch : int
        Trials per batch.
    chunk : int
        Native steps per truncated-BPTT chunk (state carried across chunks of a trial).
    lr : float
        Peak Adam learning rate (linear warm-up, then cosine decay to 2% of it).
    warmup : int
        Warm-up steps.
    pos_weight : float
        BCE weight of spike bins.
    spike_weight : float
        Weight of the spike loss relative to the v loss.
    huber_delta : float
        Huber loss threshold on normalised v (spike peaks would dominate a plain MSE).
    eval_every : int
        Free-running validation every this many steps (model selection).
    rate_weight : float
        Model-selection score = F1(2 ms) + clipped v r - rate_weight * rate MAE (Hz).
    clip : float
        Gradient-norm clip.
    conv_channels, kernel, hidden : int
        Network size (see :class:`SurrogateNet`).
    skip_steps : int
        Native steps at the start of each trial excluded from the loss (zero-state transient).
    ema : float
        Decay of an exponential moving average of the weights (0: off). When on, validation,
        model selection and the saved weights use the averaged network.
    window_weight : float
        Weight of a timing-tolerant spike loss (0: off): over windows of ``window_steps``
        native steps, BCE between "the window holds a spike" and the window's highest logit,
        so that a spike whose exact bin is uncertain is still predicted confidently.
    window_steps : int
        Native steps per window of that loss.
    feedback : bool
        Train a network that sees its own spikes of the previous native step (teacher forcing:
        the true spikes during training; its own, closed-loop, in validation and use).
    clipped_v_weight : float
        Share of the v loss taken on v clipped from above at the cell's ``v_clip`` (0: off):
        the v loss is ``(1 - w) * loss(v) + w * loss(clipped v)``. Spike peaks, whose exact
        onset no network can know a step ahead, then weigh less against the subthreshold
        trajectory that decides the next spike's timing.
    spike_traces : tuple of float
        Time constants (ms) of exponential traces of the network's own spikes, fed back with
        the spike bins (needs ``feedback``; see :mod:`pyNN_surrogate.surrogates.spike_traces`).
    workers : int
        Threads that share each batch (data parallelism, :mod:`.parallel`); 2 uses both
        cores of a 2-core machine, with one torch thread each.
    synaptic_only_repeats : int
        Times each training trial without injected current (``data["has_current"]`` false)
        appears per epoch (1: every trial once). Raises the share of synaptically driven
        spikes in the loss where current-driven trials hold most of the spikes.
    film : bool
        A conditioned network whose conditions also scale and shift its convolution features
        (feature-wise linear modulation; see :class:`SurrogateNet`).
    """

    steps: int = 90000
    minutes: float = 50.0
    seed: int = 0
    batch: int = 16
    chunk: int = 200
    lr: float = 1e-3
    warmup: int = 200
    pos_weight: float = 30.0
    spike_weight: float = 1.0
    huber_delta: float = 100.0
    eval_every: int = 5000
    rate_weight: float = 0.05
    clip: float = 1.0
    conv_channels: int = 32
    kernel: int = 3
    hidden: int = 64
    skip_steps: int = 4
    ema: float = 0.0
    window_weight: float = 0.0
    window_steps: int = 4
    feedback: bool = False
    clipped_v_weight: float = 0.0
    spike_traces: tuple = ()
    workers: int = 1
    synaptic_only_repeats: int = 1
    film: bool = False


def epoch_trials(train_idx, has_current, synaptic_only_repeats=1):
    """The training trials of one epoch, before shuffling.

    Parameters
    ----------
    train_idx : array of int
    has_current : array of bool [n_trials] or None
        Whether each trial injects current; None: no trial is repeated.
    synaptic_only_repeats : int
        Times each trial without injected current appears.

    Returns
    -------
    ndarray of int
    """
    if synaptic_only_repeats < 1:
        raise ValueError(f"synaptic_only_repeats must be >= 1, got {synaptic_only_repeats}")
    train_idx = np.asarray(train_idx)
    if has_current is None or synaptic_only_repeats == 1:
        return train_idx
    synaptic_only = train_idx[~np.asarray(has_current, dtype=bool)[train_idx]]
    return np.concatenate([train_idx] + [synaptic_only] * (synaptic_only_repeats - 1))


def fit_normalisation(drive, v):
    """Per-channel drive scales and v offset/scale from training data.

    Parameters
    ----------
    drive : ndarray [n, n_steps, n_channels] (PyNN units)
    v : ndarray [n, n_bins] (mV)

    Returns
    -------
    scales : list of float
        Drive normalisation ``asinh(x / scale)``; scale = std of the channel over the
        training set (1 if the channel is constant zero).
    v_offset, v_scale : float
        ``v = v_offset + v_scale * v_norm``.
    """
    flat = drive.reshape(-1, drive.shape[-1]).astype(np.float64)
    scales = [float(s) if s > 0 else 1.0 for s in flat.std(axis=0)]
    return scales, float(np.median(v)), float(v.std())


def normalise(drive, scales, per_step=1):
    """``asinh(drive / scales)`` as a float32 tensor [n, n_steps, per_step * n_channels].

    ``drive`` is [n, n_steps * per_step, n_channels]; the ``per_step`` drive bins of each
    native step are folded into the feature axis (layout of
    :func:`~pyNN_surrogate.surrogates.runtime.fold_drive`).
    """
    x = torch.asinh(torch.as_tensor(drive, dtype=torch.float32)
                    / torch.tensor(scales, dtype=torch.float32))
    n, t, c = x.shape
    return x.reshape(n, t // per_step, per_step * c)


@torch.no_grad()
def predict(net, x, batch=64, state_fn=None):
    """Free-running prediction over whole trials.

    Parameters
    ----------
    net : SurrogateNet
    x : Tensor [n, n_steps, n_channels]
        Normalised drive.
    batch : int
    state_fn : callable, optional
        ``state_fn(n_cells)`` -> initial state; default: the zero state.

    Returns
    -------
    v_norm, logits : Tensor [n, n_steps, substeps]
    """
    vs, ls = [], []
    for i in range(0, x.shape[0], batch):
        xb = x[i:i + batch].transpose(0, 1)
        st = state_fn(xb.shape[1]) if state_fn else net.zero_state(xb.shape[1])
        v, lg, _ = net(xb, st)
        vs.append(v.transpose(0, 1))
        ls.append(lg.transpose(0, 1))
    return torch.cat(vs), torch.cat(ls)


@torch.no_grad()
def predict_closed_loop(net, x, threshold, batch=256):
    """Free-running prediction of a feedback network (its own spikes fed back).

    Returns ``v_norm`` [n, n_steps, substeps] and spike bins [n, n_steps * substeps] (numpy
    bool)."""
    vs, ss = [], []
    for i in range(0, x.shape[0], batch):
        xb = x[i:i + batch].transpose(0, 1)
        fed = torch.zeros(xb.shape[1], net.n_fed)
        v, _, spikes, _, _ = net.run_closed_loop(xb, net.zero_state(xb.shape[1]), fed,
                                                 threshold)
        vs.append(v.transpose(0, 1))
        ss.append(spikes.permute(1, 0, 2).reshape(xb.shape[1], -1))
    return torch.cat(vs), torch.cat(ss).numpy()


def logits_to_bins(logits, threshold):
    """Spike bins [n, n_steps * substeps] (numpy bool) from logits [n, n_steps, substeps]."""
    lg = logits.transpose(0, 1)
    spikes, _ = detect_spikes(lg, torch.zeros(lg.shape[1], dtype=torch.bool), threshold)
    n_steps, n, s = spikes.shape
    return spikes.permute(1, 0, 2).reshape(n, n_steps * s).numpy()


def tune_threshold(logits, true_trains, output_dt, tol=2.0, grid=THRESHOLD_GRID):
    """Spike threshold maximising F1 at ``tol`` ms; returns ``(threshold, f1)``."""
    best = (float(grid[0]), -1.0)
    for thr in grid:
        pred = bins_to_times(logits_to_bins(logits, float(thr)), output_dt)
        f1 = spike_scores(true_trains, pred, tol)["f1"]
        if f1 > best[1] + 1e-9:
            best = (float(thr), f1)
    return best


def validate(net, x, v_true, true_trains, norm, output_dt, v_clip, duration,
             rate_weight=0.05, workers=1, thresholds=FEEDBACK_THRESHOLD_GRID):
    """Free-running validation: tuned threshold, F1 at 2 ms, rate MAE, clipped v r and the
    model-selection score ``f1 + r - rate_weight * rate_mae``. A feedback network runs
    closed-loop once per entry of ``thresholds``; the runs share ``workers`` threads."""
    if net.feedback:
        with ThreadPoolExecutor(max(1, int(workers))) as pool:
            runs = dict(zip(thresholds, pool.map(
                lambda t: predict_closed_loop(net, x, float(t)), thresholds)))
        scored = {t: spike_scores(true_trains, bins_to_times(b, output_dt), 2.0)["f1"]
                  for t, (_, b) in runs.items()}
        thr = max(scored, key=scored.get)
        f1, (v_norm, bins) = scored[thr], runs[thr]
        pred = bins_to_times(bins, output_dt)
    else:
        v_norm, logits = predict(net, x)
        thr, f1 = tune_threshold(logits, true_trains, output_dt)
        pred = bins_to_times(logits_to_bins(logits, thr), output_dt)
    mae = rate_mae(true_trains, pred, duration)
    _, v_offset, v_scale = norm
    v_norm = v_norm[..., :net.substeps]                   # v first; extra outputs after it
    v = (v_offset + v_scale * v_norm).reshape(v_norm.shape[0], -1).numpy()
    r = v_scores(v_true, v, clip=v_clip)["r"]
    return dict(threshold=thr, f1_2ms=f1, rate_mae_hz=mae, v_r_clipped=r,
                score=f1 + r - rate_weight * mae)


def refine_feedback_threshold(net, best, x_val, v_val, val_trains, norm, output_dt, v_clip,
                              duration, cfg):
    """The selected feedback network's closed-loop threshold, refined on the validation
    trials in 0.1 steps around the coarse choice ``best["threshold"]``.

    Returns ``best`` updated with the refined validation metrics (the coarse threshold is kept
    unless another one scores a higher F1 at 2 ms) and ``coarse_threshold``.
    """
    grid = tuple(round(best["threshold"] + d, 2) for d in FEEDBACK_REFINE_OFFSETS)
    res = validate(net, x_val, v_val, val_trains, norm, output_dt, v_clip, duration,
                   cfg.rate_weight, cfg.workers, thresholds=grid)
    refined = dict(best, coarse_threshold=best["threshold"])
    if res["f1_2ms"] > best["f1_2ms"] + 1e-9:
        refined.update(res)
    return refined


class AnalogLoss:
    """Huber loss of the analog outputs, with an optional share of the v part on clipped v.

    Parameters
    ----------
    delta : float
        Huber threshold (normalised units).
    substeps : int
        Output bins per native step (v is the first ``substeps`` read-out columns).
    clipped_weight : float
        Share ``w`` of the v loss on v clipped from above at ``clip`` (see
        :class:`TrainConfig`).
    clip : float
        Clip level in normalised v units.
    """

    def __init__(self, delta, substeps, clipped_weight=0.0, clip=None):
        if not 0.0 <= clipped_weight <= 1.0:
            raise ValueError(f"clipped_weight must be in [0, 1], got {clipped_weight}")
        self.huber = torch.nn.HuberLoss(delta=delta)
        self.substeps, self.clipped_weight, self.clip = substeps, float(clipped_weight), clip

    def __call__(self, pred, target):
        if self.clipped_weight == 0.0:
            return self.huber(pred, target)
        s, w = self.substeps, self.clipped_weight
        v_pred, v_true = pred[..., :s], target[..., :s]
        v_loss = ((1.0 - w) * self.huber(v_pred, v_true)
                  + w * self.huber(v_pred.clamp(max=self.clip), v_true.clamp(max=self.clip)))
        if pred.shape[-1] == s:
            return v_loss
        n_analog = pred.shape[-1] // s            # keep each output's weight as without clipping
        return (v_loss + (n_analog - 1) * self.huber(pred[..., s:], target[..., s:])) / n_analog


def window_spike_loss(logits, spikes, window):
    """Timing-tolerant spike loss: BCE between "a spike in the window" and the highest logit
    of the window, over consecutive windows of ``window`` native steps.

    ``logits``, ``spikes``: [n_steps, n_trials, substeps]; a trailing partial window counts.
    """
    t = logits.shape[0]
    pad = (-t) % window
    if pad:
        logits = torch.cat([logits, logits.new_full((pad,) + logits.shape[1:], -1e4)])
        spikes = torch.cat([spikes, spikes.new_zeros((pad,) + spikes.shape[1:])])
    n = logits.shape[0] // window
    top = logits.reshape(n, window, *logits.shape[1:]).amax(dim=(1, 3))
    hit = spikes.reshape(n, window, *spikes.shape[1:]).amax(dim=(1, 3))
    return torch.nn.functional.binary_cross_entropy_with_logits(top, hit)


def output_transform(name):
    """Transform an extra output is learned in: ``"log"`` for concentrations (``ca.*``, which
    span orders of magnitude), else None (see :data:`.runtime.OUTPUT_TRANSFORMS`)."""
    return "log" if name.startswith("ca.") else None


def fit_extra_normalisation(extra, train_idx):
    """``{name: (offset, scale, transform)}`` of extra analog outputs: median and std over the
    training trials (scale 1 for a constant output) of the transformed values, as
    :func:`fit_normalisation` does for v."""
    out = {}
    for name, values in extra.items():
        transform = output_transform(name)
        part = np.asarray(values[train_idx], dtype=np.float64)
        if transform is not None:
            part = OUTPUT_TRANSFORMS[transform][0](part)
        scale = float(part.std())
        out[name] = (float(np.median(part)), scale if scale > 0 else 1.0, transform)
    return out


def analog_targets(v_all, extra, extra_norm, n_steps, substeps):
    """Normalised analog targets [n, n_steps, (1 + n_extra) * substeps]: v, then each extra
    output (the network's read-out layout)."""
    parts = [v_all]
    for name, (offset, scale, transform) in extra_norm.items():
        values = np.asarray(extra[name], dtype=np.float64)
        if transform is not None:
            values = OUTPUT_TRANSFORMS[transform][0](values)
        a = torch.as_tensor((values - offset) / scale, dtype=torch.float32)
        parts.append(a.reshape(len(a), n_steps, substeps))
    return torch.cat(parts, dim=-1)


def with_conditions(x, conditions):
    """Append constant per-trial conditioning inputs to normalised drive.

    ``x`` [n, n_steps, F] (tensor), ``conditions`` [n, P] (array or ``None``) ->
    [n, n_steps, F + P], the runtime's input layout (drive features, then parameters)."""
    if conditions is None or np.shape(conditions)[-1] == 0:
        return x
    z = torch.as_tensor(np.asarray(conditions), dtype=x.dtype)
    return torch.cat([x, z[:, None, :].expand(-1, x.shape[1], -1)], dim=-1)


def train(data, train_idx, val_idx, cfg, output_dt, v_clip=-40.0, progress=True,
          drive_per_step=1, conditions=None, init=None, frames=None):
    """Train a surrogate.

    Parameters
    ----------
    data : dict
        Ground-truth data set (see :func:`..groundtruth.generate`). An optional ``"extra"``
        entry ``{name: [n_trials, n_bins]}`` holds analog outputs besides v (e.g. a detailed
        cell's dendritic v or dipole), sampled like v; the network learns them too.
    train_idx, val_idx : array of int
        Trial indices for training and validation.
    cfg : TrainConfig
    output_dt : float
        Output bin width (ms).
    v_clip : float
        Clip level of the v metric used for model selection (mV).
    progress : bool
        Show a tqdm progress bar.
    drive_per_step : int
        Drive bins per native step in ``data["drive"]`` (``native_dt / drive_dt``).
    conditions : ndarray [n_trials, P], optional
        Normalised intrinsic parameters of every trial, for a conditioned surrogate (see
        :mod:`pyNN_surrogate.surrogates.conditioning`).
    init : dict, optional
        Warm start: ``state_dict``, ``norm`` (scales, v_offset, v_scale) and ``extra_norm``
        of a trained network of the same shape (e.g. the shipped surrogate of the cell type,
        fine-tuned to other cell parameters; see :mod:`.warm_start`). Its normalisation is
        kept, so its weights keep their meaning.
    frames : CellFrames, optional
        Cell frames of every trial (see :mod:`pyNN_surrogate.surrogates.conditioning`): the
        network is trained on the drive and v of the reference cell's frame, and the
        normalisation, the clipped-v loss and validation are all in that frame.

    Returns
    -------
    dict
        ``net`` (best model, CPU float32), ``norm`` (scales, v_offset, v_scale),
        ``extra_norm`` ({name: (offset, scale)} of the extra outputs, in their order),
        ``threshold``, ``validation`` (best validation metrics), ``history``, ``steps_done``,
        ``stopped_by_time`` and ``wall_s``.
    """
    from tqdm import tqdm

    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    drive, v, bins = data["drive"], data["v"], data["spike_bins"]
    if frames is not None:
        drive, v = frames.framed_drive(drive), frames.reference_v(v)
    n_steps = drive.shape[1] // drive_per_step
    substeps = v.shape[1] // n_steps
    duration = v.shape[1] * output_dt
    norm = (fit_normalisation(drive[train_idx], v[train_idx]) if init is None
            else (list(init["norm"][0]), float(init["norm"][1]), float(init["norm"][2])))
    scales, v_offset, v_scale = norm
    x_all = with_conditions(normalise(drive, scales, drive_per_step), conditions)
    v_all = torch.as_tensor((v - v_offset) / v_scale, dtype=torch.float32)
    v_all = v_all.reshape(len(v), n_steps, substeps)
    extra = data.get("extra") or {}
    extra_norm = (fit_extra_normalisation(extra, train_idx) if init is None
                  else dict(init.get("extra_norm", {})))
    target_all = analog_targets(v_all, extra, extra_norm, n_steps, substeps)
    s_all = torch.as_tensor(bins, dtype=torch.float32).reshape(len(v), n_steps, substeps)
    counts = data["spike_counts"]
    trains = np.split(data["spike_times"], np.cumsum(counts)[:-1])
    val_trains = [trains[i] for i in val_idx]
    x_val, v_val = x_all[val_idx], v[val_idx]

    n_conditions = 0 if conditions is None else int(np.shape(conditions)[-1])
    if cfg.film and not n_conditions:
        raise ValueError("film needs conditions: it modulates the network by them")
    net = SurrogateNet(x_all.shape[-1], substeps, cfg.conv_channels, cfg.kernel, cfg.hidden,
                       feedback=cfg.feedback, n_extra=len(extra_norm),
                       spike_traces=cfg.spike_traces, output_dt=output_dt,
                       film=n_conditions if cfg.film else 0)
    x_fit = torch.cat([x_all, net.teacher_fed(s_all)], dim=-1) if cfg.feedback else x_all
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: min(1.0, (k + 1) / max(cfg.warmup, 1))
        * (0.02 + 0.98 * 0.5 * (1 + np.cos(np.pi * min(k, cfg.steps) / cfg.steps))))
    if init is not None:
        state_dict = init["state_dict"]
        if init.get("new_conditions"):
            from .warm_start import with_condition_inputs
            n_conditions = int(init["new_conditions"])
            state_dict = with_condition_inputs(state_dict, x_all.shape[-1] - n_conditions,
                                               n_conditions)
        if net.film is not None and "film.weight" not in state_dict:
            # a package without modulation starts as the identity modulation
            state_dict = {**state_dict, **{f"film.{k}": v
                                           for k, v in net.film.state_dict().items()}}
        net.load_state_dict(state_dict)
    averaged = copy.deepcopy(net) if cfg.ema > 0 else None
    if averaged is not None:
        averaged.requires_grad_(False)
        live, slow = list(net.parameters()), list(averaged.parameters())
    judged = averaged if averaged is not None else net       # the network validated and kept
    bce = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(cfg.pos_weight))
    analog_loss = AnalogLoss(cfg.huber_delta, substeps, cfg.clipped_v_weight,
                             (v_clip - v_offset) / v_scale)

    t_start = time.perf_counter()
    history, best, best_state = [], None, None
    step, stopped_by_time = 0, False
    bar = tqdm(total=cfg.steps, desc="training", disable=not progress, mininterval=5)
    chunks = range(0, n_steps, cfg.chunk)
    splitter = SplitBatch(net, cfg.workers) if cfg.workers > 1 else None
    pool = epoch_trials(train_idx, data.get("has_current"), cfg.synaptic_only_repeats)
    while step < cfg.steps and not stopped_by_time:
        order = rng.permutation(pool)
        for b in range(0, len(order) - cfg.batch + 1, cfg.batch):
            idx = order[b:b + cfg.batch]
            xb = x_fit[idx].transpose(0, 1)
            vb = target_all[idx].transpose(0, 1)
            sb = s_all[idx].transpose(0, 1)
            state = net.zero_state(len(idx))
            for c0 in chunks:
                c1 = min(c0 + cfg.chunk, n_steps)

                def chunk_loss(model, part, part_state, c0=c0, c1=c1):
                    pv, pl, new_state = model(xb[c0:c1, part], part_state)
                    k0 = max(0, cfg.skip_steps - c0)
                    v_true, s_true = vb[c0 + k0:c1, part], sb[c0 + k0:c1, part]
                    loss = (analog_loss(pv[k0:], v_true)
                            + cfg.spike_weight * bce(pl[k0:], s_true))
                    if cfg.window_weight > 0:
                        loss = loss + cfg.window_weight * window_spike_loss(
                            pl[k0:], s_true, cfg.window_steps)
                    return loss, new_state

                opt.zero_grad()
                if splitter is None:
                    loss, state = chunk_loss(net, slice(None), state)
                    state = tuple(s.detach() for s in state)
                    loss.backward()
                    loss = float(loss.detach())
                else:
                    loss, state = splitter.backward(chunk_loss, len(idx), state)
                torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.clip)
                opt.step()
                sched.step()
                if averaged is not None:
                    with torch.no_grad():
                        torch._foreach_lerp_(slow, live, 1.0 - cfg.ema)
                step += 1
                bar.update(1)
                if step % cfg.eval_every == 0 or step == cfg.steps:
                    judged.eval()
                    res = validate(judged, x_val, v_val, val_trains, norm, output_dt, v_clip,
                                   duration, cfg.rate_weight, cfg.workers)
                    net.train()
                    res.update(step=step, loss=loss,
                               wall_s=time.perf_counter() - t_start)
                    history.append(res)
                    bar.set_postfix(f1=f"{res['f1_2ms']:.3f}", r=f"{res['v_r_clipped']:.3f}")
                    if progress:
                        bar.write(f"step {step} f1 {res['f1_2ms']:.3f} rate_mae "
                                  f"{res['rate_mae_hz']:.2f} r {res['v_r_clipped']:.3f} "
                                  f"loss {res['loss']:.4f} t {res['wall_s']:.0f}s")
                    if best is None or res["score"] > best["score"]:
                        best, best_state = res, copy.deepcopy(judged.state_dict())
                if time.perf_counter() - t_start > 60.0 * cfg.minutes:
                    stopped_by_time = True
                if step >= cfg.steps or stopped_by_time:
                    break
            if step >= cfg.steps or stopped_by_time:
                break
    bar.close()
    if splitter is not None:
        splitter.close()
    if best is None or (stopped_by_time and step % cfg.eval_every):
        judged.eval()
        res = validate(judged, x_val, v_val, val_trains, norm, output_dt, v_clip,
                       duration, cfg.rate_weight, cfg.workers)
        res.update(step=step, wall_s=time.perf_counter() - t_start)
        history.append(res)
        if best is None or res["score"] > best["score"]:
            best, best_state = res, copy.deepcopy(judged.state_dict())
    net.load_state_dict(best_state)
    net.eval()
    if net.feedback:
        best = refine_feedback_threshold(net, best, x_val, v_val, val_trains, norm, output_dt,
                                         v_clip, duration, cfg)
    return dict(net=net, norm=norm, extra_norm=extra_norm, threshold=best["threshold"],
                validation=best,
                history=history, steps_done=step, stopped_by_time=stopped_by_time,
                wall_s=time.perf_counter() - t_start, config=asdict(cfg))
