"""Random input primitives of the ground-truth trials: rate profiles with bursts, Poisson
spike trains, and injected currents (DC, steps, noise), shared by the point-cell generator
(:mod:`.groundtruth`) and the detailed-cell one (:mod:`.hnn_inputs`).

Times are in ms, rates in Hz, currents in nA. Every function takes a ``numpy`` random
generator, so a trial's inputs follow from the seed alone.
"""

import numpy as np

MIN_GAP = 1e-6  # ms, minimum interval between input spikes of one train
MAX_PROFILE_LEVEL = 30.0  # highest relative rate of a profile: level 3 x burst factor 10
NOISE_DTS = (0.1, 0.5, 1.0, 2.0, 5.0)  # ms, update intervals of the noisy currents


def log_uniform(rng, lo, hi):
    """One value drawn log-uniformly from [lo, hi]."""
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def rate_profile(rng, duration, lead_in, p_zero=0.15, p_burst=0.3):
    """Piecewise-constant relative rate profile: (edges [m+1], levels [m]), ms."""
    edges, levels = [0.0, lead_in], [0.0]
    t = lead_in
    while t < duration:
        seg = max(10.0, rng.exponential(250.0))
        level = 0.0 if rng.random() < p_zero else log_uniform(rng, 0.1, 3.0)
        t = min(duration, t + seg)
        edges.append(t)
        levels.append(level)
    edges, levels = np.array(edges), np.array(levels)
    if rng.random() < p_burst:  # short bursts on top of the profile
        n_burst = rng.poisson(2.0 * duration / 1000.0)
        for _ in range(n_burst):
            start = rng.uniform(lead_in, duration)
            stop = min(duration, start + rng.uniform(5.0, 30.0))
            factor = rng.uniform(3.0, 10.0)
            edges, levels = _overlay(edges, levels, start, stop, factor)
    return edges, levels


def _overlay(edges, levels, start, stop, factor):
    """Multiply a piecewise-constant profile by ``factor`` (min level 0.3) on [start, stop)."""
    new_edges = np.unique(np.concatenate([edges, [start, stop]]))
    mids = 0.5 * (new_edges[:-1] + new_edges[1:])
    new_levels = levels[np.searchsorted(edges, mids, side="right") - 1]
    inside = (mids >= start) & (mids < stop)
    new_levels[inside] = np.maximum(new_levels[inside], 0.3) * factor
    return new_edges, new_levels


def poisson_train(rng, edges, levels, rate, dt):
    """Inhomogeneous Poisson train (ms, strictly increasing) for a piecewise rate profile."""
    times = []
    for t0, t1, level in zip(edges[:-1], edges[1:], levels):
        lam = rate * level * (t1 - t0) / 1000.0
        if lam > 0:
            times.append(rng.uniform(t0, t1, rng.poisson(lam)))
    if not times:
        return np.zeros(0)
    t = np.sort(np.concatenate(times))
    # NEURON's VecStim stops a train at a time that is not strictly after the previous one
    # (rounding of event times), so keep times apart; drops are rare (gaps ~ 1e-6 ms).
    keep = np.ones(len(t), bool)
    keep[1:] = np.diff(t) > MIN_GAP
    t = t[keep]
    return t[t > dt]


def draw_current(rng, duration, lead_in, i_scale, i_max=3.0):
    """One injected current as a step function: (times, amplitudes) in ms, nA."""
    grid = 0.1  # change times on a 0.1 ms grid, representable at both usual user dts
    kind = rng.choice(["dc", "step", "noisy"], p=[0.3, 0.4, 0.3])
    if kind == "dc":
        start = rng.uniform(lead_in, 0.5 * duration)
        stop = duration if rng.random() < 0.5 else rng.uniform(start + 50, duration + 50)
        amp = rng.uniform(-0.5, i_max - 0.5) * i_scale
        times, amps = [start, stop], [amp, 0.0]
    elif kind == "step":
        times, amps, t = [], [], lead_in
        while t < duration:
            times.append(t)
            amps.append(0.0 if rng.random() < 0.2 else rng.uniform(-1.0, i_max) * i_scale)
            t += max(10.0, rng.exponential(200.0))
    else:
        start = rng.uniform(lead_in, 0.5 * duration)
        stop = rng.uniform(start + 100.0, duration + 100.0)
        noise_dt = float(rng.choice(NOISE_DTS))
        mean = rng.uniform(-0.5, 2.0) * i_scale
        stdev = rng.uniform(0.1, 1.5) * i_scale
        times = np.arange(start, min(stop, duration), noise_dt)
        amps = list(mean + stdev * rng.standard_normal(len(times)))
        times, amps = list(times), amps + [0.0]
        times.append(min(stop, duration))
    times = np.round(np.asarray(times, float) / grid) * grid
    amps = np.asarray(amps, float)
    keep = np.concatenate([np.diff(times) > 0, [True]]) & (times < duration)
    return str(kind), times[keep], amps[keep]
