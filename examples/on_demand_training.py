"""
A PyNN script whose cells lie outside the shipped HH_cond_exp domain (gbar_Na = 25 uS instead
of 20), run with on-demand training: the first run trains and caches a surrogate for this
parameter set (about 10 minutes on 2 CPU cores), later runs find it in the cache.

Usage::

    python examples/on_demand_training.py            # pyNN_surrogate, train_missing=True
    python examples/on_demand_training.py neuron     # the same network on pyNN.neuron

Prints the time to build the network (which includes any training), the run time and the
mean firing rate.
"""

import sys
import time
from importlib import import_module


def main(backend="surrogate"):
    t0 = time.perf_counter()
    sim = import_module("pyNN_surrogate" if backend == "surrogate" else f"pyNN.{backend}")
    options = {"train_missing": True} if backend == "surrogate" else {}
    sim.setup(timestep=0.1, min_delay=1.0, **options)
    cells = sim.Population(20, sim.HH_cond_exp(gbar_Na=25.0), label="cells")
    noise = sim.Population(20, sim.SpikeSourcePoisson(rate=100.0))
    sim.Projection(noise, cells, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=0.03, delay=1.0), receptor_type="excitatory")
    cells.record("spikes")
    t1 = time.perf_counter()
    sim.run(1000.0)
    t2 = time.perf_counter()
    counts = cells.get_spike_counts()
    rate = sum(counts.values()) / len(counts)
    sim.end()
    print(f"{backend}: build {t1 - t0:.1f} s (including any on-demand training), "
          f"run {t2 - t1:.2f} s, mean rate {rate:.2f} Hz")
    return rate


if __name__ == "__main__":
    main(*sys.argv[1:])
