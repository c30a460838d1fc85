"""Random input trials for the detailed HNN cells' ground truth (:mod:`.hnn_groundtruth`).

Every trial drives a cell through its contact-site channels (``"<group>.<receptor>"``) with
merged Poisson trains, each with its own piecewise-constant rate profile (pauses and bursts
included, as for the point cells), and optionally a somatic current (DC, steps or noise).
Trial kinds:

* ``silent``: no input at all (the cell must stay at rest);
* ``synaptic``: a random subset of the site groups is active; an excitatory and an
  inhibitory drive level per trial scale the rates of all channels, so that trials range from
  subthreshold to strongly driven;
* ``synaptic+current``: the same, plus a somatic current;
* ``current``: a somatic current only (current-clamp protocols, f-I curves).

The weights per event are drawn log-uniformly per channel from receptor-specific ranges
(:data:`EVENT_WEIGHTS`); the rates follow from a target mean conductance per site group
(:data:`MEAN_CONDUCTANCE`, times the trial's drive level, times a per-channel factor between
0.3 and 3), with HNN's synapse kinetics (:data:`HNN_KINETICS`).
"""

from dataclasses import dataclass

import numpy as np

from .stimuli import draw_current, log_uniform, poisson_train, rate_profile
from ..surrogates.layouts import HNN_KINETICS
from .hnn_groundtruth import check_trial

# Event weights (uS) per receptor, log-uniform: HNN's drives use weights of this order per
# synapse (hnn-core's default evoked and Poisson drives, 1e-4 to 1e-2 uS).
EVENT_WEIGHTS = {"ampa": (2e-4, 4e-3), "nmda": (1e-4, 2e-3),
                 "gabaa": (5e-4, 1e-2), "gabab": (2e-4, 4e-3)}
# Mean conductance (uS) of one channel at drive level 1.
MEAN_CONDUCTANCE = {"ampa": 2e-3, "nmda": 5e-4, "gabaa": 2e-3, "gabab": 5e-4}
MAX_RATE = 5000.0          # Hz, cap on one merged train (the weight grows above it)


@dataclass
class HNNInputConfig:
    """Settings of the random trials of one HNN ground-truth data set.

    Parameters
    ----------
    n_trials : int
    duration : float
        Trial length (ms), lead-in included.
    seed : int
    lead_in : float
        Input-free start of every trial (ms).
    p_silent, p_current_only, p_current : float
        Fractions of silent trials, current-only trials, and synaptic trials that also get a
        somatic current.
    p_group_active : float
        Probability that a site group receives input in a synaptic trial (at least one does).
    exc_level, inh_level : (float, float)
        Log-uniform ranges of the trial's excitatory and inhibitory drive levels (multiples
        of :data:`MEAN_CONDUCTANCE`).
    i_scale : float
        Current scale (nA) of the somatic currents (about the cell's rheobase).
    dt : float
        Simulation step (ms); input times are kept after the first step.
    """

    n_trials: int = 1000
    duration: float = 1000.0
    seed: int = 0
    lead_in: float = 20.0
    p_silent: float = 0.03
    p_current_only: float = 0.2
    p_current: float = 0.15
    p_group_active: float = 0.6
    exc_level: tuple = (0.05, 8.0)
    inh_level: tuple = (0.02, 4.0)
    i_scale: float = 0.5
    dt: float = 0.025

    def __post_init__(self):
        fractions = (self.p_silent, self.p_current_only, self.p_current, self.p_group_active)
        if any(not 0.0 <= p <= 1.0 for p in fractions):
            raise ValueError("probabilities must lie in [0, 1]")
        if self.p_silent + self.p_current_only > 1.0:
            raise ValueError("p_silent + p_current_only must not exceed 1")
        if self.n_trials < 1 or self.duration <= self.lead_in:
            raise ValueError("need n_trials >= 1 and duration > lead_in")


def exp2_area(tau1, tau2):
    """Time integral (ms) of NEURON's Exp2Syn kernel for a unit weight: its peak-normalised
    difference of exponentials, ``factor * (tau2 - tau1)``."""
    t_peak = tau1 * tau2 / (tau2 - tau1) * np.log(tau2 / tau1)
    factor = 1.0 / (np.exp(-t_peak / tau2) - np.exp(-t_peak / tau1))
    return float(factor * (tau2 - tau1))


def _channel_train(rng, config, receptor, level):
    """Event times (ms) and weight (uS) of one channel at drive ``level``."""
    weight = log_uniform(rng, *EVENT_WEIGHTS[receptor])
    mean = MEAN_CONDUCTANCE[receptor] * level * log_uniform(rng, 0.3, 3.0)
    area = exp2_area(HNN_KINETICS[receptor]["tau1"], HNN_KINETICS[receptor]["tau2"])
    rate = mean / (weight * area * 1e-3)
    if rate > MAX_RATE:
        rate, weight = MAX_RATE, mean / (MAX_RATE * area * 1e-3)
    edges, levels = rate_profile(rng, config.duration, config.lead_in)
    return poisson_train(rng, edges, levels, rate, config.dt), float(weight)


def draw_hnn_trials(layout, config):
    """Draw ``config.n_trials`` trials for ``layout`` (see the module docstring).

    Returns
    -------
    list of dict
        ``duration``, ``kind``, ``inputs`` {channel: (times ms, weight uS)}, ``current``
        ((times ms, amplitudes nA) or None), ``exc_level``, ``inh_level``; valid for
        :func:`.hnn_groundtruth.simulate`.
    """
    rng = np.random.default_rng(config.seed)
    trials = []
    for _ in range(config.n_trials):
        u = rng.random()
        if u < config.p_silent:
            kind = "silent"
        elif u < config.p_silent + config.p_current_only:
            kind = "current"
        else:
            kind = "synaptic+current" if rng.random() < config.p_current else "synaptic"
        trial = dict(duration=config.duration, kind=kind, inputs={}, current=None,
                     exc_level=0.0, inh_level=0.0)
        if kind.startswith("synaptic"):
            active = [g for g in layout.groups if rng.random() < config.p_group_active]
            if not active:
                active = [layout.groups[rng.integers(len(layout.groups))]]
            trial["exc_level"] = log_uniform(rng, *config.exc_level)
            trial["inh_level"] = log_uniform(rng, *config.inh_level)
            for group in active:
                for receptor in group.receptors:
                    level = trial["inh_level" if receptor.startswith("gaba") else "exc_level"]
                    # kept even without events in this trial (a very low drive level)
                    trial["inputs"][f"{group.name}.{receptor}"] = _channel_train(
                        rng, config, receptor, level)
        if kind in ("current", "synaptic+current"):
            _, times, amps = draw_current(rng, config.duration, config.lead_in,
                                           config.i_scale)
            trial["current"] = (times, amps)
        check_trial(layout, trial)
        trials.append(trial)
    return trials
