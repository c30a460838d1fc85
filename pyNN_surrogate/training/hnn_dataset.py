"""HNN ground-truth data sets: random trials (:mod:`.hnn_inputs`) simulated with hnn-core in
NEURON (:mod:`.hnn_groundtruth`), resampled to training data, cached on disk.

Every chunk of trials runs in a fresh spawned process: hnn-core's NEURON mechanisms must never
meet pyNN.neuron's (docs/detailed_cells.md), and the memory of the dt-sampled recordings stays
bounded. Each trial is an independent, deterministic cell, so the data do not depend on the
chunking. Trials are drawn one after another from one seeded stream, so the first n trials of
a larger data set are the n trials of the smaller one: a larger set reuses a cached smaller one
and simulates only the trials that are new.
"""

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from ..surrogates.layouts import LAYOUTS
from .groundtruth import default_cache_dir
from .hnn_inputs import HNNInputConfig, draw_hnn_trials

HNN_DATA_VERSION = 2   # bump when the generator changes, so stale caches are not reused


@dataclass
class HNNDataConfig:
    """One HNN ground-truth data set.

    Parameters
    ----------
    celltype : str
        ``"HNN_L5Pyramidal"`` or ``"HNN_L23Pyramidal"`` (see :data:`.layouts.LAYOUTS`).
    inputs : HNNInputConfig
    dt : float
        NEURON time step (ms).
    settle : float
        Input-free time simulated and discarded before every trial (ms).
    native_dt, output_dt : float
        Surrogate native and output steps (ms).
    drive_dt : float or None
        Drive averaging bin (ms); ``None``: the native step.
    """

    celltype: str = "HNN_L5Pyramidal"
    inputs: HNNInputConfig = field(default_factory=HNNInputConfig)
    dt: float = 0.025
    settle: float = 200.0
    native_dt: float = 0.5
    output_dt: float = 0.1
    drive_dt: float = None

    def __post_init__(self):
        if self.celltype not in LAYOUTS:
            raise ValueError(f"unknown detailed cell type {self.celltype!r}; "
                             f"expected one of {sorted(LAYOUTS)}")

    @property
    def layout(self):
        return LAYOUTS[self.celltype]

    def key(self):
        """Hash of everything that determines the data (cache key)."""
        text = json.dumps(dict(asdict(self), version=HNN_DATA_VERSION), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _simulate_and_resample(config, trials, chunk_file=None):
    """One chunk: simulate in this (fresh) process and resample; saved to ``chunk_file``
    (if given) so that an interrupted generation resumes."""
    from .hnn_groundtruth import resample, simulate

    raw = simulate(config.layout, trials, dt=config.dt, settle=config.settle,
                   record_conductance=False)       # drive from the events, exactly
    part = resample(config.layout, raw, trials, config.dt, config.native_dt, config.output_dt,
                    config.drive_dt)
    if chunk_file is not None:
        _save(Path(chunk_file), part)
    return part


def _concatenate(parts):
    """Join resampled chunks (trial order kept)."""
    out = {k: np.concatenate([p[k] for p in parts])
           for k in ("drive", "v", "spike_bins", "spike_times", "spike_counts")}
    out["extra"] = {k: np.concatenate([p["extra"][k] for p in parts])
                    for k in parts[0]["extra"]}
    out["channels"] = parts[0]["channels"]
    return out


def generate_hnn(config, cache_dir=None, chunk_trials=25, workers=1, verbose=True):
    """Generate (or load from the cache) the data set of ``config``.

    Parameters
    ----------
    config : HNNDataConfig
    cache_dir : path-like, optional
        ``None``: :func:`.groundtruth.default_cache_dir`; ``False``: no caching.
    chunk_trials : int
        Trials per NEURON process.
    workers : int
        NEURON processes at once.
    verbose : bool
        Print what happens, with a progress bar over chunks.

    Returns
    -------
    dict
        As :func:`.hnn_groundtruth.resample` (``drive``, ``v``, ``extra``, ``spike_bins``,
        ``spike_times``, ``spike_counts``, ``channels``), plus ``kind`` [n] (the trial
        kinds) and ``neuron_seconds`` (wall time of the NEURON runs).
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from tqdm import tqdm

    if chunk_trials < 1 or workers < 1:
        raise ValueError("chunk_trials and workers must be >= 1")
    cache = None
    if cache_dir is not False:
        cache = Path(cache_dir or default_cache_dir()) / f"hnn_{config.celltype}_{config.key()}.npz"
        if cache.exists():
            if verbose:
                print(f"ground truth: loading {cache}")
            return _load(cache)
    trials = draw_hnn_trials(config.layout, config.inputs)
    n_reused, prefix = (0, None) if cache is None else _cached_prefix(config, cache.parent)
    if verbose:
        print(f"ground truth: simulating {len(trials) - n_reused} trials x "
              f"{config.inputs.duration:g} ms of hnn-core's {config.layout.cell_name} in NEURON "
              f"(dt {config.dt} ms)"
              + (f"; the first {n_reused} from the cached {prefix.name}" if n_reused else ""))
    new_trials = trials[n_reused:]
    chunks = [new_trials[i:i + chunk_trials] for i in range(0, len(new_trials), chunk_trials)]
    chunk_files = [None if cache is None else
                   cache.with_name(f"{cache.stem}_chunk{chunk_trials}_{n_reused}_{k}.npz")
                   for k in range(len(chunks))]
    t0 = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    parts = [_load(f) if f is not None and f.exists() else None for f in chunk_files]
    with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                             max_tasks_per_child=1) as pool:
        futures = {k: pool.submit(_simulate_and_resample, config, chunk, chunk_files[k])
                   for k, chunk in enumerate(chunks) if parts[k] is None}
        if verbose and len(futures) < len(chunks):
            print(f"ground truth: {len(chunks) - len(futures)} of {len(chunks)} chunks "
                  "from an interrupted run")
        for k, future in tqdm(futures.items(), desc="NEURON chunks", disable=not verbose):
            parts[k] = future.result()
    neuron_seconds = time.perf_counter() - t0
    if prefix is not None:
        reused = _load(prefix)
        neuron_seconds += float(reused["neuron_seconds"])
        parts.insert(0, reused)
    data = _concatenate(parts)
    data["kind"] = np.array([t["kind"] for t in trials])
    data["neuron_seconds"] = np.array(neuron_seconds)
    if verbose:
        rates = data["spike_counts"] / (config.inputs.duration / 1000.0)
        print(f"ground truth: {float(data['neuron_seconds']):.0f} s; silent "
              f"{np.mean(rates == 0):.0%}, median rate {np.median(rates):.1f} Hz, "
              f"max {rates.max():.1f} Hz")
    if cache is not None:
        _save(cache, data)
        for f in chunk_files:
            f.unlink(missing_ok=True)
    return data


def _cached_prefix(config, cache_dir):
    """The largest cached data set that differs from ``config`` only in having fewer trials:
    (its number of trials, its path), or (0, None)."""
    for n in range(config.inputs.n_trials - 1, 0, -1):
        smaller = replace(config, inputs=replace(config.inputs, n_trials=n))
        path = Path(cache_dir) / f"hnn_{config.celltype}_{smaller.key()}.npz"
        if path.exists():
            return n, path
    return 0, None


def _save(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    flat = {k: v for k, v in data.items() if k != "extra"}
    flat.update({f"extra:{k}": v for k, v in data["extra"].items()})
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **flat)
    tmp.replace(path)


def _load(path):
    with np.load(path) as f:
        data = {k: f[k] for k in f.files if not k.startswith("extra:")}
        data["extra"] = {k[len("extra:"):]: f[k] for k in f.files if k.startswith("extra:")}
    data["channels"] = tuple(str(c) for c in data["channels"])
    return data
