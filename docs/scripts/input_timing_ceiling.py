"""How much spike timing a surrogate can reach when it sees its drive only in bins.

A surrogate receives the synaptic drive averaged over drive bins (the native step, 0.5 ms, by
default), so it cannot know where inside a bin an input spike arrived. This script measures
what that costs in NEURON itself: the same trials are simulated twice with pyNN.neuron, once
as drawn and once with every input spike moved to a random time inside its own drive bin, and
the second run is scored against the first with the surrogates' metrics. The result is a
ceiling for any surrogate with that drive resolution (docs/training_notes.md).

Usage::

    python docs/scripts/input_timing_ceiling.py HH_cond_exp --trials 150 --bins 0.5 0.1
"""

import argparse
import copy

import numpy as np

from pyNN_surrogate.training import groundtruth
from pyNN_surrogate.training.metrics import rate_mae, spike_scores, v_scores


def jittered(trials, bin_ms, rng):
    """Copies of ``trials`` with every input spike at a random time inside its bin."""
    out = copy.deepcopy(trials)
    for trial in out:
        for key in ("exc", "inh"):
            times = np.asarray(trial[key], float)
            if len(times):
                trial[key] = np.sort((np.floor(times / bin_ms) + rng.random(len(times)))
                                     * bin_ms)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("celltype")
    p.add_argument("--trials", type=int, default=150)
    p.add_argument("--bins", type=float, nargs="+", default=[0.5, 0.1], help="drive bins, ms")
    p.add_argument("--seed", type=int, default=5, help="seed of the jitter")
    args = p.parse_args(argv)
    # the shipped recipe's ground-truth settings (train.py defaults plus 30% current clamp)
    config = groundtruth.GroundTruthConfig(celltype=args.celltype, n_trials=args.trials,
                                           p_default_tau=0.7, current_max=4.0,
                                           driven_g=(0.03, 1.0), p_current_only=0.3)
    trials = groundtruth.draw_trials(config)
    reference = groundtruth.simulate(config, trials)
    step = int(round(config.output_dt / config.dt))
    rng = np.random.default_rng(args.seed)
    for bin_ms in args.bins:
        other = groundtruth.simulate(config, jittered(trials, bin_ms, rng))
        v_ref, v_other = reference["v"][:, step::step], other["v"][:, step::step]
        print(f"{args.celltype}, input times unknown within {bin_ms} ms: F1 +/-2 ms "
              f"{spike_scores(reference['spikes'], other['spikes'], 2.0)['f1']:.3f}, "
              f"+/-10 ms {spike_scores(reference['spikes'], other['spikes'], 10.0)['f1']:.3f}, "
              f"clipped v r {v_scores(v_ref, v_other, clip=-40.0)['r']:.3f}, "
              f"v r {v_scores(v_ref, v_other)['r']:.3f}, rate error "
              f"{rate_mae(reference['spikes'], other['spikes'], config.duration):.2f} Hz",
              flush=True)


if __name__ == "__main__":
    main()
