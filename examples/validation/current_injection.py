"""
Validation example 3: current injection across cell types.

For each cell type, a population of 8 cells receives deterministic currents: DC steps of
increasing amplitude (StepCurrentSource), one sinusoidal current (ACSource) and a DC pulse
(DCSource). Spikes and v are recorded. The cell types are HH_cond_exp and the cell types that
pyNN_surrogate has trained surrogates for (``pyNN_surrogate.surrogates.available_celltypes()``),
or the list given with ``--celltypes``.

Usage::

    python current_injection.py neuron [--celltypes HH_cond_exp,IF_cond_exp] [--duration 600]
"""

import numpy as np
from pyNN.utility import get_simulator

# Current scale per cell type (nA): roughly twice the rheobase of the default parameters.
CURRENT_SCALE = {"HH_cond_exp": 0.15, "IF_cond_exp": 1.5, "IF_cond_alpha": 1.5,
                 "IF_curr_exp": 1.5, "IF_curr_alpha": 1.5, "EIF_cond_exp_isfa_ista": 1.5,
                 "EIF_cond_alpha_isfa_ista": 1.5}


def default_celltypes():
    """HH_cond_exp plus every PyNN standard cell type with a trained surrogate (if
    pyNN_surrogate is there; the detailed HNN cells have no pyNN.neuron counterpart)."""
    names = ["HH_cond_exp"]
    try:
        from pyNN_surrogate.surrogates import available_celltypes
        from pyNN_surrogate.surrogates.layouts import LAYOUTS
        names += [name for name in available_celltypes()
                  if name not in names and name not in LAYOUTS]
    except ImportError:
        pass
    return ",".join(names)


def main():
    sim, options = get_simulator(
        ("--celltypes", "comma-separated cell types", {"default": None}),
        ("--duration", "simulated time (ms)", {"type": float, "default": 600.0}),
        ("--timestep", "time step (ms)", {"type": float, "default": 0.025}),
    )
    celltypes = (options.celltypes or default_celltypes()).split(",")
    sim.setup(timestep=options.timestep, min_delay=0.1)
    t_on, t_off = 100.0, options.duration - 100.0
    for name in celltypes:
        scale = CURRENT_SCALE.get(name, 0.15)
        cells = sim.Population(8, getattr(sim, name)(), label=name)
        for i, fraction in enumerate(np.linspace(-0.5, 2.0, 6)):
            source = sim.StepCurrentSource(times=[t_on, t_off],
                                           amplitudes=[fraction * scale, 0.0])
            source.inject_into(cells[i:i + 1])
        sim.ACSource(start=t_on, stop=t_off, amplitude=0.8 * scale, offset=0.8 * scale,
                     frequency=5.0, phase=0.0).inject_into(cells[6:7])
        sim.DCSource(start=t_on, stop=t_on + 50.0, amplitude=3.0 * scale).inject_into(
            cells[7:8])
        cells.record(["spikes", "v"])
    sim.run(options.duration)
    sim.end()


if __name__ == "__main__":
    main()
