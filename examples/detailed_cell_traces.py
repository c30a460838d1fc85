"""
A detailed cell's surrogate next to hnn-core in NEURON, on fresh random input trials.

The trials are drawn by the cell type's ground-truth input generator (the settings in its card)
with a seed of its own, simulated in NEURON (a spawned process) and run free-running on the
surrogate from rest. The figure shows, per trial, the somatic v, one dendritic v, Ca (L5) and
the current dipole of both.

Usage::

    python examples/detailed_cell_traces.py HNN_L5Pyramidal [--trials 3] [--seed 2024]
        [--out docs/figures]
"""

import argparse
from pathlib import Path

import numpy as np


def traces(celltype, n_trials, seed):
    """(time ms, NEURON data, surrogate outputs) for fresh trials."""
    from pyNN_surrogate.surrogates import load_celltype
    from pyNN_surrogate.training.detailed import (data_config_from_card, fresh_trials,
                                                  predict_runtime)

    pkg = load_celltype(celltype)
    config = data_config_from_card(pkg.card)
    data = fresh_trials(config, n_trials, seed)
    out, _ = predict_runtime(pkg.runtime("cpu"), data["drive"])
    t = (np.arange(data["v"].shape[1]) + 0.5) * config.output_dt
    return t, data, out


def plot(celltype, t, data, out, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = ["v"] + [name for name in ("v.apical_tuft", "ca.apical_1", "dipole")
                      if name in out]
    units = {"v": "mV", "v.apical_tuft": "mV", "ca.apical_1": "mM", "dipole": "nA m"}
    n = data["v"].shape[0]
    fig, axes = plt.subplots(len(panels), n, figsize=(4.2 * n, 1.7 * len(panels)),
                             sharex=True, squeeze=False)
    for j in range(n):
        for i, name in enumerate(panels):
            true = data["v"][j] if name == "v" else data["extra"][name][j]
            ax = axes[i, j]
            ax.plot(t, true, color="k", lw=0.7, label="hnn-core (NEURON)")
            ax.plot(t, out[name][j], color="tab:red", lw=0.7, alpha=0.8, label="surrogate")
            if j == 0:
                ax.set_ylabel(f"{name} ({units[name]})")
        axes[-1, j].set_xlabel("time (ms)")
        axes[0, j].set_title(f"trial {j + 1}")
    axes[0, 0].legend(loc="upper right", fontsize=7, frameon=False)
    fig.suptitle(f"{celltype}: free-running surrogate vs hnn-core in NEURON "
                 "(held-out random inputs)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    p.add_argument("celltype", choices=("HNN_L5Pyramidal", "HNN_L23Pyramidal"))
    p.add_argument("--trials", type=int, default=3)
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--out", type=Path, default=Path("docs/figures"))
    options = p.parse_args(argv)
    options.out.mkdir(parents=True, exist_ok=True)
    t, data, out = traces(options.celltype, options.trials, options.seed)
    path = options.out / f"{options.celltype}_traces.png"
    plot(options.celltype, t, data, out, path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
