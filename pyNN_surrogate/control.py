"""
Functions for simulation set-up and control: ``setup``, ``run``, ``reset``, ``end`` and the
state queries, as in every PyNN backend.
"""

from pyNN import common
from pyNN.common.control import DEFAULT_MAX_DELAY, DEFAULT_MIN_DELAY, DEFAULT_TIMESTEP
from pyNN.recording import get_io

from . import simulator


def setup(timestep=DEFAULT_TIMESTEP, min_delay=DEFAULT_MIN_DELAY, **extra_params):
    """
    Initialise (or re-initialise) the simulator. Any existing network is destroyed.

    Parameters
    ----------
    timestep : float
        Integration time step of synapses, delays and sources (ms). The surrogate cells run at
        their own native step, which must be a whole multiple of `timestep`.
    min_delay : float or "auto"
        Minimum synaptic delay (ms). The engine advances in windows of this length (rounded down
        to the surrogates' native step, and at least one native step).
    max_delay : float or "auto", optional
        Maximum synaptic delay (ms).
    rng_seed : int, optional
        Seed of the engine's random number generator (spike sources, noisy currents). The same
        seed on the same device gives bit-identical results.
    device : str, optional
        Torch device ("cpu", "cuda", "cuda:1"...). Default: the ``PYNN_SURROGATE_DEVICE``
        environment variable, else CUDA when available, else CPU.
    train_missing : bool, optional
        When a population asks for intrinsic parameters outside its surrogate's trained
        domain, train a surrogate for that parameter set (pyNN.neuron ground truth; about
        10 minutes on 2 CPU cores, with progress) and cache it per user, instead of raising.
        Default: the ``PYNN_SURROGATE_TRAIN_MISSING`` environment variable, else False.
    **extra_params
        Options of other backends (e.g. ``use_cvode``) are accepted and ignored.

    Returns
    -------
    int
        The MPI rank (always 0).
    """
    common.setup(timestep, min_delay, **extra_params)
    if timestep <= 0:
        raise ValueError(f"timestep must be positive, got {timestep}")
    max_delay = extra_params.get("max_delay", DEFAULT_MAX_DELAY)
    simulator.state.configure(timestep, min_delay, max_delay,
                              device=extra_params.get("device"),
                              seed=extra_params.get("rng_seed"),
                              train_missing=extra_params.get("train_missing"))
    return rank()


def end(compatible_output=True):
    """Write any data requested with ``record(..., to_file=...)`` and finish."""
    for population, variables, filename in simulator.state.write_on_end:
        io = get_io(filename)
        population.write_data(io, variables)
    simulator.state.write_on_end = []


run, run_until = common.build_run(simulator)
run_for = run

reset = common.build_reset(simulator)

initialize = common.initialize

get_current_time, get_time_step, get_min_delay, get_max_delay, \
    num_processes, rank = common.build_state_queries(simulator)
