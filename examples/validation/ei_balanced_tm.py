"""
Validation example 2: an E/I balanced network of HH cells with Tsodyks-Markram synapses.

120 excitatory and 30 inhibitory HH_cond_exp cells, 10% random connectivity. Recurrent
excitatory synapses are depressing Tsodyks-Markram synapses (U = 0.5, tau_rec = 200 ms);
inhibition is static and stronger, balancing the recurrent excitation. Each cell receives
its own Poisson background (SpikeSourceArray from a fixed numpy seed: identical inputs on every
backend). Delays are heterogeneous (1-3 ms).

Usage::

    python ei_balanced_tm.py neuron [--duration 1000] [--timestep 0.025]
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
        ("--n-exc", "excitatory cells", {"type": int, "default": 120}),
        ("--seed", "seed of inputs and connectivity", {"type": int, "default": 7}),
    )
    n_exc = options.n_exc
    n_inh = n_exc // 4
    sim.setup(timestep=options.timestep, min_delay=1.0, max_delay=5.0)
    rng = sim.NumpyRNG(seed=options.seed)

    exc = sim.Population(n_exc, sim.HH_cond_exp(), label="exc")
    inh = sim.Population(n_inh, sim.HH_cond_exp(), label="inh")
    background = sim.Population(n_exc + n_inh, sim.SpikeSourceArray(
        spike_times=poisson_trains(n_exc + n_inh, 500.0, options.duration, options.seed)),
        label="background")
    all_cells = exc + inh
    sim.Projection(background, all_cells, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=0.006, delay=1.0), receptor_type="excitatory")

    delays = sim.RandomDistribution("uniform", (1.0, 3.0), rng=rng)
    sim.Projection(exc, all_cells, sim.FixedProbabilityConnector(0.1, rng=rng),
                   sim.TsodyksMarkramSynapse(weight=0.01, delay=delays, U=0.5, tau_rec=200.0,
                                             tau_facil=0.0),
                   receptor_type="excitatory", label="E->all (TM)")
    sim.Projection(inh, all_cells, sim.FixedProbabilityConnector(0.1, rng=rng),
                   sim.StaticSynapse(weight=0.1, delay=delays), receptor_type="inhibitory",
                   label="I->all")

    exc.record("spikes")
    inh.record("spikes")
    exc[0:3].record(["v", "gsyn_exc", "gsyn_inh"])

    sim.run(options.duration)
    for population in (exc, inh):
        trains = population.get_data().segments[0].spiketrains
        rate = np.mean([len(t) for t in trains]) * 1000.0 / options.duration
        print(f"{population.label}: mean rate {rate:6.2f} Hz")
    sim.end()


if __name__ == "__main__":
    main()
