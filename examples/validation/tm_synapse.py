"""
Validation example 4: Tsodyks-Markram short-term plasticity.

Three HH_cond_exp cells each receive a regular 20 Hz train of 8 presynaptic spikes followed by a
recovery spike 500 ms later, through a Tsodyks-Markram synapse that is depressing
(U = 0.5, tau_rec = 500 ms), facilitating (U = 0.04, tau_facil = 1000 ms, tau_rec = 100 ms) or
static (for reference). Weights are subthreshold, so the EPSPs in v and the conductance traces
show the synaptic dynamics directly; a fourth cell gets the depressing synapse with a
suprathreshold weight.

Usage::

    python tm_synapse.py neuron [--timestep 0.025]
"""

import numpy as np
from pyNN.utility import get_simulator


def main():
    sim, options = get_simulator(
        ("--timestep", "time step (ms)", {"type": float, "default": 0.025}),
        ("--rate", "presynaptic rate (Hz)", {"type": float, "default": 20.0}),
    )
    sim.setup(timestep=options.timestep, min_delay=1.0)
    isi = 1000.0 / options.rate
    train = np.concatenate([50.0 + isi * np.arange(8), [50.0 + isi * 7 + 500.0]])
    duration = train[-1] + 100.0
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=train), label="presynaptic")
    cells = sim.Population(4, sim.HH_cond_exp(), label="postsynaptic")
    synapses = [
        sim.TsodyksMarkramSynapse(weight=0.01, delay=1.0, U=0.5, tau_rec=500.0, tau_facil=0.0),
        sim.TsodyksMarkramSynapse(weight=0.1, delay=1.0, U=0.04, tau_rec=100.0,
                                  tau_facil=1000.0),
        sim.StaticSynapse(weight=0.005, delay=1.0),
        sim.TsodyksMarkramSynapse(weight=0.2, delay=1.0, U=0.5, tau_rec=500.0, tau_facil=0.0),
    ]
    labels = ["depressing", "facilitating", "static", "depressing (suprathreshold)"]
    for i, (synapse, label) in enumerate(zip(synapses, labels)):
        sim.Projection(source, cells[i:i + 1], sim.AllToAllConnector(), synapse,
                       receptor_type="excitatory", label=label)
    cells.record(["spikes", "v", "gsyn_exc"])
    source.record("spikes")
    sim.run(duration)
    sim.end()


if __name__ == "__main__":
    main()
