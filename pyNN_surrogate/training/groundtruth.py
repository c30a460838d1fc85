"""Ground truth for surrogate training: pyNN.neuron simulations of a PyNN standard cell.

Many trials are simulated as many independent cells in one NEURON run. Every trial is one cell
with its own excitatory and inhibitory spike trains (one ``SpikeSourceArray`` each, standing for
the merged input of many presynaptic cells, with piecewise-constant changing rates and bursts)
and, in about a third of the trials, its own injected current (DC, steps or noise, all given to
NEURON as a ``StepCurrentSource`` so that the drive is known exactly).

The network first settles for ``settle`` ms without input; this part is discarded, so every
trial starts at rest. Each trial also begins with a short input-free ``lead_in``.

The recorded traces (at ``dt``) are then turned into surrogate training data exactly as the
architecture contract's *Time* section says: the drive of each drive bin (``drive_dt``, by
default the native step) is the mean of the exact drive sampled at the ``dt`` points inside
the bin, with the engine's convention for the exact drive (see :func:`exact_drive`); ``v`` is sampled at the end of every
``output_dt`` bin; a spike at time ``t`` falls into bin ``floor(t / output_dt)``.
"""

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .celltypes import get_cell_spec
from .stimuli import (MAX_PROFILE_LEVEL, draw_current, log_uniform, poisson_train,
                      rate_profile)

DATA_VERSION = 4  # bump when the generator changes, so stale caches are not reused
AUX_PREFIX = "aux:"    # data-set keys of the auxiliary outputs (see CellSpec.aux_outputs)


@dataclass
class GroundTruthConfig:
    """Settings of one ground-truth data set.

    Parameters
    ----------
    celltype : str
        PyNN standard cell type name.
    n_trials : int
        Number of trials (independent cells).
    duration : float
        Length of every trial (ms), lead-in included.
    seed : int
        Seed of the input generator.
    dt : float
        NEURON time step (ms).
    native_dt, output_dt : float
        Surrogate native and output steps (ms).
    drive_dt : float or None
        Width (ms) of the drive averaging bins (a divisor of ``native_dt``, a multiple of
        ``dt``); ``None`` means ``native_dt`` (one drive sample per native step).
    settle : float
        Input-free time simulated and discarded before every trial (ms).
    lead_in : float
        Input-free start of every recorded trial (ms).
    current_fraction : float
        Fraction of trials with injected current.
    max_rate : float
        Cap on the merged input rate of one spike train (Hz).
    p_default_tau : float
        Fraction of trials using the cell type's default synaptic time constants (the others
        draw them log-uniformly over the cell spec's declared ``tau_e``/``tau_i`` ranges).
    current_max : float
        Largest DC/step current drawn, in units of the cell spec's ``i_scale``.
    driven_g : tuple of float
        Log-uniform range of the mean excitatory conductance of "driven" trials, in units of
        the cell's leak conductance.
    p_stationary : float
        Fraction of trials whose input rates are constant after the lead-in (no modulation,
        no bursts), half of them without inhibition: the steady Poisson drive most network
        scripts use.
    p_current_only : float
        Fraction of trials with injected current (DC, steps or noise) and no synaptic input:
        the current-clamp protocols (f-I curves, sustained DC).
    conditioned : bool
        Draw the intrinsic parameters the cell spec declares ``conditioned`` anew for every
        trial (from their ranges, under the spec's constraints), for a parameter-conditioned
        surrogate; input weights and currents are then sized relative to each trial's cell.
    cell_params : dict
        Cell parameters that differ from the PyNN defaults (fixed in every trial).
    condition_ranges : tuple of (name, lo, hi)
        Trained ranges that replace the cell spec's own for some conditioned parameters
        (only with ``conditioned``); see :meth:`CellSpec.with_ranges`.
    """

    celltype: str = "HH_cond_exp"
    n_trials: int = 480
    duration: float = 2000.0
    seed: int = 1
    dt: float = 0.025
    native_dt: float = 0.5
    output_dt: float = 0.1
    settle: float = 300.0
    lead_in: float = 20.0
    current_fraction: float = 1 / 3
    max_rate: float = 20000.0
    drive_dt: float = None
    p_default_tau: float = 0.3
    current_max: float = 3.0
    driven_g: tuple = (0.05, 2.0)
    p_stationary: float = 0.0
    p_current_only: float = 0.0
    conditioned: bool = False
    cell_params: dict = field(default_factory=dict)
    condition_ranges: tuple = ()

    @property
    def drive_bin(self):
        """Drive averaging bin (ms): ``drive_dt`` or, when unset, ``native_dt``."""
        return float(self.drive_dt or self.native_dt)

    def cell_spec(self):
        """The cell spec of these data: the cell type's, with ``condition_ranges`` applied."""
        spec = get_cell_spec(self.celltype)
        if self.condition_ranges and not self.conditioned:
            raise ValueError("condition_ranges needs conditioned=True")
        return spec.with_ranges(self.condition_ranges)

    def key(self):
        """Short hash identifying this configuration (used for cache file names)."""
        fields = asdict(self)
        for option in ("p_stationary", "p_current_only", "conditioned", "condition_ranges"):
            if not fields[option]:          # keys of data sets made before the option existed
                del fields[option]
        aux = get_cell_spec(self.celltype).aux_outputs
        if aux:                             # data sets of these cell types also hold them
            fields["aux_outputs"] = [name for name, _ in aux]
        text = json.dumps(dict(fields, version=DATA_VERSION), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def kernel_area(cell, tau):
    """Integral (ms) of the cell type's post-synaptic kernel of unit peak: ``tau`` for the
    exponential kernel, ``e * tau`` for the alpha kernel ``(t/tau) exp(1 - t/tau)``, 1 for a
    voltage jump (the weight is the whole effect)."""
    if cell.synapse == "delta":
        return 1.0
    return tau * (np.e if cell.kernel == "alpha" else 1.0)


def _conductance_weight(cell, psp_mv, tau, driving_force=65.0):
    """Conductance (uS) whose charge moves v by about ``psp_mv`` at ``driving_force`` mV."""
    return psp_mv * cell.cm / (kernel_area(cell, tau) * driving_force)


def _current_weight(cell, psp_mv, tau):
    """Current amplitude (nA) whose charge moves v by about ``psp_mv``."""
    return psp_mv * cell.cm / kernel_area(cell, tau)


def excitatory_weight(cell, epsp_mv, tau):
    """Excitatory synaptic weight (uS; nA for current-based cells, mV for voltage jumps)
    that gives an EPSP of about ``epsp_mv`` at rest with synaptic time constant ``tau``
    (ms)."""
    if cell.synapse in ("current", "delta"):
        return _current_weight(cell, epsp_mv, tau)
    return _conductance_weight(cell, epsp_mv, tau)


def _max_rate(config, cell, tau):
    """Cap (Hz) on the base rate of one input train. pyNN.neuron's alpha synapses keep at
    most 1000 pending events, each for 20 tau: stay below half that at the highest level a
    rate profile reaches (:data:`MAX_PROFILE_LEVEL`)."""
    if cell.kernel == "alpha":
        queue_rate = 500.0 / (20.0 * tau) * 1000.0 / MAX_PROFILE_LEVEL
        return min(config.max_rate, queue_rate)
    return config.max_rate


def _rate_and_weight(mean, weight, area, max_rate):
    """Input rate (Hz) giving mean drive ``mean`` with ``weight`` per event; above
    ``max_rate`` the weight grows instead."""
    if mean <= 0:
        return 0.0, weight
    rate = mean / (weight * area * 1e-3)
    if rate > max_rate:
        return max_rate, mean / (max_rate * area * 1e-3)
    return rate, weight


def draw_trials(config, parameter_sets=None):
    """Draw the random inputs of every trial.

    Parameters
    ----------
    config : GroundTruthConfig
    parameter_sets : list of dict, optional
        Conditioned parameters of every trial (one dict per trial), instead of drawing
        them; only with ``config.conditioned``.

    Returns
    -------
    list of dict
        One dict per trial with keys ``family``, ``tau_e``, ``tau_i`` (ms), ``w_e``, ``w_i``
        (uS, or nA for current-based cells), ``exc``, ``inh`` (spike times, ms from trial
        start), ``current`` (``None`` or ``(kind, times, amplitudes)``) and ``params`` (the
        trial's conditioned parameters, an empty dict unless ``config.conditioned``).
    """
    base_cell = config.cell_spec()
    rng = np.random.default_rng(config.seed)
    param_rng = np.random.default_rng([config.seed, 17])   # own stream: inputs stay comparable
    trials = []
    if parameter_sets is not None and (not config.conditioned
                                       or len(parameter_sets) != config.n_trials):
        raise ValueError("parameter_sets needs config.conditioned and one dict per trial")
    for k in range(config.n_trials):
        params = {}
        if parameter_sets is not None:
            params = dict(parameter_sets[k])
        elif config.conditioned:
            params = base_cell.draw_parameters(param_rng)
        cell = base_cell.scaled(params) if params else base_cell
        family = rng.choice(["silent", "sub", "driven"], p=[0.08, 0.22, 0.70])
        if rng.random() < config.p_default_tau:
            tau_e, tau_i = None, None  # the cell type's defaults
        else:
            tau_e, tau_i = log_uniform(rng, *cell.tau_e), log_uniform(rng, *cell.tau_i)
        te = tau_e if tau_e is not None else cell.tau_defaults[0]
        ti = tau_i if tau_i is not None else cell.tau_defaults[1]
        # weights from target PSP amplitudes (mV); mean conductances relative to g_leak
        dv_e, dv_i = log_uniform(rng, 0.1, 8.0), log_uniform(rng, 0.1, 5.0)
        g_e = {"silent": 0.0, "sub": log_uniform(rng, 0.01, 0.2),
               "driven": log_uniform(rng, *config.driven_g)}[family] * cell.g_leak
        g_i = 0.0 if rng.random() < 0.15 else log_uniform(rng, 0.05, 5.0) * cell.g_leak
        if family == "silent":
            g_i *= rng.uniform(0, 1) < 0.5
        w_e = _conductance_weight(cell, dv_e, te)
        w_i = _conductance_weight(cell, dv_i, ti, driving_force=15.0)
        area_e, area_i = kernel_area(cell, te), kernel_area(cell, ti)
        if cell.synapse in ("current", "delta"):
            # mean current (or jump rate) = g * driving force (no shunting), carried by
            # PSP-sized weights
            force_e, force_i = cell.current_driving_force
            w_e, w_i = _current_weight(cell, dv_e, te), _current_weight(cell, dv_i, ti)
            g_e, g_i = g_e * force_e, g_i * force_i     # nA
        r_e, w_e = _rate_and_weight(g_e, w_e, area_e, _max_rate(config, cell, te))
        r_i, w_i = _rate_and_weight(g_i, w_i, area_i, _max_rate(config, cell, ti))
        if cell.synapse in ("current", "delta"):
            w_i = -w_i
        if config.p_stationary > 0 and rng.random() < config.p_stationary:  # constant rates
            edges_e = edges_i = np.array([0.0, config.lead_in, config.duration])
            levels_e = levels_i = np.array([0.0, 1.0])
            if rng.random() < 0.5:
                r_i = 0.0
        else:
            edges_e, levels_e = rate_profile(rng, config.duration, config.lead_in)
            if rng.random() < 0.5:  # inhibition tracks excitation
                edges_i, levels_i = edges_e, levels_e
            else:
                edges_i, levels_i = rate_profile(rng, config.duration, config.lead_in)
        current = None
        if config.p_current_only > 0 and rng.random() < config.p_current_only:
            r_e = r_i = 0.0
            current = draw_current(rng, config.duration, config.lead_in, cell.i_scale,
                                    config.current_max)
        elif rng.random() < config.current_fraction:
            current = draw_current(rng, config.duration, config.lead_in, cell.i_scale,
                                    config.current_max)
        trials.append(dict(
            family=str(family), tau_e=tau_e, tau_i=tau_i, w_e=w_e, w_i=w_i,
            exc=poisson_train(rng, edges_e, levels_e, r_e, config.dt),
            inh=poisson_train(rng, edges_i, levels_i, r_i, config.dt),
            current=current, params=params))
    return trials


def trial_parameters(config, trials):
    """Conditioned parameters of every trial as [n_trials, n_conditioned] (PyNN units), in
    the order of the cell spec's ``conditioned`` ranges (no columns if not conditioned)."""
    names = [c.name for c in get_cell_spec(config.celltype).conditioned] \
        if config.conditioned else []
    return np.array([[t["params"][k] for k in names] for t in trials],
                    dtype=np.float64).reshape(len(trials), len(names))


def current_trace(times, amplitudes, t):
    """Exact value of a step current at times ``t`` (0 before the first step)."""
    idx = np.searchsorted(times, t + 1e-9, side="right") - 1
    out = np.where(idx >= 0, np.asarray(amplitudes)[np.maximum(idx, 0)], 0.0)
    return out


def simulate(config, trials):
    """Run all trials in one pyNN.neuron simulation.

    Parameters
    ----------
    config : GroundTruthConfig
    trials : list of dict
        As returned by :func:`draw_trials`.

    Returns
    -------
    dict
        ``v``, ``g_exc``, ``g_inh``, ``i_inj``: arrays [n_trials, n_samples] sampled every
        ``dt`` from the trial start (lead-in included, settle removed);
        ``spikes``: list of arrays of spike times (ms from trial start).
    """
    import pyNN.neuron as sim
    from pyNN.parameters import Sequence

    cell = get_cell_spec(config.celltype)
    dt, settle, n = config.dt, config.settle, len(trials)
    sim.setup(timestep=dt, min_delay=0.1)
    celltype_cls = getattr(sim, config.celltype)
    defaults = celltype_cls.default_parameters
    per_trial = {name: np.array([t["params"][name] for t in trials])
                 for name in (trials[0].get("params", {}) if trials else {})}
    tau_e = tau_i = None
    if cell.synapse != "delta":
        tau_e = np.array([t["tau_e"] or defaults["tau_syn_E"] for t in trials])
        tau_i = np.array([t["tau_i"] or defaults["tau_syn_I"] for t in trials])
        per_trial.update(tau_syn_E=tau_e, tau_syn_I=tau_i)
    pop = sim.Population(n, celltype_cls(**{**config.cell_params, **per_trial}))
    delay = 0.1
    sources = {}
    for name, key, receptor in (("exc", "w_e", "excitatory"), ("inh", "w_i", "inhibitory")):
        trains = [Sequence(t[name] + settle - delay) for t in trials]
        sources[name] = sim.Population(n, sim.SpikeSourceArray(spike_times=trains))
        conns = [(i, i, t[key], delay) for i, t in enumerate(trials)]
        sim.Projection(sources[name], pop, sim.FromListConnector(conns),
                       sim.StaticSynapse(), receptor_type=receptor)
    for i, t in enumerate(trials):
        if t["current"] is not None:
            _, times, amps = t["current"]
            src = sim.StepCurrentSource(times=times + settle, amplitudes=amps)
            src.inject_into(pop[i:i + 1])
    variables = ["v", "spikes"] + [name for name, _ in cell.aux_outputs]
    if cell.synapse == "conductance":
        variables += ["gsyn_exc", "gsyn_inh"]
    pop.record(variables)
    sim.run(settle + config.duration)
    seg = pop.get_data().segments[0]
    i0 = int(round(settle / dt))
    n_samples = int(round(config.duration / dt)) + 1
    out = {}
    for sig in seg.analogsignals:
        arr = np.asarray(sig.magnitude, dtype=np.float64).T  # [n, samples]
        out[sig.name] = arr[:, i0:i0 + n_samples]
    spikes = [None] * n
    for st in seg.spiketrains:
        idx = st.annotations.get("source_index")
        tt = np.asarray(st.magnitude, float) - settle
        spikes[idx] = tt[tt >= 0]
    sim.end()
    t_grid = np.arange(n_samples) * dt
    i_inj = np.zeros((n, n_samples))
    for i, t in enumerate(trials):
        if t["current"] is not None:
            i_inj[i] = current_trace(t["current"][1], t["current"][2], t_grid)
    res = {"v": out["v"], "i_inj": i_inj, "spikes": spikes, "tau_e": tau_e, "tau_i": tau_i}
    res.update({name: out[name] for name, _ in cell.aux_outputs})
    if cell.synapse == "conductance":
        res["g_exc"], res["g_inh"] = out["gsyn_exc"], out["gsyn_inh"]
    elif cell.synapse == "delta":
        res["v_jump"] = _voltage_jumps(trials, t_grid)
    else:
        res["i_inj"] = i_inj + _current_synapses(trials, tau_e, tau_i, t_grid, delay,
                                                 cell.kernel)
    return res


def _current_synapses(trials, tau_e, tau_i, t_grid, delay, kernel="exp"):
    """Exact synaptic currents (nA) of current-based cells on the dt grid, sample ``k`` being
    what NEURON applies during ``[t_k, t_k + dt)`` (see :func:`exact_drive`).

    * ``exp`` (ExpISyn): ``x[k] = x[k-1] exp(-dt/tau) + w * arrivals[k]``, arrivals on the
      grid.
    * ``alpha`` (AlphaISyn): ``sum_s w alpha((t_k + dt/2 - t_s) / tau)``, the kernel at the
      step's midpoint from the exact onset ``t_s`` of every event.
    """
    dt = t_grid[1] - t_grid[0]
    out = np.zeros((len(trials), len(t_grid)))
    synapse_current = _alpha_current if kernel == "alpha" else _exp_current
    for i, t in enumerate(trials):
        for name, key, tau in (("exc", "w_e", tau_e[i]), ("inh", "w_i", tau_i[i])):
            out[i] += synapse_current(np.asarray(t[name], float), t[key], tau, dt, len(t_grid))
    return out


def _voltage_jumps(trials, t_grid):
    """Jump rate (mV/ms) of voltage-jump synapses on the dt grid: the weights arriving at
    ``t_k`` (delivered at the start of step k) divided by dt."""
    dt = t_grid[1] - t_grid[0]
    out = np.zeros((len(trials), len(t_grid)))
    for i, t in enumerate(trials):
        for name, key in (("exc", "w_e"), ("inh", "w_i")):
            out[i] += t[key] / dt * _arrival_counts(np.asarray(t[name], float), dt, len(t_grid))
    return out


def _arrival_counts(onsets, dt, n):
    """Events per dt grid point (an event at ``t`` is delivered at ``round(t / dt)``)."""
    k = np.round(onsets / dt).astype(int)
    return np.bincount(k[k < n], minlength=n).astype(float)


def _exp_current(onsets, weight, tau, dt, n):
    from scipy.signal import lfilter
    return lfilter([weight], [1.0, -np.exp(-dt / tau)], _arrival_counts(onsets, dt, n))


def _alpha_current(onsets, weight, tau, dt, n):
    """``w (x) exp(1 - x)`` summed over events, at midpoints ``m_k = (k + 1/2) dt``: an event
    first counts at the first midpoint ``m_j >= t_s``; with ``delta = m_j - t_s`` its value at
    ``m_k`` is ``w e^(1 - delta/tau) (delta + (k - j) dt) / tau * d^(k - j)``, ``d =
    exp(-dt/tau)``, i.e. two impulse trains through first- and second-order filters."""
    from scipy.signal import lfilter
    j = np.ceil(onsets / dt - 0.5 - 1e-9).astype(int)
    keep = (j >= 0) & (j < n)
    j, delta = j[keep], (j[keep] + 0.5) * dt - onsets[keep]
    amp = weight * np.exp(1.0 - delta / tau)
    u = np.bincount(j, weights=amp, minlength=n)
    v = np.bincount(j, weights=amp * delta / tau, minlength=n)
    d = np.exp(-dt / tau)
    return (lfilter([1.0], [1.0, -d], v)
            + dt / tau * lfilter([0.0, d], [1.0, -2.0 * d, d * d], u))


def exact_drive(config, raw, channel):
    """The exact drive of one channel on the ``dt`` grid, [n, n_samples - 1].

    Sample ``k`` is what NEURON's fixed-step integrator applies during ``[t_k, t_k + dt)``
    (docs/architecture.md, "Engine details"): for exponential conductance synapses
    ``g(t_k+)`` (arrivals at ``t_k`` included) ``= recorded[k + 1] * exp(dt / tau)``, where
    pyNN.neuron records ``g(t_k-)``; for alpha conductance synapses the value NEURON applies
    during step ``k`` (its midpoint value) is what it records at ``t_{k+1}``; the injected
    current is its value at ``t_k`` (the step function including a change at ``t_k``, as
    pyNN.neuron records it). When ``raw`` carries no per-trial time constants the recorded
    samples are used as they are.
    """
    x = np.asarray(raw[channel], np.float64)
    tau_key = {"g_exc": "tau_e", "g_inh": "tau_i"}.get(channel)
    if tau_key is not None and get_cell_spec(config.celltype).kernel == "alpha":
        return x[:, 1:]
    if tau_key is not None and raw.get(tau_key) is not None:
        tau = np.asarray(raw[tau_key], np.float64).reshape(-1, 1)
        return x[:, 1:] * np.exp(config.dt / tau)
    return x[:, :-1]


def resample(config, raw, channels):
    """Turn raw dt-sampled traces into surrogate data (see the module docstring).

    Returns
    -------
    dict
        ``drive`` [n, n_drive, n_channels] (float32, PyNN units; ``n_drive = n_steps *
        native_dt / drive_dt``, each sample the mean of the exact drive (:func:`exact_drive`)
        at the ``dt`` points inside its drive bin), ``v`` [n, n_bins] (float32, mV, end of
        bins), ``spike_bins`` [n, n_bins] (uint8), ``spike_times`` (flat float64),
        ``spike_counts`` [n] (per-trial number of spikes) and, for a cell type with
        auxiliary outputs, ``aux:<name>`` [n, n_bins] sampled like v (see
        :func:`extra_outputs`).
    """
    per_drive = int(round(config.drive_bin / config.dt))
    per_bin = int(round(config.output_dt / config.dt))
    n_steps = int(round(config.duration / config.native_dt))
    n_drive = n_steps * int(round(config.native_dt / config.drive_bin))
    n_bins = n_steps * int(round(config.native_dt / config.output_dt))
    n = raw["v"].shape[0]
    drive = np.stack([exact_drive(config, raw, c)[:, :n_drive * per_drive]
                      .reshape(n, n_drive, per_drive).mean(-1)
                      for c in channels], axis=-1).astype(np.float32)
    v = raw["v"][:, per_bin:(n_bins + 1) * per_bin:per_bin].astype(np.float32)
    bins = np.zeros((n, n_bins), np.uint8)
    for i, st in enumerate(raw["spikes"]):
        b = np.floor(st / config.output_dt + 1e-6).astype(int)
        bins[i, b[b < n_bins]] = 1
    counts = np.array([len(s) for s in raw["spikes"]])
    flat = np.concatenate(raw["spikes"]) if n else np.zeros(0)
    out = dict(drive=drive, v=v, spike_bins=bins, spike_times=flat, spike_counts=counts)
    for name, _ in get_cell_spec(config.celltype).aux_outputs:   # as v: end of each bin
        out[AUX_PREFIX + name] = raw[name][:, per_bin:(n_bins + 1) * per_bin:per_bin] \
            .astype(np.float32)
    return out


def extra_outputs(data):
    """The auxiliary outputs of a data set as ``{name: [n, n_bins]}`` (the training loop's
    ``data["extra"]``), from their flat ``"aux:<name>"`` entries (which cache as they are)."""
    return {k[len(AUX_PREFIX):]: v for k, v in data.items() if k.startswith(AUX_PREFIX)}


def default_cache_dir():
    """Cache directory: ``$PYNN_SURROGATE_CACHE`` or ``~/.cache/pyNN_surrogate``."""
    return Path(os.environ.get("PYNN_SURROGATE_CACHE",
                               Path.home() / ".cache" / "pyNN_surrogate"))


def _simulate_and_resample(config, trials):
    """Simulate some trials and resample them (run in a fresh process per chunk)."""
    return resample(config, simulate(config, trials), get_cell_spec(config.celltype)
                    .drive_channels)


def _concatenate(parts):
    """Join resampled chunks (trial order kept)."""
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def generate(config, cache_dir=None, verbose=True, chunk_trials=None, workers=1):
    """Generate (or load from cache) the data set for ``config``.

    Trials are simulated in chunks of ``chunk_trials``, each in a fresh process, so that
    the memory of NEURON's dt-sampled recordings stays bounded. Every trial is an
    independent cell, so the result does not depend on the chunking.

    Parameters
    ----------
    config : GroundTruthConfig
    cache_dir : path-like, optional
        Where ``.npz`` files are cached; ``None`` uses :func:`default_cache_dir`; ``False``
        disables caching.
    verbose : bool
        Print what happens (with a progress bar over chunks).
    chunk_trials : int, optional
        Trials per NEURON run; default: 800 trial-seconds per run (400 trials of 2 s),
        about 3 GB of NEURON recordings.
    workers : int
        NEURON processes run at once.

    Returns
    -------
    dict
        As :func:`resample`, plus ``family`` [n] (str), ``has_current`` [n] (bool),
        ``params`` [n, n_conditioned] (see :func:`trial_parameters`) and ``neuron_seconds``
        (wall time of the NEURON run).
    """
    import time
    cache = None
    if cache_dir is not False:
        cache = Path(cache_dir or default_cache_dir()) / (
            f"gt_{config.celltype}_{config.key()}.npz")
        if cache.exists():
            if verbose:
                print(f"ground truth: loading {cache}")
            with np.load(cache) as f:
                return {k: f[k] for k in f.files}
    trials = draw_trials(config)
    if verbose:
        print(f"ground truth: simulating {len(trials)} trials x {config.duration} ms of "
              f"{config.celltype} in pyNN.neuron (dt {config.dt} ms)")
    if chunk_trials is None:
        chunk_trials = max(1, int(800000.0 / (config.duration + config.settle)))
    t0 = time.perf_counter()
    data = _simulate_in_chunks(config, trials, chunk_trials, workers, verbose)
    elapsed = time.perf_counter() - t0
    data["family"] = np.array([t["family"] for t in trials])
    data["params"] = trial_parameters(config, trials)
    data["has_current"] = np.array([t["current"] is not None for t in trials])
    data["neuron_seconds"] = np.array(elapsed)
    if verbose:
        rates = data["spike_counts"] / (config.duration / 1000.0)
        print(f"ground truth: {elapsed:.1f} s; silent {np.mean(rates == 0):.0%}, "
              f"median rate {np.median(rates):.1f} Hz, max {rates.max():.1f} Hz")
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, **data)
        tmp.replace(cache)
    return data


def _simulate_in_chunks(config, trials, chunk_trials, workers, verbose):
    """Resampled data of all trials, simulated chunk by chunk in child processes."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from tqdm import tqdm

    if chunk_trials < 1 or workers < 1:
        raise ValueError("chunk_trials and workers must be >= 1")
    chunks = [trials[i:i + chunk_trials] for i in range(0, len(trials), chunk_trials)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                             max_tasks_per_child=1) as pool:
        futures = [pool.submit(_simulate_and_resample, config, c) for c in chunks]
        parts = [f.result() for f in tqdm(futures, desc="NEURON chunks", disable=not verbose)]
    return _concatenate(parts)


def split_indices(n, fractions=(0.8, 0.1, 0.1), seed=0):
    """Split trial indices into train/val/test (by trial, seeded)."""
    perm = np.random.default_rng(seed).permutation(n)
    n_train = int(round(fractions[0] * n))
    n_val = int(round(fractions[1] * n))
    return perm[:n_train], perm[n_train:n_train + n_val], perm[n_train + n_val:]
