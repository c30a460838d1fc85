"""
Standard cell types for pyNN_surrogate.

Each neuron type here is PyNN's standard definition plus two facts the engine needs:

* ``synapse_kernel``: ``"exp"``, ``"alpha"`` or ``"delta"`` (a voltage jump), the shape of the
  post-synaptic response, which the engine integrates exactly;
* ``conductance_based``: whether receptor drive is a conductance (µS) or a current (nA).

The neuron itself is always a trained surrogate loaded from ``celltypes/<name>/``. Native
parameter names are PyNN's names, so the cell-type cards speak PyNN units.
"""

from pyNN.standardmodels import build_translations
from pyNN.standardmodels import cells as base_cells


def identity_translations(base_class, *extra_names):
    """Translations mapping every PyNN parameter name of `base_class` to itself."""
    names = list(base_class.default_parameters) + list(extra_names)
    return build_translations(*[(name, name) for name in names])


class SurrogateCellMixin:
    """Marks a neuron type whose cells are run by a trained surrogate."""

    surrogate = True
    synapse_kernel = "exp"
    receptor_tau_parameters = {"excitatory": "tau_syn_E", "inhibitory": "tau_syn_I"}

    def resolve_receptor(self, receptor_type, location_selectors=()):
        """The engine receptor of a Projection: the PyNN receptor type itself (point cells
        have no locations)."""
        if set(location_selectors) - {None}:
            raise NotImplementedError("pyNN_surrogate point cells have no locations")
        return receptor_type

    def engine_receptors(self, parameters, card):
        """The engine's ReceptorSpecs for cells with native ``parameters`` (arrays)."""
        from ..engine import ReceptorSpec

        receptors = []
        for receptor, tau_name in self.receptor_tau_parameters.items():
            if self.conductance_based:
                channel = "g_exc" if receptor == "excitatory" else "g_inh"
                kind = "conductance"
            elif self.synapse_kernel == "delta":
                channel, kind = "v_jump", "voltage"
            else:
                channel, kind = "i_inj", "current"
            tau = 1.0 if tau_name is None else parameters[tau_name].copy()
            receptors.append(ReceptorSpec(name=receptor, kind=kind, kernel=self.synapse_kernel,
                                          tau=tau, channel=channel))
        return receptors


class HH_cond_exp(SurrogateCellMixin, base_cells.HH_cond_exp):
    __doc__ = base_cells.HH_cond_exp.__doc__
    translations = identity_translations(base_cells.HH_cond_exp)
    receptor_types = ("excitatory", "inhibitory")


class IF_cond_exp(SurrogateCellMixin, base_cells.IF_cond_exp):
    __doc__ = base_cells.IF_cond_exp.__doc__
    translations = identity_translations(base_cells.IF_cond_exp)


class IF_cond_alpha(SurrogateCellMixin, base_cells.IF_cond_alpha):
    __doc__ = base_cells.IF_cond_alpha.__doc__
    translations = identity_translations(base_cells.IF_cond_alpha)
    synapse_kernel = "alpha"


class IF_curr_exp(SurrogateCellMixin, base_cells.IF_curr_exp):
    __doc__ = base_cells.IF_curr_exp.__doc__
    translations = identity_translations(base_cells.IF_curr_exp)


class IF_curr_alpha(SurrogateCellMixin, base_cells.IF_curr_alpha):
    __doc__ = base_cells.IF_curr_alpha.__doc__
    translations = identity_translations(base_cells.IF_curr_alpha)
    synapse_kernel = "alpha"


class EIF_cond_exp_isfa_ista(SurrogateCellMixin, base_cells.EIF_cond_exp_isfa_ista):
    __doc__ = base_cells.EIF_cond_exp_isfa_ista.__doc__
    translations = identity_translations(base_cells.EIF_cond_exp_isfa_ista)


class EIF_cond_alpha_isfa_ista(SurrogateCellMixin, base_cells.EIF_cond_alpha_isfa_ista):
    __doc__ = base_cells.EIF_cond_alpha_isfa_ista.__doc__
    translations = identity_translations(base_cells.EIF_cond_alpha_isfa_ista)
    synapse_kernel = "alpha"


class Izhikevich(SurrogateCellMixin, base_cells.Izhikevich):
    __doc__ = base_cells.Izhikevich.__doc__
    translations = identity_translations(base_cells.Izhikevich)
    synapse_kernel = "delta"
    receptor_tau_parameters = {"excitatory": None, "inhibitory": None}
    recordable = ["spikes", "v", "u"]   # u: where the surrogate's card outputs it


class SpikeSourcePoisson(base_cells.SpikeSourcePoisson):
    __doc__ = base_cells.SpikeSourcePoisson.__doc__
    translations = identity_translations(base_cells.SpikeSourcePoisson)
    engine_kind = "poisson"


class SpikeSourcePoissonRefractory(base_cells.SpikeSourcePoissonRefractory):
    __doc__ = base_cells.SpikeSourcePoissonRefractory.__doc__
    translations = identity_translations(base_cells.SpikeSourcePoissonRefractory)
    engine_kind = "poisson_refractory"


class SpikeSourceGamma(base_cells.SpikeSourceGamma):
    __doc__ = base_cells.SpikeSourceGamma.__doc__
    translations = identity_translations(base_cells.SpikeSourceGamma)
    engine_kind = "gamma"


class SpikeSourceArray(base_cells.SpikeSourceArray):
    __doc__ = base_cells.SpikeSourceArray.__doc__
    translations = identity_translations(base_cells.SpikeSourceArray)
    engine_kind = "array"


NEURON_TYPES = (HH_cond_exp, IF_cond_exp, IF_cond_alpha, IF_curr_exp, IF_curr_alpha,
                EIF_cond_exp_isfa_ista, EIF_cond_alpha_isfa_ista, Izhikevich)
SPIKE_SOURCE_TYPES = (SpikeSourcePoisson, SpikeSourcePoissonRefractory, SpikeSourceGamma,
                      SpikeSourceArray)
