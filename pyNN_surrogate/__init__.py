"""
pyNN_surrogate: a PyNN backend in which every neuron is a trained CNN-LSTM surrogate of a NEURON
cell model, run batched in PyTorch.

Use it like any PyNN backend::

    import pyNN_surrogate as sim     # or: import pyNN.surrogate as sim
    sim.setup(timestep=0.1)
    cells = sim.Population(100, sim.HH_cond_exp())
    ...

The names exported here are PyNN's API, listed explicitly.
"""

from pyNN import errors, random, space  # noqa: F401
from pyNN.network import Network  # noqa: F401
from pyNN.random import GSLRNG, NumpyRNG, RandomDistribution  # noqa: F401
from pyNN.space import Space  # noqa: F401
from pyNN.connectors import (  # noqa: F401
    AllToAllConnector,
    ArrayConnector,
    CloneConnector,
    CSAConnector,
    DisplacementDependentProbabilityConnector,
    DistanceDependentProbabilityConnector,
    FixedNumberPostConnector,
    FixedNumberPreConnector,
    FixedProbabilityConnector,
    FixedTotalNumberConnector,
    FromFileConnector,
    FromListConnector,
    IndexBasedProbabilityConnector,
    OneToOneConnector,
)
from pyNN.standardmodels import StandardCellType

from .connectors import SmallWorldConnector  # noqa: F401
from .standardmodels.cells import (  # noqa: F401
    EIF_cond_alpha_isfa_ista,
    EIF_cond_exp_isfa_ista,
    HH_cond_exp,
    IF_cond_alpha,
    IF_cond_exp,
    IF_curr_alpha,
    IF_curr_exp,
    Izhikevich,
    SpikeSourceArray,
    SpikeSourceGamma,
    SpikeSourcePoisson,
    SpikeSourcePoissonRefractory,
)
from .standardmodels.detailed_cells import (  # noqa: F401
    DetailedCellType,
    HNN_L5Pyramidal,
    HNN_L23Pyramidal,
)
from .standardmodels.synapses import StaticSynapse, TsodyksMarkramSynapse  # noqa: F401
from .standardmodels.electrodes import (  # noqa: F401
    ACSource,
    DCSource,
    NoisyCurrentSource,
    StepCurrentSource,
)
from .populations import Assembly, Population, PopulationView  # noqa: F401
from .projections import Projection  # noqa: F401
from .control import (  # noqa: F401
    end,
    get_current_time,
    get_max_delay,
    get_min_delay,
    get_time_step,
    initialize,
    num_processes,
    rank,
    reset,
    run,
    run_for,
    run_until,
    setup,
)
from .procedural_api import connect, create, record, record_gsyn, record_v, set  # noqa: F401
from .simulator import state  # noqa: F401

__version__ = "0.1.0"


def list_standard_models():
    """Return the names of the PyNN standard cell types this backend defines (the detailed
    HNN cell types are this backend's own, not PyNN standard models)."""
    return [name for name, obj in globals().items()
            if isinstance(obj, type) and issubclass(obj, StandardCellType)
            and obj is not StandardCellType and not issubclass(obj, DetailedCellType)]
