"""
Synapse types for pyNN_surrogate: static synapses and Tsodyks-Markram short-term plasticity.

Both are exact in the engine. Tsodyks-Markram follows the three-state model of pyNN.neuron's
``tsodyksmarkram.mod`` (u, x, y, z), with ``tau_syn`` taken from the target receptor.
"""

from pyNN.standardmodels import build_translations
from pyNN.standardmodels import synapses as base_synapses

from ..simulator import state


class MinimumDelayMixin:
    """A synapse whose default delay is the simulation's minimum delay (as in pyNN.neuron)."""

    def _get_minimum_delay(self):
        delay = state.min_delay
        if delay == "auto":
            delay = state.dt
        return delay


class StaticSynapse(MinimumDelayMixin, base_synapses.StaticSynapse):
    __doc__ = base_synapses.StaticSynapse.__doc__
    translations = build_translations(("weight", "weight"), ("delay", "delay"))


class TsodyksMarkramSynapse(MinimumDelayMixin, base_synapses.TsodyksMarkramSynapse):
    __doc__ = base_synapses.TsodyksMarkramSynapse.__doc__ + """
    pyNN_surrogate note: ``Projection.set(weight=...)`` changes the base weight that the
    efficacy ``u*x`` scales, from the next spike on (pyNN.neuron ignores such a change).
    """
    translations = build_translations(
        ("weight", "weight"),
        ("delay", "delay"),
        ("U", "U"),
        ("tau_rec", "tau_rec"),
        ("tau_facil", "tau_facil"),
    )
