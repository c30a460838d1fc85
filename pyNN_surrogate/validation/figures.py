"""
Figures of a script comparison (matplotlib, Agg backend, PNG files).

Colours are fixed across every figure: reference in dark blue, candidate in orange
(:data:`pyNN_surrogate.validation.REFERENCE_COLOUR`, ``CANDIDATE_COLOUR``).
"""

import numpy as np

from . import CANDIDATE_COLOUR, REFERENCE_COLOUR

MAX_RASTER_CELLS = 200


def pyplot():
    """matplotlib.pyplot with the non-interactive Agg backend."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"figure.dpi": 100, "axes.spines.top": False,
                         "axes.spines.right": False, "font.size": 9})
    return plt


def save(fig, path):
    """Save a figure as PNG and close it."""
    fig.savefig(path, dpi=100)
    import matplotlib.pyplot as plt
    plt.close(fig)
    return path


def raster(group, names, path):
    """Rasters of segment 0 side by side (at most MAX_RASTER_CELLS cells, evenly chosen)."""
    plt = pyplot()
    trains = (group.ref_trains[0], group.cand_trains[0])
    n_cells = len(trains[0])
    shown = np.unique(np.linspace(0, n_cells - 1, min(n_cells, MAX_RASTER_CELLS)).astype(int)) \
        if n_cells else np.array([], int)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True, sharex=True)
    for ax, train_list, name, colour in zip(axes, trains, names,
                                            (REFERENCE_COLOUR, CANDIDATE_COLOUR)):
        ax.eventplot([train_list[i].rescale("ms").magnitude for i in shown], colors=colour,
                     linelengths=0.8, linewidths=0.8)
        n_spikes = sum(len(st) for st in train_list)
        ax.set_title(f"{name}: {n_spikes} spikes")
        ax.set_xlabel("Time (ms)")
        if len(train_list):
            ax.set_xlim(float(train_list[0].t_start.rescale("ms")),
                        float(train_list[0].t_stop.rescale("ms")))
    axes[0].set_ylabel("Cell" + (f" ({len(shown)} of {n_cells})" if len(shown) < n_cells else ""))
    if group.n_segments > 1:
        fig.suptitle(f"{group.key}: segment 1 of {group.n_segments}")
    fig.tight_layout()
    return save(fig, path)


def distributions(group, names, path):
    """Firing-rate and CV(ISI) distributions, and population rate against time."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4), gridspec_kw={"width_ratios": [1, 1, 2]})
    rates = (group.rates_ref, group.rates_cand)
    top = max(float(np.max(r)) if len(r) else 0.0 for r in rates)
    bins = np.linspace(0, max(top, 1.0) * 1.05, 21)
    for values, name, colour in zip(rates, names, (REFERENCE_COLOUR, CANDIDATE_COLOUR)):
        axes[0].hist(values, bins=bins, histtype="step", lw=1.8, color=colour,
                     label=f"{name} (mean {np.mean(values):.2f} Hz)")
    axes[0].set_xlabel("Firing rate (Hz)")
    axes[0].set_ylabel("Cells")
    axes[0].legend(frameon=False, fontsize=8)
    axes[0].set_title("Firing-rate distribution")
    cvs = (group.cv_ref, group.cv_cand)
    finite = [c[np.isfinite(c)] for c in cvs]
    if any(len(c) for c in finite):
        top = max(float(np.max(c)) for c in finite if len(c))
        bins = np.linspace(0, max(top, 1.0) * 1.05, 21)
        for values, name, colour in zip(finite, names, (REFERENCE_COLOUR, CANDIDATE_COLOUR)):
            axes[1].hist(values, bins=bins, histtype="step", lw=1.8, color=colour,
                         label=f"{name} ({len(values)} cells)")
        axes[1].legend(frameon=False, fontsize=8)
    else:
        axes[1].text(0.5, 0.5, "no cell with >= 3 spikes", ha="center", va="center",
                     transform=axes[1].transAxes)
    axes[1].set_xlabel("CV of ISI")
    axes[1].set_ylabel("Cells")
    axes[1].set_title("Irregularity (CV ISI)")
    times, rate_r, rate_c = group.pop_rate
    for values, name, colour in zip((rate_r, rate_c), names, (REFERENCE_COLOUR, CANDIDATE_COLOUR)):
        axes[2].step(times, values, where="post", color=colour, lw=1.2, label=name)
    r = group.metrics.get("pop_rate_r")
    axes[2].set_title("Population rate (5 ms bins)"
                      + ("" if r is None or not np.isfinite(r) else f", r = {r:.2f}"))
    axes[2].set_xlabel("Time (ms)")
    axes[2].set_ylabel("Rate per cell (Hz)")
    axes[2].legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return save(fig, path)


def agreement(group, path):
    """Per-cell spike agreement: F1 per cell at each tolerance, and spike counts per cell."""
    plt = pyplot()
    result = group.agreement
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4), gridspec_kw={"width_ratios": [2, 1]})
    markers = {2.0: "o", 10.0: "x"}
    for tol, values in result["f1_per_cell"].items():
        pooled = result["scores"][tol]["f1"]
        axes[0].plot(np.arange(len(values)), values, linestyle="none",
                     marker=markers.get(tol, "."), markersize=4, color=CANDIDATE_COLOUR,
                     alpha=0.8, label=f"±{tol:g} ms (pooled F1 {pooled:.2f})")
    axes[0].set_ylim(-0.05, 1.05)
    axes[0].set_xlabel("Cell (paired by index; silent on both sides: not shown)")
    axes[0].set_ylabel("Spike F1 (one-to-one)")
    axes[0].set_title(f"Spike-time agreement per cell; van Rossum normalised d² = "
                      f"{result['van_rossum_normalised']:.3f}")
    axes[0].legend(frameon=False, fontsize=8, loc="lower left")
    counts_ref = np.array([len(st) for segment in group.ref_trains for st in segment])
    counts_cand = np.array([len(st) for segment in group.cand_trains for st in segment])
    top = max(1, int(max(counts_ref.max(initial=0), counts_cand.max(initial=0))))
    axes[1].plot([0, top], [0, top], color="#999999", lw=0.8, label="identity")
    axes[1].plot(counts_ref, counts_cand, "o", markersize=3, color=CANDIDATE_COLOUR, alpha=0.6)
    axes[1].set_xlabel("Spikes per cell, reference")
    axes[1].set_ylabel("Spikes per cell, candidate")
    axes[1].set_title("Spike counts")
    fig.tight_layout()
    return save(fig, path)


def overlays(signal, names, path, n_max=4, segment=0):
    """Overlays of reference and candidate traces for up to ``n_max`` recorded channels."""
    plt = pyplot()
    times = signal.times[segment]
    ref, cand = signal.ref[segment], signal.cand[segment]
    channels = np.unique(np.linspace(0, ref.shape[1] - 1, min(n_max, ref.shape[1])).astype(int))
    fig, axes = plt.subplots(len(channels), 1, figsize=(11, 1.9 * len(channels) + 0.4),
                             sharex=True, squeeze=False)
    for ax, channel in zip(axes[:, 0], channels):
        ax.plot(times, ref[:, channel], color=REFERENCE_COLOUR, lw=1.6, label=names[0])
        ax.plot(times, cand[:, channel], color=CANDIDATE_COLOUR, lw=0.9, alpha=0.85,
                label=names[1])
        r = signal.scores["r"][channel]
        rmse = signal.scores["rmse"][channel]
        title = f"{signal.channels[channel]}: r = {r:.3f}, RMSE = {rmse:.3g} {signal.units}"
        if signal.scores_clipped:
            title += f", r (clipped at -40 mV) = {signal.scores_clipped['r'][channel]:.3f}"
        ax.set_title(title, fontsize=9, loc="left")
        ax.set_ylabel(f"{signal.name} ({signal.units})")
    axes[-1, 0].set_xlabel("Time (ms)")
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="upper center", ncol=2,
               frameon=False, fontsize=9)
    return save(fig, path)
