"""
Validation example 1: a small network of Hodgkin-Huxley cells.

80 excitatory and 20 inhibitory HH_cond_exp cells with sparse random recurrent connections,
each driven by its own Poisson spike train. The input trains are generated with numpy from a
fixed seed and given as SpikeSourceArray, so every backend receives identical inputs and the
validator can compare spike trains cell by cell. The excitatory and inhibitory populations are
recorded through an Assembly.

Usage::

    python small_network.py neuron [--duration 1000] [--timestep 0.025]
    python -m pyNN_surrogate.validate examples/validation/small_network.py
"""

import numpy as np
from pyNN.utility import get_simulator


def poisson_trains(n, rate, duration, seed, resolution=0.1):
    """``n`` Poisson spike trains (ms), rounded to ``resolution``, unique and sorted."""
    rng = np.random.default_rng(seed)
    trains = []
    for _ in range(n):
        times = np.sort(rng.uniform(0.0, duration, rng.poisson(rate * duration / 1000.0)))
        times = np.unique(np.round(times / resolution) * resolution)
        trains.append(times[times >= resolution])
    return trains


def main():
    sim, options = get_simulator(
        ("--duration", "simulated time (ms)", {"type": float, "default": 1000.0}),
        ("--timestep", "time step (ms)", {"type": float, "default": 0.025}),
        ("--seed", "seed of inputs and connectivity", {"type": int, "default": 2026}),
    )
    sim.setup(timestep=options.timestep, min_delay=1.0)
    rng = sim.NumpyRNG(seed=options.seed)

    exc = sim.Population(80, sim.HH_cond_exp(), label="excitatory")
    inh = sim.Population(20, sim.HH_cond_exp(), label="inhibitory")
    cells = exc + inh
    drive = sim.Population(100, sim.SpikeSourceArray(
        spike_times=poisson_trains(100, 500.0, options.duration, options.seed)), label="drive")

    sim.Projection(drive, cells, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=0.006, delay=1.0), receptor_type="excitatory")
    sim.Projection(exc, cells, sim.FixedProbabilityConnector(0.1, rng=rng),
                   sim.StaticSynapse(weight=0.004, delay=1.5), receptor_type="excitatory")
    sim.Projection(inh, cells, sim.FixedProbabilityConnector(0.2, rng=rng),
                   sim.StaticSynapse(weight=0.04, delay=1.0), receptor_type="inhibitory")

    cells.record("spikes")
    exc[0:4].record("v")
    inh[0:2].record("v")

    sim.run(options.duration)
    for population in (exc, inh):
        trains = population.get_data().segments[0].spiketrains
        rate = np.mean([len(t) for t in trains]) * 1000.0 / options.duration
        print(f"{population.label:>11}: mean rate {rate:6.2f} Hz")
    sim.end()


if __name__ == "__main__":
    main()
