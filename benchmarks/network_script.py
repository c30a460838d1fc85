"""
The benchmark network: an ordinary PyNN script, run unchanged on pyNN.neuron and pyNN.surrogate.

``n_cells`` HH_cond_exp cells, each driven by its own SpikeSourcePoisson (excitatory), and
optionally connected recurrently: every cell receives ``--n-pre`` (default 20) excitatory inputs
from the population (FixedNumberPreConnector), through static or Tsodyks-Markram synapses. The
spikes of every cell are recorded (and the membrane potential of ``--record-v`` cells). With
``--heterogeneous`` the cells get i_offset and tau_syn_E drawn from RandomDistributions.

``--cell IF_curr_exp`` builds IF_curr_exp cells instead (input weights in nA, default
``IF_INPUT_WEIGHT``); with ``--heterogeneous`` every cell then draws its own intrinsic
parameters (``HET_IF``, inside the domain of the shipped conditioned surrogate), so
pyNN.surrogate runs them on ``IF_curr_exp.conditioned`` in one batch.

Usage::

    python benchmarks/network_script.py surrogate --n-cells 50 --simtime 100 --dt 0.1 \\
        --connectivity static
    python benchmarks/network_script.py neuron --n-cells 50 --simtime 100 --dt 0.1

It prints one line ``BENCHMARK_JSON {...}`` on stdout (and writes the same object to
``--json-out`` if given): the case, backend, timings, peak memory, spike count and options.

Timings (all in seconds):

* ``import_s``: importing the backend (part of ``build_s``);
* ``build_s``: from the start of the script (before any import) to the call of ``run()``;
* ``run_s`` / ``run_cpu_s``: wall / CPU time (``time.process_time``, all threads of the process)
  of the ``sim.run(simtime)`` call. On pyNN.surrogate the first ``run()`` also builds the
  engine (tensors, connectivity), which is therefore included;
* ``data_s``: ``get_data()`` of the recorded spikes (and v) after the run, for at most
  ``GET_DATA_MAX_CELLS`` cells (None above: PyNN's generic Recorder, used by pyNN.neuron, is
  quadratic in the number of cells there). Spike counts come from ``get_spike_counts()``.

``ru_maxrss_mib`` is ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` at the end, in MiB (on Linux
it includes the peak of the parent at the time of the fork, since it survives ``execve``: start
this script from a small process); ``vm_hwm_mib`` is VmHWM from /proc/self/status, this program
image only.
"""

import time

_T0_WALL = time.perf_counter()
_T0_CPU = time.process_time()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from importlib import import_module  # noqa: E402

import numpy as np  # noqa: E402

# Network parameters shared by both backends (see docs/benchmarks.md).
INPUT_RATE = 100.0      # Hz, one Poisson source per cell
INPUT_WEIGHT = 0.03     # uS
INPUT_DELAY = 1.0       # ms
N_PRE = 20              # recurrent excitatory inputs per cell
REC_WEIGHT = 0.004      # uS, recurrent excitatory weight (static)
REC_DELAY = 1.5         # ms
TM_U = 0.5
TM_TAU_REC = 100.0      # ms
TM_TAU_FACIL = 0.0      # ms
HET_I_OFFSET = (-0.05, 0.15)   # nA, uniform
HET_TAU_SYN_E = (0.2, 0.4)     # ms, uniform
CELLS = ("HH_cond_exp", "IF_curr_exp")   # the first is the default
DEFAULT_CELL = CELLS[0]
IF_INPUT_WEIGHT = 0.5          # nA, Poisson input of the IF_curr_exp network
IF_REC_WEIGHT = 0.05           # nA, its recurrent weight
# IF_curr_exp intrinsic parameters per cell (uniform), inside the conditioned domain
HET_IF = {"v_rest": (-68.0, -62.0), "v_reset": (-68.0, -62.0), "v_thresh": (-53.0, -49.0),
          "tau_m": (12.0, 28.0), "cm": (0.25, 0.9), "tau_refrac": (0.5, 4.0)}
# get_data() is timed up to this size only: PyNN's generic Recorder (used by pyNN.neuron)
# appends spike trains one by one, quadratic in the number of cells (hours at 50,000).
GET_DATA_MAX_CELLS = 5000


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("simulator", help="PyNN backend: neuron or surrogate")
    parser.add_argument("--n-cells", type=int, default=50)
    parser.add_argument("--simtime", type=float, default=100.0, help="simulated time (ms)")
    parser.add_argument("--dt", type=float, default=0.1, help="timestep (ms)")
    parser.add_argument("--connectivity", choices=("none", "static", "tm"), default="none",
                        help="recurrent connectivity: none, static or tm (Tsodyks-Markram)")
    parser.add_argument("--n-pre", type=int, default=N_PRE,
                        help="recurrent inputs per cell (FixedNumberPreConnector)")
    parser.add_argument("--input-rate", type=float, default=INPUT_RATE, help="Hz")
    parser.add_argument("--cell", choices=CELLS, default=DEFAULT_CELL, help="cell type")
    parser.add_argument("--input-weight", type=float, default=None,
                        help=f"uS ({INPUT_WEIGHT:g}), nA for IF_curr_exp ({IF_INPUT_WEIGHT:g})")
    parser.add_argument("--rec-weight", type=float, default=None,
                        help=f"uS ({REC_WEIGHT:g}), nA for IF_curr_exp ({IF_REC_WEIGHT:g})")
    parser.add_argument("--heterogeneous", action="store_true",
                        help="draw i_offset and tau_syn_E (HH_cond_exp), or the intrinsic "
                             "parameters (IF_curr_exp), per cell from RandomDistributions")
    parser.add_argument("--record-v", type=int, default=0,
                        help="also record v of this many cells")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads for pyNN.surrogate (0: all cores)")
    parser.add_argument("--device", default="cpu",
                        help="torch device for pyNN.surrogate (default cpu)")
    parser.add_argument("--seed", type=int, default=20260501)
    parser.add_argument("--case", default="", help="case name, copied to the output")
    parser.add_argument("--json-out", default=None, help="also write the JSON result here")
    options = parser.parse_args(argv)
    current_based = options.cell == "IF_curr_exp"
    if options.input_weight is None:
        options.input_weight = IF_INPUT_WEIGHT if current_based else INPUT_WEIGHT
    if options.rec_weight is None:
        options.rec_weight = IF_REC_WEIGHT if current_based else REC_WEIGHT
    return options


def build_celltype(sim, options, rng):
    """The cell type of every cell, with its per-cell parameters under --heterogeneous."""
    if options.cell == "IF_curr_exp":
        if not options.heterogeneous:
            return sim.IF_curr_exp()
        return sim.IF_curr_exp(**{name: sim.RandomDistribution("uniform", bounds, rng=rng)
                                  for name, bounds in HET_IF.items()})
    if options.heterogeneous:
        return sim.HH_cond_exp(
            i_offset=sim.RandomDistribution("uniform", HET_I_OFFSET, rng=rng),
            tau_syn_E=sim.RandomDistribution("uniform", HET_TAU_SYN_E, rng=rng))
    return sim.HH_cond_exp()


def import_backend(name):
    """The PyNN backend module; pyNN.neuron with its mechanisms compiled first."""
    if name == "neuron":
        try:
            from pyNN_surrogate.neuron_setup import compile_mechanisms
            compile_mechanisms(quiet=True)
        except ImportError:
            pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return import_module(f"pyNN.{name}")


def peak_rss_hwm_kib():
    """VmHWM of /proc/self/status (KiB): the peak RSS of this program image only.

    ``ru_maxrss`` survives ``execve``, so a child started by a big parent inherits the parent's
    peak; VmHWM does not. None where /proc is missing.
    """
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def versions(backend):
    out = {"python": platform.python_version()}
    for module in ("numpy", "pyNN", "torch", "neuron"):
        mod = sys.modules.get(module)
        if mod is not None:
            out[module] = getattr(mod, "__version__", "?")
    return out


def main(argv=None):
    options = parse_args(argv)
    threads = 1
    if options.simulator == "surrogate":
        import torch
        threads = options.threads or os.cpu_count() or 1
        torch.set_num_threads(threads)
    t_import = time.perf_counter()
    sim = import_backend(options.simulator)
    import_s = time.perf_counter() - t_import

    extra = {"rng_seed": options.seed}
    if options.simulator == "surrogate":
        extra["device"] = options.device
    sim.setup(timestep=options.dt, min_delay=1.0, max_delay=10.0, **extra)
    rng = sim.NumpyRNG(seed=options.seed)
    n = options.n_cells

    cells = sim.Population(n, build_celltype(sim, options, rng), label="cells")
    drive = sim.Population(n, sim.SpikeSourcePoisson(rate=options.input_rate), label="drive")
    # OneToOneConnector fails for 1-element populations under numpy 2 (a PyNN bug).
    one_to_one = sim.OneToOneConnector() if n > 1 else sim.AllToAllConnector()
    sim.Projection(drive, cells, one_to_one,
                   sim.StaticSynapse(weight=options.input_weight, delay=INPUT_DELAY),
                   receptor_type="excitatory")
    n_synapses = n
    if options.connectivity != "none":
        # Drawn with replacement, without self-connections (PyNN draws without replacement
        # by permuting the whole population for every cell: quadratic, minutes at 50,000
        # cells); tiny populations (n <= n_pre) may connect to themselves.
        connector = sim.FixedNumberPreConnector(options.n_pre, with_replacement=True,
                                                allow_self_connections=n <= options.n_pre,
                                                rng=rng)
        if options.connectivity == "static":
            synapse = sim.StaticSynapse(weight=options.rec_weight, delay=REC_DELAY)
        else:
            synapse = sim.TsodyksMarkramSynapse(weight=options.rec_weight, delay=REC_DELAY,
                                                U=TM_U, tau_rec=TM_TAU_REC,
                                                tau_facil=TM_TAU_FACIL)
        recurrent = sim.Projection(cells, cells, connector, synapse, receptor_type="excitatory")
        n_synapses += len(recurrent)
    cells.record("spikes")
    if options.record_v:
        cells[:min(options.record_v, n)].record("v")

    build_wall = time.perf_counter() - _T0_WALL
    build_cpu = time.process_time() - _T0_CPU
    t_wall, t_cpu = time.perf_counter(), time.process_time()
    sim.run(options.simtime)
    run_s = time.perf_counter() - t_wall
    run_cpu_s = time.process_time() - t_cpu

    counts = np.array(list(cells.get_spike_counts().values()), dtype=np.int64)
    spike_count, active = int(counts.sum()), int(np.count_nonzero(counts))
    data_s = None
    if n <= GET_DATA_MAX_CELLS:
        t_data = time.perf_counter()
        segment = cells.get_data().segments[0]
        data_s = time.perf_counter() - t_data
        if sum(len(train) for train in segment.spiketrains) != spike_count:
            raise RuntimeError("get_data() and get_spike_counts() disagree")
    maxrss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    hwm_kib = peak_rss_hwm_kib()
    sim.end()

    cell_ms = n * options.simtime
    result = {
        "case": options.case,
        "backend": options.simulator,
        "n_cells": n,
        "simtime": options.simtime,
        "dt": options.dt,
        "connectivity": options.connectivity,
        "cell": options.cell,
        "heterogeneous": options.heterogeneous,
        "n_synapses": int(n_synapses),
        "threads": threads,
        "device": options.device if options.simulator == "surrogate" else "cpu",
        "import_s": import_s,
        "build_s": build_wall,
        "build_cpu_s": build_cpu,
        "run_s": run_s,
        "run_cpu_s": run_cpu_s,
        "data_s": data_s,
        "us_per_cell_ms_cpu": run_cpu_s * 1e6 / cell_ms,
        "us_per_cell_ms_wall": run_s * 1e6 / cell_ms,
        "ru_maxrss_kib": int(maxrss_kib),
        "ru_maxrss_mib": maxrss_kib / 1024.0,
        "vm_hwm_mib": None if hwm_kib is None else hwm_kib / 1024.0,
        "spike_count": spike_count,
        "active_cells": active,
        "rate_hz": spike_count / (n * options.simtime / 1000.0),
        "params": {"input_rate": options.input_rate, "input_weight": options.input_weight,
                   "rec_weight": options.rec_weight, "n_pre": options.n_pre,
                   "seed": options.seed, "record_v": options.record_v},
        "versions": versions(options.simulator),
    }
    line = json.dumps(result)
    if options.json_out:
        with open(options.json_out, "w") as handle:
            handle.write(line + "\n")
    print("BENCHMARK_JSON " + line, flush=True)
    return result


if __name__ == "__main__":
    main()
