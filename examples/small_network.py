"""
A small network of Hodgkin-Huxley cells: 80 excitatory and 20 inhibitory HH_cond_exp cells with
sparse recurrent connections, driven by Poisson input.

Usage::

    python examples/small_network.py surrogate [--plot-figure]
    python examples/small_network.py neuron    [--plot-figure]

The script is an ordinary PyNN script: only the first argument picks the backend.
"""

import time

import numpy as np
from pyNN.utility import get_simulator

sim, options = get_simulator(
    ("--plot-figure", "save a figure of the results", {"action": "store_true"}),
    ("--duration", "simulated time (ms)", {"type": float, "default": 500.0}),
)

sim.setup(timestep=0.1, min_delay=1.0)
rng = sim.NumpyRNG(seed=2026)

exc = sim.Population(80, sim.HH_cond_exp(), label="excitatory")
inh = sim.Population(20, sim.HH_cond_exp(), label="inhibitory")
drive = sim.Population(100, sim.SpikeSourcePoisson(rate=100.0), label="drive")
cells = exc + inh

sim.Projection(drive, cells, sim.OneToOneConnector(),
               sim.StaticSynapse(weight=0.03, delay=1.0), receptor_type="excitatory")
sim.Projection(exc, cells, sim.FixedProbabilityConnector(0.1, rng=rng),
               sim.StaticSynapse(weight=0.004, delay=1.5), receptor_type="excitatory")
sim.Projection(inh, cells, sim.FixedProbabilityConnector(0.1, rng=rng),
               sim.StaticSynapse(weight=0.02, delay=1.0), receptor_type="inhibitory")

cells.record("spikes")
exc[0:4].record("v")

start = time.perf_counter()
sim.run(options.duration)
wall = time.perf_counter() - start

for population in (exc, inh):
    trains = population.get_data().segments[0].spiketrains
    rate = np.mean([len(train) for train in trains]) / (options.duration / 1000.0)
    print(f"{population.label:>11}: mean rate {rate:6.2f} Hz")
print(f"simulated {options.duration:g} ms in {wall:.2f} s of wall time")

if options.plot_figure:
    from pyNN.utility.plotting import Figure, Panel

    data = exc.get_data().segments[0]
    filename = f"small_network_{options.simulator}.png"
    Figure(
        Panel(data.spiketrains, xlabel="Time (ms)", yticks=True, markersize=1),
        Panel(data.filter(name="v")[0], ylabel="v (mV)", xticks=True, yticks=True),
        title=f"Small HH network ({options.simulator})",
    ).save(filename)
    print(f"figure written to {filename}")

sim.end()
