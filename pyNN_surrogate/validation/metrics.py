"""
Comparison metrics between a reference and a candidate recording (neo objects in, floats out).

Statistics that elephant provides come from elephant (``mean_firing_rate``, ``isi``, ``cv``,
``time_histogram``, ``van_rossum_distance``). The one-to-one spike matching (precision, recall,
F1 within a tolerance) and the membrane-potential scores are those of
:mod:`pyNN_surrogate.training.metrics`, so that a validation report and a cell-type card measure
accuracy the same way: a greedy sweep over both sorted trains in which each spike is matched at
most once and a pair matches when ``|t_ref - t_cand| <= tol``.

Spike trains are ``neo.SpikeTrain``; times in ms, rates in Hz, potentials in mV.
"""

import warnings

import numpy as np
import quantities as pq

from pyNN_surrogate.training.metrics import match_spikes, spike_scores, v_scores

__all__ = ["match_spikes", "spike_scores", "v_scores", "firing_rates", "cv_isi",
           "population_rate", "rate_correlation", "van_rossum", "spike_agreement",
           "ks_statistic", "signal_scores", "align_signals"]


def firing_rates(spiketrains):
    """Mean firing rate of each train (Hz), with elephant's ``mean_firing_rate``.

    Parameters
    ----------
    spiketrains : list of neo.SpikeTrain

    Returns
    -------
    numpy.ndarray
        One rate per train (Hz).
    """
    from elephant.statistics import mean_firing_rate

    return np.array([float(mean_firing_rate(st).rescale(pq.Hz).magnitude)
                     for st in spiketrains], dtype=float)


def cv_isi(spiketrains, min_spikes=3):
    """Coefficient of variation of the inter-spike intervals of each train (elephant).

    Parameters
    ----------
    spiketrains : list of neo.SpikeTrain
    min_spikes : int
        Trains with fewer spikes give NaN (a CV needs at least two intervals).

    Returns
    -------
    numpy.ndarray
        One CV per train (dimensionless, NaN where undefined).
    """
    from elephant.statistics import cv, isi

    values = []
    for st in spiketrains:
        if len(st) < min_spikes:
            values.append(np.nan)
        else:
            values.append(float(cv(isi(st).magnitude)))
    return np.array(values, dtype=float)


def population_rate(spiketrains, bin_size=5.0):
    """Population firing rate (Hz per cell) against time, with elephant's ``time_histogram``.

    Parameters
    ----------
    spiketrains : list of neo.SpikeTrain
        Same ``t_start`` and ``t_stop``.
    bin_size : float
        Bin width (ms).

    Returns
    -------
    times, rate : numpy.ndarray
        Bin left edges (ms) and mean rate per cell (Hz).
    """
    from elephant.statistics import time_histogram

    if not spiketrains:
        return np.array([]), np.array([])
    t_start = spiketrains[0].t_start.rescale(pq.ms)
    t_stop = spiketrains[0].t_stop.rescale(pq.ms)
    n_bins = int(np.floor(float((t_stop - t_start) / (bin_size * pq.ms)) + 1e-9))
    if n_bins < 1:
        return np.array([]), np.array([])
    t_stop = t_start + n_bins * bin_size * pq.ms
    histogram = time_histogram(spiketrains, bin_size=bin_size * pq.ms, t_start=t_start,
                               t_stop=t_stop, output="rate")
    times = histogram.times.rescale(pq.ms).magnitude
    return times, histogram.rescale(pq.Hz).magnitude.ravel()


def rate_correlation(rate_a, rate_b):
    """Pearson correlation of two population-rate time courses (NaN if either is flat)."""
    a = np.asarray(rate_a, float)
    b = np.asarray(rate_b, float)
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    if n < 2 or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def van_rossum(train_a, train_b, tau=10.0):
    """Van Rossum distance between two trains (elephant), tau in ms.

    With elephant's normalisation the squared distance between a train of n spikes and an empty
    train is about n (spikes further apart than tau), so ``d**2 / (n_a + n_b)`` lies in [0, ~1].
    """
    from elephant.spike_train_dissimilarity import van_rossum_distance

    if len(train_a) == 0 and len(train_b) == 0:
        return 0.0
    with warnings.catch_warnings():     # rounding: "very small negative values ... set to zero"
        warnings.simplefilter("ignore", RuntimeWarning)
        matrix = van_rossum_distance([train_a.rescale(pq.ms), train_b.rescale(pq.ms)],
                                     time_constant=tau * pq.ms)
    return float(matrix[0, 1])


def spike_agreement(ref_trains, cand_trains, tolerances=(2.0, 10.0), tau=10.0):
    """Per-cell spike-train agreement between paired trains (identical inputs).

    Parameters
    ----------
    ref_trains, cand_trains : list of neo.SpikeTrain
        Paired trains (same cell, same segment).
    tolerances : sequence of float
        Matching tolerances (ms).
    tau : float
        Van Rossum time constant (ms).

    Returns
    -------
    dict
        ``scores``: ``{tol: spike_scores(...)}`` pooled over cells; ``f1_per_cell``:
        ``{tol: array}`` (NaN where neither train has spikes); ``van_rossum``: array of
        per-cell distances; ``van_rossum_normalised``: ``sum(d**2) / sum(n_ref + n_cand)``
        (0 identical, about 1 completely different; 0 if there are no spikes).
    """
    ref = [np.asarray(st.rescale(pq.ms).magnitude) for st in ref_trains]
    cand = [np.asarray(st.rescale(pq.ms).magnitude) for st in cand_trains]
    scores, per_cell = {}, {}
    for tol in tolerances:
        scores[tol] = spike_scores(ref, cand, tol)
        f1 = []
        for r, c in zip(ref, cand):
            if len(r) == 0 and len(c) == 0:
                f1.append(np.nan)
            else:
                f1.append(spike_scores([r], [c], tol)["f1"])
        per_cell[tol] = np.array(f1, dtype=float)
    distances = np.array([van_rossum(a, b, tau) for a, b in zip(ref_trains, cand_trains)])
    n_total = sum(len(r) + len(c) for r, c in zip(ref, cand))
    normalised = float(np.sum(distances ** 2) / n_total) if n_total else 0.0
    return dict(scores=scores, f1_per_cell=per_cell, van_rossum=distances,
                van_rossum_normalised=normalised)


KS_DECIMALS = 6


def ks_statistic(sample_a, sample_b):
    """Two-sample Kolmogorov-Smirnov statistic (NaN values dropped; NaN if a sample is empty)."""
    from scipy.stats import ks_2samp

    a = np.asarray(sample_a, float)
    b = np.asarray(sample_b, float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    # rates from runs whose t_stop differs by float rounding (NEURON's 1000.0000000014 ms
    # against 1000 ms) must compare equal, or identical samples would give a KS of 1
    a, b = np.round(a, KS_DECIMALS), np.round(b, KS_DECIMALS)
    return float(ks_2samp(a, b).statistic)


def align_signals(signal_ref, signal_cand):
    """Sample two AnalogSignals on the reference times of their common span.

    The candidate is linearly interpolated onto the reference sample times (backends may
    record at different sampling intervals).

    Parameters
    ----------
    signal_ref, signal_cand : neo.AnalogSignal
        Shape ``[n_samples, n_channels]`` with the same channels.

    Returns
    -------
    times, ref, cand : numpy.ndarray
        Times (ms) ``[n]`` and values ``[n, n_channels]``.
    """
    t_ref = signal_ref.times.rescale(pq.ms).magnitude
    t_cand = signal_cand.times.rescale(pq.ms).magnitude
    units = signal_ref.units
    ref = signal_ref.magnitude
    cand = signal_cand.rescale(units).magnitude
    lo, hi = max(t_ref[0], t_cand[0]), min(t_ref[-1], t_cand[-1])
    keep = (t_ref >= lo - 1e-9) & (t_ref <= hi + 1e-9)
    times = t_ref[keep]
    if len(t_ref) == len(t_cand) and np.allclose(t_ref, t_cand):
        return times, ref[keep], cand[keep]
    cand_on_ref = np.column_stack([np.interp(times, t_cand, cand[:, j])
                                   for j in range(cand.shape[1])])
    return times, ref[keep], cand_on_ref


def signal_scores(ref, cand, clip=None):
    """Pearson r, RMSE and variance explained per channel of aligned signal arrays.

    Parameters
    ----------
    ref, cand : numpy.ndarray
        ``[n_samples, n_channels]``.
    clip : float, optional
        Clip both from above at this value first (e.g. -40 mV to remove spike peaks).

    Returns
    -------
    dict of numpy.ndarray
        ``r``, ``rmse``, ``variance_explained``, one value per channel.
    """
    out = {"r": [], "rmse": [], "variance_explained": []}
    for j in range(ref.shape[1]):
        scores = v_scores(ref[:, j], cand[:, j], clip=clip)
        for name in out:
            out[name].append(scores[name])
    return {name: np.array(values, dtype=float) for name, values in out.items()}
