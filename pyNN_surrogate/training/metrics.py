"""Accuracy metrics of a surrogate against ground truth (pure numpy)."""

import numpy as np


def match_spikes(true, pred, tol):
    """Number of one-to-one matches between two spike trains within ``tol``.

    Every spike is matched at most once; a pair matches when ``|t_true - t_pred| <= tol``.
    The greedy sweep over both sorted trains (each predicted spike takes the earliest
    unmatched true spike still in reach) gives a maximum matching for this interval problem.

    Parameters
    ----------
    true, pred : array-like of float
        Spike times (ms).
    tol : float
        Tolerance (ms).

    Returns
    -------
    int
    """
    true = np.sort(np.asarray(true, float))
    pred = np.sort(np.asarray(pred, float))
    i = j = n = 0
    eps = 1e-9
    while i < len(true) and j < len(pred):
        d = pred[j] - true[i]
        if d < -tol - eps:      # predicted spike too early for every remaining true spike
            j += 1
        elif d > tol + eps:     # true spike can no longer be matched
            i += 1
        else:
            n += 1
            i += 1
            j += 1
    return n


def spike_scores(true_trains, pred_trains, tol):
    """Precision, recall and F1 pooled over trials.

    Parameters
    ----------
    true_trains, pred_trains : list of array-like
        Spike times (ms) per trial.
    tol : float
        Matching tolerance (ms).

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f1``, ``n_true``, ``n_pred``, ``n_matched``. With no
        spikes at all on either side every score is 1.
    """
    n_match = sum(match_spikes(t, p, tol) for t, p in zip(true_trains, pred_trains))
    n_true = int(sum(len(t) for t in true_trains))
    n_pred = int(sum(len(p) for p in pred_trains))
    precision = n_match / n_pred if n_pred else float(n_true == 0)
    recall = n_match / n_true if n_true else float(n_pred == 0)
    f1 = (2 * precision * recall / (precision + recall)) if precision + recall else 0.0
    return dict(precision=precision, recall=recall, f1=f1, n_true=n_true, n_pred=n_pred,
                n_matched=int(n_match))


def f1_trial_spread(true_trains, pred_trains, tol, quantiles=(0.01, 0.99), n_draws=2000,
                    seed=0):
    """Sampling spread of the pooled F1 of a set of trials (bootstrap over trials).

    Trials are redrawn with replacement, so that trials with many spikes weigh as they do
    in the pooled score.

    Parameters
    ----------
    true_trains, pred_trains : list of array-like
        Spike times (ms) per trial.
    tol : float
        Matching tolerance (ms).
    quantiles : tuple of float
        Quantiles of the bootstrap distribution to return.
    n_draws : int
    seed : int

    Returns
    -------
    list of float
        The F1 at each quantile.
    """
    n_true = np.array([len(t) for t in true_trains], float)
    n_pred = np.array([len(p) for p in pred_trains], float)
    n_match = np.array([match_spikes(t, p, tol) for t, p in zip(true_trains, pred_trains)],
                       float)
    draws = np.random.default_rng(seed).integers(0, len(n_true), (n_draws, len(n_true)))
    denominators = n_true[draws].sum(1) + n_pred[draws].sum(1)
    f1 = np.where(denominators > 0, 2 * n_match[draws].sum(1) / np.maximum(denominators, 1),
                  1.0)
    return [float(q) for q in np.quantile(f1, quantiles)]


def rate_mae(true_trains, pred_trains, duration):
    """Mean absolute firing-rate error (Hz) over trials of length ``duration`` (ms)."""
    nt = np.array([len(t) for t in true_trains], float)
    npred = np.array([len(p) for p in pred_trains], float)
    return float(np.mean(np.abs(nt - npred)) * 1000.0 / duration)


def v_scores(v_true, v_pred, clip=None):
    """Pearson r and variance explained of membrane potential traces.

    Parameters
    ----------
    v_true, v_pred : array-like
        Same shape; flattened.
    clip : float, optional
        Clip both traces from above at this level (mV) first.

    Returns
    -------
    dict
        ``r`` and ``variance_explained`` (1 - MSE / var(v_true)), and ``rmse`` (mV).
    """
    a = np.asarray(v_true, np.float64).ravel()
    b = np.asarray(v_pred, np.float64).ravel()
    if clip is not None:
        a, b = np.minimum(a, clip), np.minimum(b, clip)
    mse = float(np.mean((a - b) ** 2))
    var = float(np.var(a))
    sa, sb = a.std(), b.std()
    r = float(np.mean((a - a.mean()) * (b - b.mean())) / (sa * sb)) if sa > 0 and sb > 0 \
        else float("nan")
    return dict(r=r, variance_explained=1.0 - mse / var if var > 0 else float("nan"),
                rmse=float(np.sqrt(mse)))


def bins_to_times(spike_bins, output_dt):
    """Spike times (ms, bin centres) per trial from a bool array [n_trials, n_bins]."""
    return [(np.flatnonzero(row) + 0.5) * output_dt for row in np.asarray(spike_bins)]


def split_trains(flat, counts):
    """Split a flat array of spike times into per-trial arrays given per-trial counts."""
    return np.split(np.asarray(flat, float), np.cumsum(counts)[:-1])


def hamming_smooth(traces, window_ms, dt):
    """Each row of ``traces`` (sampled every ``dt`` ms) convolved with a normalised Hamming
    window of ``window_ms`` ("same" length): hnn-core's ``Dipole.smooth`` convention."""
    if window_ms <= 0 or dt <= 0:
        raise ValueError("window_ms and dt must be > 0")
    window = np.hamming(max(int(round(window_ms / dt)), 1))
    window /= window.sum()
    rows = np.atleast_2d(np.asarray(traces, np.float64))
    return np.array([np.convolve(row, window, mode="same") for row in rows])
