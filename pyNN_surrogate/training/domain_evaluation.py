"""Accuracy of a parameter-conditioned surrogate across its parameter domain.

Random parameter sets are drawn from the cell spec's conditioned ranges (with a seed of their
own, so they are not the training draws); every set gets several fresh input trials, sized
for that cell as in training. The surrogate runs free from its resting state for that set, and
each set is scored against pyNN.neuron on its own. The card reports the median and the worst
decile over the sets.
"""

from dataclasses import replace

import numpy as np

from .groundtruth import draw_trials, resample, simulate
from .metrics import bins_to_times, rate_mae, spike_scores, v_scores

PARAMETER_SETS = 24
TRIALS_PER_SET = 8
PARAMETER_SEED = 4242


def draw_parameter_set_trials(config, cell, n_sets=PARAMETER_SETS,
                              trials_per_set=TRIALS_PER_SET, seed=PARAMETER_SEED):
    """The held-out parameter sets and their input trials (deterministic in `seed`).

    Returns
    -------
    sets : list of dict
        ``n_sets`` parameter sets drawn from the cell spec's conditioned ranges.
    config : GroundTruthConfig
        The configuration the trials were drawn with.
    trials : list of dict
        ``trials_per_set`` input trials per set, set after set (see ``draw_trials``).
    """
    rng = np.random.default_rng(seed)
    sets = [cell.draw_parameters(rng) for _ in range(n_sets)]
    per_trial = [p for p in sets for _ in range(trials_per_set)]
    cfg = replace(config, conditioned=True, n_trials=len(per_trial), seed=seed)
    return sets, cfg, draw_trials(cfg, per_trial)


def score_parameter_sets(runtime, config, cell, sets, trials, trials_per_set):
    """Simulate `trials` in pyNN.neuron and on the surrogate, free-running; score each set.

    Parameters
    ----------
    runtime : SurrogateRuntime
        A conditioned runtime.
    config : GroundTruthConfig
    cell : CellSpec
    sets : list of dict
        The parameter sets, in the order of `trials`.
    trials : list of dict
        ``trials_per_set`` trials per set, set after set.
    trials_per_set : int

    Returns
    -------
    list of dict
        Per set: ``params``, ``f1_2ms``, ``f1_10ms``, ``rate_mae_hz``, ``rate_true_hz``,
        ``v_r_clipped``.
    """
    from .evaluation import run_runtime

    if len(trials) != len(sets) * trials_per_set:
        raise ValueError(f"{len(trials)} trials for {len(sets)} sets of {trials_per_set}")
    data = resample(config, simulate(config, trials), cell.drive_channels)
    conditions = {name: np.array([t["params"][name] for t in trials])
                  for name in runtime.condition_names}
    v_pred, s_pred = run_runtime(runtime, data["drive"], conditions=conditions)
    trains = np.split(data["spike_times"], np.cumsum(data["spike_counts"])[:-1])
    pred = bins_to_times(s_pred, runtime.output_dt)
    rows = []
    for k, params in enumerate(sets):
        sl = slice(k * trials_per_set, (k + 1) * trials_per_set)
        true_k, pred_k = trains[sl], pred[sl]
        rows.append(dict(
            params={n: round(float(v), 4) for n, v in params.items()},
            f1_2ms=spike_scores(true_k, pred_k, 2.0)["f1"],
            f1_10ms=spike_scores(true_k, pred_k, 10.0)["f1"],
            rate_mae_hz=rate_mae(true_k, pred_k, config.duration),
            rate_true_hz=float(sum(map(len, true_k)) * 1000.0 / config.duration
                               / trials_per_set),
            v_r_clipped=v_scores(data["v"][sl], v_pred[sl], clip=cell.v_clip)["r"]))
    return rows


def evaluate_parameter_sets(runtime, config, cell, n_sets=PARAMETER_SETS,
                            trials_per_set=TRIALS_PER_SET, seed=PARAMETER_SEED):
    """Per-parameter-set accuracy, free-running against pyNN.neuron.

    Parameters
    ----------
    runtime : SurrogateRuntime
        A conditioned runtime.
    config : GroundTruthConfig
        The training data configuration (trial length, time steps, input ranges).
    cell : CellSpec
    n_sets, trials_per_set : int
    seed : int
        Seed of the parameter sets and of their input trials.

    Returns
    -------
    dict
        ``sets``: one dict per set (see :func:`score_parameter_sets`); ``median`` and
        ``worst_decile`` of each metric (10th percentile of F1 and r, 90th percentile of the
        rate error); ``n_sets``, ``trials_per_set``, ``seed``.
    """
    sets, cfg, trials = draw_parameter_set_trials(config, cell, n_sets, trials_per_set, seed)
    rows = score_parameter_sets(runtime, cfg, cell, sets, trials, trials_per_set)
    summary = {}
    for name, worst in (("f1_2ms", 10), ("f1_10ms", 10), ("rate_mae_hz", 90),
                        ("v_r_clipped", 10)):
        values = np.array([r[name] for r in rows], dtype=float)
        summary[name] = dict(median=float(np.nanmedian(values)),
                             worst_decile=float(np.nanpercentile(values, worst)))
    return dict(n_sets=n_sets, trials_per_set=trials_per_set, seed=seed, sets=rows,
                median={k: v["median"] for k, v in summary.items()},
                worst_decile={k: v["worst_decile"] for k, v in summary.items()})
