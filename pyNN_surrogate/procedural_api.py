"""The procedural API (``create``, ``connect``, ``record``, ``set``) for pyNN_surrogate."""

from pyNN import common
from pyNN.connectors import FixedProbabilityConnector

from . import simulator
from .populations import Population
from .projections import Projection
from .standardmodels.synapses import StaticSynapse

create = common.build_create(Population)

connect = common.build_connect(Projection, FixedProbabilityConnector, StaticSynapse)

set = common.set

record = common.build_record(simulator)


def record_v(source, filename):
    """Record the membrane potential of `source` to `filename`."""
    return record(["v"], source, filename)


def record_gsyn(source, filename):
    """Record the synaptic conductances of `source` to `filename`."""
    return record(["gsyn_exc", "gsyn_inh"], source, filename)
