"""Evaluation of a cell-type package against pyNN.neuron, free-running from rest.

Everything goes through :class:`~pyNN_surrogate.surrogates.SurrogateRuntime`, exactly as the
engine uses it: drive in PyNN units, the resting state from ``initial_state``, the tuned spike
threshold of the card.
"""

from dataclasses import replace

import numpy as np
import torch

from .groundtruth import (GroundTruthConfig, excitatory_weight, extra_outputs, resample,
                          simulate)
from .metrics import bins_to_times, f1_trial_spread, rate_mae, spike_scores, v_scores

FI_AMPLITUDES = (-0.2, 0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)  # x i_scale/0.3


def run_runtime(runtime, drive, chunk=2000, conditions=None, with_outputs=False):
    """Run a runtime free-running from rest.

    Parameters
    ----------
    runtime : SurrogateRuntime
    drive : ndarray [n_trials, n_steps * drive_per_step, n_channels] (PyNN units, averaged
        over bins of ``runtime.drive_dt``)
    chunk : int
        Native steps per ``run`` call (the result does not depend on it).
    conditions : dict, optional
        Per-trial values of a conditioned surrogate's parameters (name -> array [n_trials]);
        default: the card's reference parameter set.
    with_outputs : bool
        Also return the runtime's other analog outputs.

    Returns
    -------
    v : ndarray [n_trials, n_bins] (mV)
    spikes : ndarray [n_trials, n_bins] (bool)
    outputs : dict of ndarray [n_trials, n_bins]
        Only with ``with_outputs``: every output besides v, in its card's units.
    """
    x = torch.as_tensor(np.ascontiguousarray(np.transpose(drive, (1, 0, 2))),
                        dtype=runtime.dtype, device=runtime.device)
    state = runtime.initial_state(x.shape[1], runtime.reference if conditions is None
                                  else conditions)
    outs, ss = {}, []
    chunk *= getattr(runtime, "drive_per_step", 1)
    for c0 in range(0, x.shape[0], chunk):
        out, spk, state = runtime.run(x[c0:c0 + chunk], state)
        for name, value in out.items():
            outs.setdefault(name, []).append(value.cpu())
        ss.append(spk.cpu())
    outs = {name: torch.cat(parts).T.numpy() for name, parts in outs.items()}
    v, spikes = outs.pop("v"), torch.cat(ss).T.numpy()
    return (v, spikes, outs) if with_outputs else (v, spikes)


def accuracy(runtime, drive, v_true, true_trains, output_dt, duration, v_clip=-40.0,
             conditions=None, extra_true=None, trial_spread=False):
    """Spike, rate and v accuracy of a runtime on ground-truth trials (``conditions`` as in
    :func:`run_runtime`; ``extra_true``: {name: [n, n_bins]} of other outputs to score;
    ``trial_spread``: also give each F1's 1% and 99% bootstrap quantiles over trials as
    ``f1_trial_spread``, see :func:`.metrics.f1_trial_spread`).

    Returns
    -------
    dict
        ``spikes_2ms`` and ``spikes_10ms`` (precision/recall/F1 and counts), ``rate_mae_hz``,
        ``rate_true_hz`` / ``rate_pred_hz`` (means), ``v`` and ``v_clipped`` (r, variance
        explained, rmse), ``n_trials``, ``duration_ms``, and ``outputs`` (r, variance
        explained, rmse of each of ``extra_true``) when given.
    """
    v_pred, s_pred, outputs = run_runtime(runtime, drive, conditions=conditions,
                                          with_outputs=True)
    pred_trains = bins_to_times(s_pred, output_dt)
    n = len(true_trains)
    spikes = {}
    for tol in (2, 10):
        spikes[f"spikes_{tol}ms"] = spike_scores(true_trains, pred_trains, float(tol))
        if trial_spread:
            spikes[f"spikes_{tol}ms"]["f1_trial_spread"] = f1_trial_spread(
                true_trains, pred_trains, float(tol))
    return dict(
        n_trials=n, duration_ms=float(duration), **spikes,
        rate_mae_hz=rate_mae(true_trains, pred_trains, duration),
        rate_true_hz=float(sum(map(len, true_trains)) * 1000.0 / duration / max(n, 1)),
        rate_pred_hz=float(sum(map(len, pred_trains)) * 1000.0 / duration / max(n, 1)),
        v=v_scores(v_true, v_pred),
        v_clipped=dict(v_scores(v_true, v_pred, clip=v_clip), clip_mv=v_clip),
        **({"outputs": {name: v_scores(values, outputs[name])
                        for name, values in extra_true.items()}} if extra_true else {}))


def _filtered_poisson(rng, n, rate, weight, tau, dt):
    """Exact exponential-kernel response to a Poisson train, sampled every dt."""
    from scipy.signal import lfilter
    counts = rng.poisson(rate * dt / 1000.0, n).astype(float)
    decay = np.exp(-dt / tau)
    return lfilter([weight], [1.0, -decay], counts)


def stability(runtime, cell, duration=100000.0, seed=0):
    """Long free-running runs: zero drive, then moderate Poisson drive followed by rest.

    Parameters
    ----------
    runtime : SurrogateRuntime
    cell : CellSpec
    duration : float
        Length of each run (ms).
    seed : int

    Returns
    -------
    dict
        ``zero_drive``: ``finite``, ``max_abs_drift_mv`` (max |v - v_rest|),
        ``final_drift_mv``; ``moderate_drive``: ``finite``, ``rate_hz``, ``v_min``, ``v_max``,
        ``return_to_rest_drift_mv`` (|v - v_rest| max over the last 100 ms of a 1 s
        zero-drive tail).
    """
    native_dt = runtime.native_dt
    drive_dt = getattr(runtime, "drive_dt", native_dt)
    n_steps = int(round(duration / native_dt))
    n_drive = int(round(duration / drive_dt))
    c = runtime.n_channels
    v0, s0 = run_runtime(runtime, np.zeros((1, n_drive, c), np.float32), chunk=20000)
    # drift = change over time of each output bin of the native step (the bins of one step
    # may differ by a small constant ripple at rest; that is reported separately)
    per_bin = v0[0].reshape(-1, runtime.substeps)
    zero = dict(finite=bool(np.isfinite(v0).all()),
                max_abs_drift_mv=float(np.abs(per_bin - per_bin[:1]).max()),
                max_abs_dev_from_v_rest_mv=float(np.abs(v0 - runtime.v_rest).max()),
                final_drift_mv=float(abs(v0[0, -1] - runtime.v_rest)),
                n_spikes=int(s0.sum()))
    # moderate drive, synthesised at dt = 0.025 ms with exact kernels, then bin-averaged
    rng = np.random.default_rng(seed)
    dt, per = 0.025, int(round(drive_dt / 0.025))
    n_fine = n_drive * per
    if cell.synapse == "conductance":
        g_e = _filtered_poisson(rng, n_fine, 2000.0, 0.15 * cell.g_leak, 5.0, dt)
        g_i = _filtered_poisson(rng, n_fine, 1000.0, 0.2 * cell.g_leak, 10.0, dt)
        chans = [g_e, g_i, np.zeros(n_fine)]
    elif cell.synapse == "delta":               # jump rates (mV/ms) of 1 mV jumps
        jumps = (rng.poisson(2000.0 * dt / 1000.0, n_fine)
                 - rng.poisson(1000.0 * dt / 1000.0, n_fine)) / dt
        chans = [jumps, np.zeros(n_fine)]
    else:
        i_e = _filtered_poisson(rng, n_fine, 2000.0, 0.3 * cell.i_scale, 5.0, dt)
        i_i = _filtered_poisson(rng, n_fine, 1000.0, -0.3 * cell.i_scale, 5.0, dt)
        chans = [i_e + i_i]
    drive = np.stack([ch.reshape(n_drive, per).mean(-1) for ch in chans], -1)
    tail = int(round(1000.0 / drive_dt))
    drive = np.concatenate([drive, np.zeros((tail, c))])[None].astype(np.float32)
    v1, s1 = run_runtime(runtime, drive, chunk=20000)
    n_drive_bins = n_steps * runtime.substeps
    last = int(round(100.0 / native_dt)) * runtime.substeps
    moderate = dict(finite=bool(np.isfinite(v1).all()),
                    rate_hz=float(s1[0, :n_drive_bins].sum() * 1000.0 / duration),
                    v_min=float(v1.min()), v_max=float(v1.max()),
                    return_to_rest_drift_mv=float(np.abs(v1[0, -last:] - runtime.v_rest).max()))
    return dict(duration_ms=float(duration), zero_drive=zero, moderate_drive=moderate)


def fi_curve(runtime, config, cell, duration=10000.0, tail=1000.0):
    """Firing rate vs DC current held for ``duration``, surrogate against pyNN.neuron.

    The current is held long enough to expose a surrogate whose state drifts under sustained
    firing: the rates of the last ``tail`` ms are reported beside the whole-run rates.

    Returns
    -------
    dict
        ``amplitudes_na``, ``duration_ms``, ``rate_neuron_hz``, ``rate_surrogate_hz`` (whole
        run), ``mae_hz``, ``tail_ms``, ``tail_rate_neuron_hz``, ``tail_rate_surrogate_hz``,
        ``tail_mae_hz``.
    """
    amps = np.array(FI_AMPLITUDES) * cell.i_scale / 0.3
    cfg = GroundTruthConfig(**{**config.__dict__, "duration": duration,
                               "n_trials": len(amps)})
    trials = [dict(family="fi", tau_e=None, tau_i=None, w_e=0.0, w_i=0.0, exc=np.zeros(0),
                   inh=np.zeros(0), current=("dc", np.array([0.0]), np.array([a])))
              for a in amps]
    raw = simulate(cfg, trials)
    rate_nrn = np.array([len(s) for s in raw["spikes"]]) * 1000.0 / duration
    tail_nrn = np.array([np.sum(np.asarray(s) >= duration - tail) for s in raw["spikes"]])
    n_drive = int(round(duration / getattr(runtime, "drive_dt", runtime.native_dt)))
    drive = np.zeros((len(amps), n_drive, runtime.n_channels), np.float32)
    drive[:, :, runtime.channels.index("i_inj")] = amps[:, None]
    _, spk = run_runtime(runtime, drive)
    rate_sur = spk.sum(1) * 1000.0 / duration
    tail_bins = int(round(tail / runtime.output_dt))
    tail_sur = spk[:, -tail_bins:].sum(1)
    tail_nrn, tail_sur = tail_nrn * 1000.0 / tail, tail_sur * 1000.0 / tail
    return dict(amplitudes_na=amps.tolist(), duration_ms=float(duration),
                rate_neuron_hz=rate_nrn.tolist(), rate_surrogate_hz=rate_sur.tolist(),
                mae_hz=float(np.mean(np.abs(rate_nrn - rate_sur))), tail_ms=float(tail),
                tail_rate_neuron_hz=tail_nrn.tolist(),
                tail_rate_surrogate_hz=tail_sur.tolist(),
                tail_mae_hz=float(np.mean(np.abs(tail_nrn - tail_sur))))


STEADY_REGIMES = ((2.0, 100.0), (0.65, 300.0), (2.0, 50.0))  # (EPSP mV, input rate Hz)


def steady_drive_check(runtime, config, cell, n_cells=100, duration=4000.0, seed=7):
    """Rates under steady excitatory Poisson drive (no inhibition), surrogate vs NEURON.

    The drive of most network scripts: each cell gets constant-rate Poisson input through
    synapses at the cell type's default time constant, with EPSPs of the sizes in
    ``STEADY_REGIMES``. Firing there is fluctuation driven, so it is sensitive to how well
    the surrogate keeps the variance of the subthreshold membrane potential.

    Returns
    -------
    list of dict
        Per regime: ``epsp_mv``, ``input_rate_hz``, ``weight``, ``rate_neuron_hz``,
        ``rate_surrogate_hz``, ``rate_error_pct``, ``v_sd_neuron_mv`` and
        ``v_sd_surrogate_mv`` (below -55 mV).
    """
    rng = np.random.default_rng(seed)
    cfg = GroundTruthConfig(**{**config.__dict__, "duration": duration, "n_trials": n_cells})
    tau = cell.tau_defaults[0]
    out = []
    for epsp, rate in STEADY_REGIMES:
        weight = excitatory_weight(cell, epsp, tau)
        trials = [dict(family="steady", tau_e=None, tau_i=None, w_e=weight, w_i=0.0,
                       exc=np.sort(rng.uniform(cfg.lead_in, duration,
                                               rng.poisson(rate * duration / 1000.0))),
                       inh=np.zeros(0), current=None) for _ in range(n_cells)]
        data = resample(cfg, simulate(cfg, trials), cell.drive_channels)
        v, spikes = run_runtime(runtime, data["drive"])
        skip = int(round(100.0 / runtime.output_dt))           # first 100 ms
        true_v, pred_v = data["v"][:, skip:], v[:, skip:]
        r_true = data["spike_counts"].mean() * 1000.0 / duration
        r_pred = spikes.sum(1).mean() * 1000.0 / duration
        out.append(dict(epsp_mv=epsp, input_rate_hz=rate, weight=float(weight),
                        rate_neuron_hz=float(r_true), rate_surrogate_hz=float(r_pred),
                        rate_error_pct=float(100.0 * (r_pred - r_true) / max(r_true, 1e-9)),
                        v_sd_neuron_mv=float(true_v[true_v < -55.0].std()),
                        v_sd_surrogate_mv=float(pred_v[pred_v < -55.0].std())))
    return out


def runtime_speed(runtime, n_cells=5000, sim_ms=200.0, window_ms=1.0, seed=0):
    """Wall time of ``runtime.run`` per cell per simulated ms (torch threads as set).

    Runs ``n_cells`` cells for ``sim_ms`` in calls of ``window_ms`` (as the engine does for a
    1 ms minimum delay) on random moderate drive.

    Returns
    -------
    dict
        ``us_per_cell_per_ms``, ``n_cells``, ``sim_ms``, ``window_ms``, ``threads``.
    """
    import time
    g = torch.Generator().manual_seed(seed)
    per = int(round(window_ms / runtime.drive_dt))
    n_win = int(round(sim_ms / window_ms))
    scale = torch.tensor([0.005, 0.01, 0.1][:runtime.n_channels])
    drive = (torch.rand(per, n_cells, runtime.n_channels, generator=g) * scale).to(
        runtime.device, runtime.dtype)
    state = runtime.initial_state(n_cells, runtime.reference)
    runtime.run(drive, state)                                  # warm-up
    t0 = time.perf_counter()
    for _ in range(n_win):
        _, _, state = runtime.run(drive, state)
    wall = time.perf_counter() - t0
    return dict(us_per_cell_per_ms=wall / n_cells / sim_ms * 1e6, n_cells=n_cells,
                sim_ms=sim_ms, window_ms=window_ms, threads=torch.get_num_threads())


REGRESSION_TRIALS = 40
REGRESSION_SEED = 12345


def reference_cell_config(config):
    """The ground-truth configuration of the checks that run the reference cell.

    For a conditioned surrogate the stability, f-I and regression checks run the card's
    reference parameter set: the configuration with its parameter draws turned off.
    """
    return replace(config, conditioned=False, condition_ranges=())


def regression_check(runtime, config, cell, n_trials=REGRESSION_TRIALS, seed=REGRESSION_SEED):
    """Accuracy on a small, seeded, freshly simulated trial set (no cache).

    Recorded in the card so that ``tests/test_training.py`` can re-run exactly the same
    trials and compare tightly (the set is deterministic: same generator config, seed).
    """
    from .groundtruth import generate
    cfg = GroundTruthConfig(**{**config.__dict__, "n_trials": n_trials, "seed": seed})
    data = generate(cfg, cache_dir=False, verbose=False)
    trains = np.split(data["spike_times"], np.cumsum(data["spike_counts"])[:-1])
    res = accuracy(runtime, data["drive"], data["v"], trains, config.output_dt,
                   cfg.duration, cell.v_clip, trial_spread=True)
    res.update(seed=seed)
    return res


def evaluate_package(pkg, data, test_idx, config, cell, stability_ms=100000.0,
                     with_fi=True, with_regression=True):
    """All evaluation numbers of a package (held-out accuracy, stability, f-I curve).

    Parameters
    ----------
    pkg : CellTypePackage
    data : dict
        Ground-truth data set.
    test_idx : array of int
        Held-out trials.
    config : GroundTruthConfig
    cell : CellSpec
    stability_ms : float
        Length of the stability runs (ms).
    with_fi : bool
        Also measure the f-I curve (runs NEURON).
    with_regression : bool
        Also record :func:`regression_check` (runs NEURON on 40 fresh seeded trials).

    Returns
    -------
    dict
    """
    torch.set_num_threads(1)
    rt = pkg.runtime("cpu")
    trains = np.split(data["spike_times"], np.cumsum(data["spike_counts"])[:-1])
    conditions = None
    if rt.condition_names:
        conditions = {name: data["params"][test_idx, j]
                      for j, name in enumerate(rt.condition_names)}
    extra = {name: values[test_idx] for name, values in extra_outputs(data).items()}
    res = dict(test=accuracy(rt, data["drive"][test_idx], data["v"][test_idx],
                             [trains[i] for i in test_idx], pkg.output_dt, config.duration,
                             cell.v_clip, conditions, extra))
    res["test"]["trial_seconds"] = float(config.duration / 1000.0)
    if rt.condition_names:
        from .domain_evaluation import evaluate_parameter_sets
        res["parameter_sets"] = evaluate_parameter_sets(rt, config, cell)
        config = reference_cell_config(config)        # the checks below: reference cell
    res["stability"] = stability(rt, cell, stability_ms)
    if with_fi:
        res["fi_curve"] = fi_curve(rt, config, cell)
        res["steady_drive"] = steady_drive_check(rt, config, cell)
    if with_regression:
        res["regression"] = regression_check(rt, config, cell)
    res["speed"] = runtime_speed(rt)
    res["v_rest_mv"] = rt.v_rest
    return res
