"""
Validation example 5: a synfire chain with heterogeneous delays.

``--n-groups`` groups of 20 HH_cond_exp cells; each cell of group k+1 receives 10 random
connections from group k with delays drawn uniformly in 1-6 ms (so spike timing depends on the
delays), and weak Poisson background (SpikeSourceArray from a fixed numpy seed). A pulse
packet (20 spikes, sigma 1 ms) stimulates group 0 at 50 ms and again at 250 ms. Each group is
a separate population; the whole chain is recorded as one Assembly too.

Usage::

    python synfire_chain.py neuron [--n-groups 8] [--timestep 0.025]
"""

import numpy as np
from pyNN.utility import get_simulator


def main():
    sim, options = get_simulator(
        ("--n-groups", "groups in the chain", {"type": int, "default": 8}),
        ("--timestep", "time step (ms)", {"type": float, "default": 0.025}),
        ("--duration", "simulated time (ms)", {"type": float, "default": 450.0}),
        ("--seed", "seed", {"type": int, "default": 11}),
    )
    sim.setup(timestep=options.timestep, min_delay=1.0, max_delay=6.0)
    rng = sim.NumpyRNG(seed=options.seed)
    numpy_rng = np.random.default_rng(options.seed)
    group_size = 20
    groups = [sim.Population(group_size, sim.HH_cond_exp(), label=f"group{k}")
              for k in range(options.n_groups)]
    chain = sim.Assembly(*groups, label="chain")

    packet_times = np.array([50.0, 250.0])
    packets = [np.round(packet_times + numpy_rng.normal(0.0, 1.0, 2), 1)
               for _ in range(group_size)]
    stimulus = sim.Population(group_size, sim.SpikeSourceArray(spike_times=packets),
                              label="packet")
    sim.Projection(stimulus, groups[0], sim.FixedNumberPreConnector(10, rng=rng),
                   sim.StaticSynapse(weight=0.03, delay=1.0), receptor_type="excitatory")

    background_times = []
    for _ in range(len(chain)):
        times = np.sort(numpy_rng.uniform(0.0, options.duration,
                                          numpy_rng.poisson(300 * options.duration / 1000)))
        times = np.unique(np.round(times, 1))
        background_times.append(times[times >= 0.1])
    background = sim.Population(len(chain), sim.SpikeSourceArray(spike_times=background_times),
                                label="background")
    sim.Projection(background, chain, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=0.005, delay=1.0), receptor_type="excitatory")

    delays = sim.RandomDistribution("uniform", (1.0, 6.0), rng=rng)
    for pre, post in zip(groups[:-1], groups[1:]):
        sim.Projection(pre, post, sim.FixedNumberPreConnector(10, rng=rng),
                       sim.StaticSynapse(weight=0.02, delay=delays), receptor_type="excitatory")

    chain.record("spikes")
    groups[0][0:2].record("v")
    groups[-1][0:2].record("v")
    sim.run(options.duration)
    for group in groups:
        n = sum(len(t) for t in group.get_data().segments[0].spiketrains)
        print(f"{group.label}: {n} spikes")
    sim.end()


if __name__ == "__main__":
    main()
