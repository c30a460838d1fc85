"""
Speed of the 150-cell recurrent L5 network: pyNN.surrogate against the same network of
hnn-core L5 pyramidal cells in NEURON, side by side, in separate processes.

The network (both sides identical): ``--n-cells`` L5 cells; recurrent connections as in
``examples/l5_microcircuit.py`` (probability p, reciprocal pairs at 0.5 p, 1.5x stronger; 5
contacts per connection, 3 basal and 2 apical oblique, AMPA and NMDA), static synapses with a
1.5 ms delay; every cell gets the same pre-drawn Poisson background (basal and tuft AMPA,
somatic GABA_A) and a thalamic volley at 100 ms. On the NEURON side every input and every
recurrent connection is a distributed contact, as in the surrogates' ground truth: it reaches
each site of its group with an equal share of its weight (the example's 3 basal + 2 oblique
contacts are the weight shares of the two groups). hnn-core has no Tsodyks-Markram synapse, so
both sides use static synapses here (the example's depression costs nothing next to the
cells).

Usage::

    python benchmarks/l5_network.py compare [--repeats 3]   # both, writes docs/benchmarks_l5.md
    python benchmarks/l5_network.py surrogate               # one process, one JSON line
    python benchmarks/l5_network.py neuron

Timed: the ``run`` of the simulation only (wall and CPU), after the network is built.
"""

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MARKER = "L5_BENCHMARK_JSON "
SETTLE_MS = 200.0      # NEURON settles to rest without input first, as in the ground truth


def _example():
    """``examples/l5_microcircuit.py``, whose network this benchmark times."""
    spec = importlib.util.spec_from_file_location("l5_microcircuit",
                                                  REPO / "examples" / "l5_microcircuit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EXAMPLE = _example()
STIMULUS_MS, CONTACTS, connection_lists = (EXAMPLE.STIMULUS_MS, EXAMPLE.CONTACTS,
                                           EXAMPLE.connection_lists)


def network(options):
    """Everything both sides need: inputs per cell and channel, and the connections."""
    rng = np.random.default_rng(options.seed)
    n, T = options.n_cells, options.duration

    def poisson(rate):
        return [np.sort(rng.uniform(0, T, rng.poisson(rate * T / 1000.0))) for _ in range(n)]

    inputs = {"basal.ampa": (poisson(options.bg_exc_rate), options.bg_exc_weight),
              "apical_tuft.ampa": (poisson(options.bg_exc_rate), options.bg_exc_weight),
              "soma.gabaa": (poisson(options.bg_inh_rate), options.bg_inh_weight)}
    volley = [np.sort(STIMULUS_MS + rng.uniform(0, 2.0, 5)) for _ in range(n)]
    inputs["basal.ampa_volley"] = (volley, options.stim_weight)
    single, recip = connection_lists(n, options.p, rng)
    connections = [(i, j, 1.0) for i, j in single] + [(i, j, 1.5) for i, j in recip]
    return inputs, connections


def run_surrogate(options, inputs, connections):
    import torch
    torch.set_num_threads(options.threads)
    import pyNN_surrogate as sim

    sim.setup(timestep=0.1, min_delay=1.0)
    cells = sim.Population(options.n_cells, sim.HNN_L5Pyramidal())
    for key, (trains, weight) in inputs.items():
        source = sim.Population(options.n_cells, sim.SpikeSourceArray(spike_times=trains))
        sim.Projection(source, cells, sim.OneToOneConnector(),
                       sim.StaticSynapse(weight=weight, delay=1.0),
                       receptor_type=key.replace("_volley", ""))
    for group, n_contacts in CONTACTS.items():
        for receptor, ratio in (("ampa", 1.0), ("nmda", options.nmda_ratio)):
            conn = [(i, j, options.rec_weight * f * n_contacts * ratio, 1.5)
                    for i, j, f in connections]
            sim.Projection(cells, cells, sim.FromListConnector(conn,
                                                               column_names=["weight", "delay"]),
                           sim.StaticSynapse(), receptor_type=f"{group}.{receptor}")
    cells.record("spikes")
    t0, c0 = time.perf_counter(), time.process_time()
    sim.run(options.duration)
    run_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    trains = [np.asarray(t.magnitude) for t in cells.get_data().segments[0].spiketrains]
    sim.end()
    return run_s, cpu_s, trains


def run_neuron(options, inputs, connections):
    from hnn_core.network_builder import load_custom_mechanisms
    from neuron import h

    from pyNN_surrogate.surrogates.layouts import L5_LAYOUT
    from pyNN_surrogate.training.hnn_groundtruth import build_cells, connect_distributed

    load_custom_mechanisms()
    h.load_file("stdrun.hoc")
    trials = [dict(duration=options.duration, settle=SETTLE_MS,
                   inputs={ch: (np.asarray(trains[i]), w) for ch, (trains, w) in inputs.items()
                           if ch in L5_LAYOUT.channels})
              for i in range(options.n_cells)]
    built = build_cells(L5_LAYOUT, trials)
    keep = []
    # the volley (another weight on basal.ampa): its own VecStim onto the basal AMPA synapses
    times, weight = inputs["basal.ampa_volley"]
    for i, b in enumerate(built):
        vec = h.Vector(times[i] + SETTLE_MS)
        stim = h.VecStim()
        stim.play(vec)
        keep += [vec, stim] + connect_distributed(stim, b["syns"]["basal.ampa"], weight, 0.0)
    # recurrent connections: from the presynaptic soma to every site of each group
    for i, j, factor in connections:
        soma = built[i]["cell"]._nrn_sections["soma"]
        for group, n_contacts in CONTACTS.items():
            for receptor, ratio in (("ampa", 1.0), ("nmda", options.nmda_ratio)):
                cons = connect_distributed(
                    soma(0.5)._ref_v, built[j]["syns"][f"{group}.{receptor}"],
                    options.rec_weight * factor * n_contacts * ratio, 1.5, section=soma)
                for con in cons:
                    con.threshold = 0.0
                keep += cons
    spikes = []
    for b in built:
        soma = b["cell"]._nrn_sections["soma"]
        vec, con = h.Vector(), h.NetCon(soma(0.5)._ref_v, None, sec=soma)
        con.threshold = 0.0
        con.record(vec)
        spikes.append((vec, con))
    h.dt, h.steps_per_ms, h.celsius = 0.025, 40.0, L5_LAYOUT.celsius
    h.finitialize()
    h.continuerun(SETTLE_MS)           # to rest, as the surrogate's initial state (not timed)
    t0, c0 = time.perf_counter(), time.process_time()
    h.continuerun(SETTLE_MS + options.duration)
    run_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    return run_s, cpu_s, [np.asarray(v) - SETTLE_MS for v, _ in spikes]


def one(options):
    inputs, connections = network(options)
    runner = run_surrogate if options.backend == "surrogate" else run_neuron
    run_s, cpu_s, trains = runner(options, inputs, connections)
    counts = np.array([len(t) for t in trains])
    before, response = EXAMPLE.fractions(trains)
    result = dict(backend=options.backend, n_cells=options.n_cells,
                  duration_ms=options.duration, n_connections=len(connections),
                  run_s=run_s, run_cpu_s=cpu_s,
                  rate_hz=float(counts.mean() * 1000.0 / options.duration),
                  active_fraction=float(np.mean(counts > 0)),
                  fired_before_stimulus=before, fired_within_10ms=response)
    print(MARKER + json.dumps(result), flush=True)
    return result


def compare(options):
    """Run both backends ``--repeats`` times, interleaved, and write the report."""
    runs = {"neuron": [], "surrogate": []}
    for _ in range(options.repeats):
        for backend in ("neuron", "surrogate"):
            argv = [sys.executable, str(Path(__file__).resolve()), backend] + [
                f"--{k.replace('_', '-')}={v}" for k, v in vars(options).items()
                if k not in ("backend", "repeats", "out")]
            done = subprocess.run(argv, capture_output=True, text=True, cwd=REPO)
            line = [x for x in done.stdout.splitlines() if x.startswith(MARKER)]
            if done.returncode or not line:
                raise SystemExit(f"{backend} failed:\n{done.stderr[-3000:]}")
            runs[backend].append(json.loads(line[0][len(MARKER):]))
    med = {b: {k: float(np.median([r[k] for r in rs])) for k in ("run_s", "run_cpu_s", "rate_hz")}
           for b, rs in runs.items()}
    ratio = med["neuron"]["run_s"] / med["surrogate"]["run_s"]
    card = json.loads((REPO / "celltypes" / "HNN_L5Pyramidal" / "card.json").read_text()) \
        if (REPO / "celltypes" / "HNN_L5Pyramidal" / "card.json").exists() else None
    lines = [
        "# Benchmark: the recurrent L5 network, pyNN.surrogate vs hnn-core in NEURON", "",
        "Generated by `python benchmarks/l5_network.py compare"
        + (f" --repeats {options.repeats}" if options.repeats != 3 else "") + "`; do not edit.",
        "",
        f"{options.n_cells} hnn-core L5 pyramidal cells, {options.duration:g} ms, "
        f"{runs['neuron'][0]['n_connections']} recurrent connections (5 contacts each, AMPA "
        "and NMDA, static), Poisson background and a thalamic volley at 100 ms; NEURON at "
        "dt 0.025 ms (hnn-core's), the surrogate at timestep 0.1 ms with "
        f"{options.threads} torch thread(s). Medians of {options.repeats} interleaved runs in "
        "separate processes; only `run` is timed.", "",
        "| | run wall (s) | run CPU (s) | mean rate (Hz) |", "|---|---:|---:|---:|",
        f"| hnn-core in NEURON | {med['neuron']['run_s']:.2f} | {med['neuron']['run_cpu_s']:.2f} "
        f"| {med['neuron']['rate_hz']:.2f} |",
        f"| pyNN.surrogate | {med['surrogate']['run_s']:.3f} | "
        f"{med['surrogate']['run_cpu_s']:.3f} | {med['surrogate']['rate_hz']:.2f} |", "",
        f"**Speed-up (NEURON / surrogate run wall time): {ratio:.0f}x.**", "",
        f"Surrogate package: {card['description'] if card else 'none in celltypes/'}"
        + (f" (weights sha256 {card['weights']['sha256'][:12]})" if card else ""),
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{time.strftime('%Y-%m-%d')}.", "",
        "Raw runs:", "", "```json", json.dumps(runs, indent=1), "```", ""]
    Path(options.out).write_text("\n".join(lines))
    print("\n".join(lines[:16]))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    p.add_argument("backend", choices=("compare", "surrogate", "neuron"))
    p.add_argument("--n-cells", type=int, default=150)
    p.add_argument("--duration", type=float, default=250.0)
    p.add_argument("--p", type=float, default=0.08, help="connection probability")
    p.add_argument("--seed", type=int, default=7)
    for name, (value, help_text) in EXAMPLE.NETWORK_DEFAULTS.items():
        p.add_argument(f"--{name.replace('_', '-')}", type=float, default=value, help=help_text)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default=str(REPO / "docs" / "benchmarks_l5.md"))
    options = p.parse_args(argv)
    if options.backend == "compare":
        compare(options)
    else:
        one(options)


if __name__ == "__main__":
    main()
