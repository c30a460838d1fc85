"""
Compare the recordings of two runs of one script (reference and candidate run directories
written by :mod:`pyNN_surrogate.validation.runner`).

Groups (populations, assemblies) are paired by key, cells by ``(source_population,
source_index)``, segments by position (a script that calls ``reset()`` has several), analog
signals by name and channel index. Metrics are pooled over segments.

Per-cell agreement (spike matching, van Rossum, v overlays) is meaningful only when both runs
received identical inputs; it is computed always, but its checks are informational unless
``identical_inputs`` is true (by default: no random spike source or noisy current in either run,
see the runner's ``stochastic_inputs``).
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import metrics as m
from .runner import read_manifest
from .tolerances import STATUS_FAIL

SPIKE_TOLERANCES = (2.0, 10.0)
VAN_ROSSUM_TAU = 10.0
POP_RATE_BIN = 5.0
V_CLIP = -40.0
N_OVERLAY = 4


@dataclass
class SignalComparison:
    """One analog variable of one group: aligned traces of paired channels and their scores."""

    name: str
    units: str
    times: list = field(default_factory=list)      # per segment, ms
    ref: list = field(default_factory=list)        # per segment, [n, n_channels]
    cand: list = field(default_factory=list)
    channels: list = field(default_factory=list)   # channel labels (population:index)
    scores: dict = field(default_factory=dict)     # r, rmse, variance_explained per channel
    scores_clipped: dict = field(default_factory=dict)


@dataclass
class GroupComparison:
    """Everything computed for one population or assembly (arrays for the figures too)."""

    key: str
    kind: str
    label: str
    size: int
    celltype: str
    n_segments: int
    ref_trains: list = field(default_factory=list)   # per segment: list of SpikeTrain
    cand_trains: list = field(default_factory=list)
    cell_ids: list = field(default_factory=list)     # paired cell keys of segment 0
    rates_ref: np.ndarray = None
    rates_cand: np.ndarray = None
    cv_ref: np.ndarray = None
    cv_cand: np.ndarray = None
    pop_rate: tuple = None                           # (times ms, ref Hz, cand Hz), segment 0
    agreement: dict = None
    signals: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    checks: list = field(default_factory=list)


def load_block(run_dir, group):
    """Read a group's neo Block from a run directory."""
    from neo.io import PickleIO

    return PickleIO(str(Path(run_dir) / group["file"])).read_block()


def _cell_key(train):
    return (str(train.annotations.get("source_population", "")),
            int(train.annotations.get("source_index", train.annotations.get("channel_id", -1))))


def pair_trains(segment_ref, segment_cand):
    """Paired spike trains of two segments, by ``(source_population, source_index)``."""
    ref = {_cell_key(st): st for st in segment_ref.spiketrains}
    cand = {_cell_key(st): st for st in segment_cand.spiketrains}
    keys = [k for k in sorted(ref) if k in cand]
    return keys, [ref[k] for k in keys], [cand[k] for k in keys]


def pair_signals(segment_ref, segment_cand):
    """Paired analog signals: ``{name: [(channel labels, ref AnalogSignal, cand AnalogSignal)]}``.

    Signals are paired by name, ``source_population`` annotation and channel index; only the
    channels present in both are kept.
    """
    def index(segment):
        out = {}
        for signal in segment.analogsignals:
            population = str(signal.annotations.get("source_population", ""))
            channels = signal.array_annotations.get("channel_index",
                                                    np.arange(signal.shape[1]))
            out[(signal.name, population)] = (signal, [int(c) for c in channels])
        return out

    ref, cand = index(segment_ref), index(segment_cand)
    pairs = {}
    for key in sorted(k for k in ref if k in cand):
        (sig_r, ch_r), (sig_c, ch_c) = ref[key], cand[key]
        common = [c for c in ch_r if c in ch_c]
        if not common:
            continue
        sig_r = sig_r[:, [ch_r.index(c) for c in common]]
        sig_c = sig_c[:, [ch_c.index(c) for c in common]]
        labels = [f"{key[1]}[{c}]" if key[1] else f"[{c}]" for c in common]
        pairs.setdefault(key[0], []).append((labels, sig_r, sig_c))
    return pairs


def compare_group(group_ref, block_ref, block_cand, tolerances, identical_inputs):
    """Compute every metric of one group and evaluate it against the tolerances.

    Parameters
    ----------
    group_ref : dict
        The group's manifest entry (reference run).
    block_ref, block_cand : neo.Block
    tolerances : Tolerances
    identical_inputs : bool

    Returns
    -------
    GroupComparison
    """
    n_segments = min(len(block_ref.segments), len(block_cand.segments))
    result = GroupComparison(key=group_ref["key"], kind=group_ref["kind"],
                             label=group_ref["label"], size=group_ref["size"],
                             celltype=group_ref["celltype"], n_segments=n_segments)
    has_spikes = "spikes" in group_ref["variables"]
    rates_r, rates_c, cv_r, cv_c, pop_r, pop_c = [], [], [], [], [], []
    for s in range(n_segments):
        seg_r, seg_c = block_ref.segments[s], block_cand.segments[s]
        if has_spikes:
            keys, trains_r, trains_c = pair_trains(seg_r, seg_c)
            if s == 0:
                result.cell_ids = keys
            result.ref_trains.append(trains_r)
            result.cand_trains.append(trains_c)
            rates_r.append(m.firing_rates(trains_r))
            rates_c.append(m.firing_rates(trains_c))
            cv_r.append(m.cv_isi(trains_r))
            cv_c.append(m.cv_isi(trains_c))
            times, rate_r = m.population_rate(trains_r, POP_RATE_BIN)
            _, rate_c = m.population_rate(trains_c, POP_RATE_BIN)
            n = min(len(rate_r), len(rate_c))
            pop_r.append(rate_r[:n])
            pop_c.append(rate_c[:n])
            if s == 0:
                result.pop_rate = (times[:n], rate_r[:n], rate_c[:n])
        for name, pairs in pair_signals(seg_r, seg_c).items():
            signal = result.signals.setdefault(
                name, SignalComparison(name=name, units=str(pairs[0][1].units.dimensionality)))
            times_s, ref_s, cand_s, labels = None, [], [], []
            for channel_labels, sig_r, sig_c in pairs:
                times_s, a, b = m.align_signals(sig_r, sig_c)
                n = min(len(a), len(b), len(times_s))
                times_s = times_s[:n]
                ref_s.append(a[:n])
                cand_s.append(b[:n])
                labels += channel_labels
            n = min(len(x) for x in ref_s)
            signal.times.append(times_s[:n])
            signal.ref.append(np.hstack([x[:n] for x in ref_s]))
            signal.cand.append(np.hstack([x[:n] for x in cand_s]))
            if s == 0:
                signal.channels = labels
    metrics = result.metrics
    if has_spikes and result.ref_trains:
        result.rates_ref, result.rates_cand = np.concatenate(rates_r), np.concatenate(rates_c)
        result.cv_ref, result.cv_cand = np.concatenate(cv_r), np.concatenate(cv_c)
        mean_r, mean_c = float(np.mean(result.rates_ref)), float(np.mean(result.rates_cand))
        metrics["mean_rate_ref_hz"] = mean_r
        metrics["mean_rate_cand_hz"] = mean_c
        metrics["rate_rel_error"] = abs(mean_c - mean_r) / max(mean_r, 1.0)
        metrics["rate_ks"] = m.ks_statistic(result.rates_ref, result.rates_cand)
        both = np.isfinite(result.cv_ref).any() and np.isfinite(result.cv_cand).any()
        metrics["mean_cv_isi_ref"] = float(np.nanmean(result.cv_ref)) if both else None
        metrics["mean_cv_isi_cand"] = float(np.nanmean(result.cv_cand)) if both else None
        metrics["cv_isi_abs_error"] = (abs(metrics["mean_cv_isi_cand"]
                                           - metrics["mean_cv_isi_ref"]) if both else None)
        metrics["pop_rate_r"] = m.rate_correlation(np.concatenate(pop_r), np.concatenate(pop_c))
        flat_r = [st for seg in result.ref_trains for st in seg]
        flat_c = [st for seg in result.cand_trains for st in seg]
        result.agreement = m.spike_agreement(flat_r, flat_c, SPIKE_TOLERANCES, VAN_ROSSUM_TAU)
        for tol, scores in result.agreement["scores"].items():
            for name in ("precision", "recall", "f1"):
                metrics[f"spike_{name}_{tol:g}ms"] = scores[name]
        metrics["van_rossum_normalised"] = result.agreement["van_rossum_normalised"]
        metrics["van_rossum_mean"] = float(np.mean(result.agreement["van_rossum"])) \
            if len(result.agreement["van_rossum"]) else None
    for name, signal in result.signals.items():
        ref = np.vstack(signal.ref)
        cand = np.vstack(signal.cand)
        signal.scores = m.signal_scores(ref, cand)
        prefix = "v" if name == "v" else f"{name}"
        metrics[f"{prefix}_r"] = _nanmedian(signal.scores["r"])
        metrics[f"{prefix}_rmse"] = _nanmedian(signal.scores["rmse"])
        if name == "v":
            signal.scores_clipped = m.signal_scores(ref, cand, clip=V_CLIP)
            metrics["v_r_clipped"] = _nanmedian(signal.scores_clipped["r"])
    per_cell = {"spike_precision_2ms", "spike_recall_2ms", "spike_f1_2ms",
                "spike_precision_10ms", "spike_recall_10ms", "spike_f1_10ms",
                "van_rossum_normalised", "van_rossum_mean", "v_r", "v_r_clipped", "v_rmse"}
    for name, value in metrics.items():
        if name in tolerances.metrics or name in per_cell:
            result.checks.append(tolerances.check(
                name, value, group=result.key,
                applicable=identical_inputs or name not in per_cell))
    return result


def _nanmedian(values):
    values = np.asarray(values, float)
    return float(np.nanmedian(values)) if np.isfinite(values).any() else None


def compare_runs(ref_dir, cand_dir, tolerances, identical_inputs="auto", progress=True):
    """Compare two run directories.

    Parameters
    ----------
    ref_dir, cand_dir : path-like
        Run directories (``manifest.json`` + neo pickles).
    tolerances : Tolerances
    identical_inputs : {"auto", True, False}
        "auto": true when neither run lists stochastic inputs.
    progress : bool
        Show a tqdm progress bar over groups.

    Returns
    -------
    dict
        ``manifest_ref``, ``manifest_cand``, ``identical_inputs`` (bool), ``groups`` (list of
        GroupComparison, populations first), ``missing`` (group keys recorded by only one run),
        ``checks`` (run-level checks, e.g. speed ratio).
    """
    from tqdm import tqdm

    manifest_ref, manifest_cand = read_manifest(ref_dir), read_manifest(cand_dir)
    if identical_inputs == "auto":
        identical_inputs = not (manifest_ref["stochastic_inputs"]
                                or manifest_cand["stochastic_inputs"])
    cand_groups = {g["key"]: g for g in manifest_cand["groups"]}
    ref_keys = [g["key"] for g in manifest_ref["groups"]]
    missing = sorted(set(ref_keys) ^ set(cand_groups))
    groups = []
    for group in tqdm(manifest_ref["groups"], desc="comparing groups", disable=not progress):
        if group["key"] not in cand_groups:
            continue
        block_ref = load_block(ref_dir, group)
        block_cand = load_block(cand_dir, cand_groups[group["key"]])
        groups.append(compare_group(group, block_ref, block_cand, tolerances,
                                    bool(identical_inputs)))
    wall_ref, wall_cand = manifest_ref["wall_run_s"], manifest_cand["wall_run_s"]
    speed_ratio = wall_ref / wall_cand if wall_cand else None
    checks = [tolerances.check("speed_ratio", speed_ratio, group=None)]
    return dict(manifest_ref=manifest_ref, manifest_cand=manifest_cand,
                identical_inputs=bool(identical_inputs), groups=groups, missing=missing,
                checks=checks, speed_ratio=speed_ratio)


def all_checks(comparison):
    """Run-level and group checks of a comparison, population groups only for pass/fail.

    Assemblies are unions of populations: their checks are reported as informational so that
    one discrepancy does not fail twice.
    """
    checks = list(comparison["checks"])
    for group in comparison["groups"]:
        for check in group.checks:
            if group.kind == "assembly" and check["status"] == STATUS_FAIL:
                check = dict(check, status="info", note="assembly (informational)")
            checks.append(check)
    return checks
