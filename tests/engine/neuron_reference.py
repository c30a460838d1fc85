"""Small pyNN.neuron runs used as ground truth by the engine tests."""

import numpy as np


def run_gsyn(sim, dt, cell_type, params, spike_times, conns, t_stop, synapse=None):
    """Drive one cell from a SpikeSourceArray population; return gsyn_exc, gsyn_inh.

    conns: list of (source index, receptor "excitatory"/"inhibitory", weight, delay).
    synapse: None (StaticSynapse) or dict of TsodyksMarkramSynapse parameters.
    """
    sim.setup(timestep=dt, min_delay=dt)
    src = sim.Population(len(spike_times), sim.SpikeSourceArray(
        spike_times=[list(s) for s in spike_times]))
    cell = sim.Population(1, getattr(sim, cell_type)(**params))
    for rtype in ("excitatory", "inhibitory"):
        lst = [(i, 0, w, d) for (i, r, w, d) in conns if r == rtype]
        if lst:
            syn = sim.StaticSynapse() if synapse is None else sim.TsodyksMarkramSynapse(**synapse)
            sim.Projection(src, cell, sim.FromListConnector(lst, column_names=["weight", "delay"]),
                           syn, receptor_type=rtype)
    cell.record(["gsyn_exc", "gsyn_inh"])
    sim.run(t_stop)
    seg = cell.get_data().segments[0]
    ge = np.asarray(seg.filter(name="gsyn_exc")[0])[:, 0]
    gi = np.asarray(seg.filter(name="gsyn_inh")[0])[:, 0]
    sim.end()
    return ge, gi


def run_current_source(sim, dt, kind, params, t_stop):
    """Record a current source injected into one IF_curr_exp cell; return (t, i)."""
    sim.setup(timestep=dt, min_delay=dt)
    cell = sim.Population(1, sim.IF_curr_exp())
    source = getattr(sim, kind)(**params)
    cell.inject(source)
    source.record()
    sim.run(t_stop)
    sig = source.get_data()
    t, i = np.asarray(sig.times), np.asarray(sig)[:, 0]
    sim.end()
    return t, i
