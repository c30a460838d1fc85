"""
PyNN scripts used by several tests, written once against any backend module `sim`.

Each function builds a network on an already set-up `sim`, runs it, and returns what it
recorded, so the same code runs on pyNN.neuron and on pyNN_surrogate.
"""

import numpy as np


def ei_network(sim, n_exc=16, n_inh=4, simtime=200.0, seed=7):
    """
    An E/I network with every feature of the backend's "done" criterion.

    HH_cond_exp excitatory and inhibitory populations driven by Poisson and array sources,
    FixedProbability and FromList projections, Tsodyks-Markram recurrent synapses,
    heterogeneous delays, a step current, v and gsyn recording, and two runs with a reset.
    """
    rng = sim.NumpyRNG(seed=seed)
    exc = sim.Population(n_exc, sim.HH_cond_exp(), label="exc")
    inh = sim.Population(n_inh, sim.HH_cond_exp(), label="inh")
    noise = sim.Population(n_exc + n_inh, sim.SpikeSourcePoisson(rate=80.0), label="noise")
    stim_times = [np.array([20.0, 60.0, 61.5, 120.0]) + 0.3 * i for i in range(4)]
    stimulus = sim.Population(4, sim.SpikeSourceArray(spike_times=stim_times), label="stim")
    cells = exc + inh

    sim.Projection(noise, cells, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=0.02, delay=1.0), receptor_type="excitatory")
    sim.Projection(stimulus, exc,
                   sim.FromListConnector([(i, j, 0.03, 1.0 + 0.5 * j) for i in range(4)
                                          for j in range(0, n_exc, 3)],
                                         column_names=["weight", "delay"]),
                   receptor_type="excitatory")
    delays = sim.RandomDistribution("uniform", (1.0, 5.0), rng=rng)
    sim.Projection(exc, cells, sim.FixedProbabilityConnector(0.2, rng=rng),
                   sim.TsodyksMarkramSynapse(weight=0.01, delay=delays, U=0.5, tau_rec=200.0),
                   receptor_type="excitatory")
    sim.Projection(inh, cells, sim.FixedProbabilityConnector(0.3, rng=rng),
                   sim.StaticSynapse(weight=0.02, delay=delays), receptor_type="inhibitory")
    step = sim.StepCurrentSource(times=[50.0, 150.0], amplitudes=[0.5, 0.0])
    step.inject_into(exc[0:2])

    cells.record("spikes")
    exc[0:3].record(["v", "gsyn_exc", "gsyn_inh"])
    stimulus.record("spikes")
    sim.run(simtime)
    sim.reset()
    sim.run(simtime / 2)
    return {"exc": exc, "inh": inh, "cells": cells, "stimulus": stimulus}
