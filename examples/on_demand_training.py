"""
A PyNN script whose cells lie outside the shipped surrogate's domain, run with on-demand
training: the first run trains and caches a surrogate for this parameter set (about 10 minutes
on 2 CPU cores), later runs find it in the cache.

Two models:

* ``coba`` (default): IF_cond_exp cells with the parameters of Vogels & Abbott's (2005) COBA
  network, the classic PyNN benchmark (cm 0.2 nF, v_rest = v_reset = -60 mV, tau_refrac 5 ms,
  e_rev_I -80 mV, tau_syn_I 10 ms); the shipped IF_cond_exp surrogate has PyNN's defaults.
* ``hh``: HH_cond_exp cells with gbar_Na = 25 uS instead of 20.

Usage::

    python examples/on_demand_training.py [surrogate|neuron] [coba|hh]

Prints the time to build the network (which includes any training), the run time and the
mean firing rate.
"""

import sys
import time
from importlib import import_module

COBA_PARAMETERS = dict(cm=0.2, tau_m=20.0, tau_refrac=5.0, v_rest=-60.0, v_reset=-60.0,
                       v_thresh=-50.0, e_rev_E=0.0, e_rev_I=-80.0, tau_syn_E=5.0,
                       tau_syn_I=10.0)
MODELS = {
    # cell type, parameters, Poisson input rate (Hz), excitatory weight (uS)
    "coba": ("IF_cond_exp", COBA_PARAMETERS, 500.0, 0.0008),
    "hh": ("HH_cond_exp", dict(gbar_Na=25.0), 100.0, 0.03),
}


def main(backend="surrogate", model="coba"):
    if model not in MODELS:
        raise SystemExit(f"unknown model {model!r}; choose one of {sorted(MODELS)}")
    celltype, parameters, input_rate, weight = MODELS[model]
    t0 = time.perf_counter()
    sim = import_module("pyNN_surrogate" if backend == "surrogate" else f"pyNN.{backend}")
    options = {"train_missing": True} if backend == "surrogate" else {}
    sim.setup(timestep=0.1, min_delay=1.0, **options)
    cells = sim.Population(20, getattr(sim, celltype)(**parameters), label="cells")
    noise = sim.Population(20, sim.SpikeSourcePoisson(rate=input_rate))
    sim.Projection(noise, cells, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=weight, delay=1.0), receptor_type="excitatory")
    cells.record("spikes")
    t1 = time.perf_counter()
    sim.run(1000.0)
    t2 = time.perf_counter()
    counts = cells.get_spike_counts()
    rate = sum(counts.values()) / len(counts)
    sim.end()
    print(f"{backend} ({model}): build {t1 - t0:.1f} s (including any on-demand training), "
          f"run {t2 - t1:.2f} s, mean rate {rate:.2f} Hz")
    return rate


if __name__ == "__main__":
    main(*sys.argv[1:])
