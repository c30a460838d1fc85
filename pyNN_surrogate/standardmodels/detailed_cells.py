"""
Detailed cell types: hnn-core's L5 and L2/3 pyramidal cells as PyNN cell types.

Each cell is a surrogate of the multicompartment HNN cell with its synaptic contact sites
grouped as in :mod:`pyNN_surrogate.surrogates.layouts`. What PyNN sees:

* **receptor types** ``"<group>.<receptor>"`` (e.g. ``"apical_tuft.ampa"``): the summed
  conductance of HNN's receptor (AMPA, NMDA, GABA_A, GABA_B; NEURON Exp2Syn kinetics) over the
  group's sites. Weights are in uS, as for any conductance-based PyNN cell.
* **site assignment rule**: a Projection addresses one site group and receptor. Either name
  both in ``receptor_type`` (``"basal.ampa"``), or give the bare receptor (``"ampa"``) and the
  group as the connector's ``location_selector`` (``FixedProbabilityConnector(0.1,
  location_selector="basal")``). A connection to a group is a distributed contact: its
  conductance is shared equally by the group's sites (as in the surrogate's ground truth, where
  every input event reached each of the group's n sites with weight / n); several connections
  to a group sum their conductances. To split one connection over several groups (e.g. 3 basal
  and 2 oblique contacts), give each group a Projection with its share of the weight.
* **recordables** ``spikes``, ``v`` (soma), ``v.<section>`` (dendritic v in the middle of the
  section), ``ca.<section>`` (intracellular Ca, mM, L5 only) and ``dipole`` (current dipole,
  nAm); exactly those the cell type's trained surrogate outputs.
* **parameters**: ``i_offset`` (nA, somatic DC). The morphology and channels are hnn-core's,
  fixed; the card says so.
"""

from pyNN import errors
from pyNN.standardmodels import StandardCellType, build_translations

from ..surrogates.layouts import HNN_KINETICS, L5_LAYOUT, L23_LAYOUT, RECEPTORS


class DetailedCellType(StandardCellType):
    """A surrogate of a detailed (multicompartment) cell with grouped contact sites."""

    surrogate = True
    detailed = True
    layout = None                  # the CellLayout of the subclass
    conductance_based = True
    default_parameters = {"i_offset": 0.0}
    default_initial_values = {"v": -65.0}
    translations = build_translations(("i_offset", "i_offset"))
    receptor_tau_parameters = {}   # no synaptic time constant is a parameter

    def resolve_receptor(self, receptor_type, location_selectors=()):
        """The channel (``"<group>.<receptor>"``) a Projection's connections feed.

        Parameters
        ----------
        receptor_type : str
            ``"<group>.<receptor>"`` or a bare receptor (``"ampa"``, ...).
        location_selectors : collection of str
            The connector's ``location_selector`` values (site group names).

        Raises
        ------
        pyNN.errors.ConnectionError
            When the pair does not name one of the cell's channels.
        """
        selectors = set(location_selectors) - {None}
        if len(selectors) > 1:
            raise errors.ConnectionError(
                f"one Projection addresses one site group; got location_selectors "
                f"{sorted(selectors)}")
        groups = [g.name for g in self.layout.groups]
        if receptor_type in self.layout.channels:
            if selectors and f"{selectors.pop()}.{receptor_type.split('.')[1]}" \
                    != receptor_type:
                raise errors.ConnectionError(
                    f"receptor_type {receptor_type!r} names a site group; the connector's "
                    f"location_selector names another")
            return receptor_type
        if not selectors:
            raise errors.ConnectionError(
                f"receptor_type {receptor_type!r} of {type(self).__name__} needs a site group: "
                f"use '<group>.{receptor_type}' or the connector's location_selector, with a "
                f"group among {groups}")
        channel = f"{selectors.pop()}.{receptor_type}"
        if channel not in self.layout.channels:
            raise errors.ConnectionError(
                f"{type(self).__name__} has no {receptor_type!r} receptors in that site group "
                f"(channel {channel!r}); its channels are {list(self.layout.channels)}")
        return channel

    def engine_receptors(self, parameters, card):
        """One exp2 (NEURON Exp2Syn) receptor per channel, with the card's kinetics."""
        from ..engine import ReceptorSpec

        kinetics = card.get("synapse_kinetics", HNN_KINETICS)
        specs = []
        for channel in self.layout.channels:
            k = kinetics[channel.split(".")[1]]
            specs.append(ReceptorSpec(name=channel, kind="conductance", kernel="exp2",
                                      tau=float(k["tau2"]), channel=channel,
                                      tau_rise=float(k["tau1"])))
        return specs


def _detailed_type(name, layout, doc):
    """A DetailedCellType subclass for ``layout`` (receptor types and recordables from it)."""
    readouts = layout.readouts
    units = {"v": "mV", "dipole": "nA*m", "spikes": "ms"}
    units.update({r: ("mM" if r.startswith("ca.") else "mV") for r in readouts[:-1]})
    units["i_offset"] = "nA"
    return type(name, (DetailedCellType,), dict(
        __doc__=doc, layout=layout,
        receptor_types=tuple(layout.channels) + RECEPTORS,
        recordable=["spikes", "v"] + readouts, units=units))


HNN_L5Pyramidal = _detailed_type(
    "HNN_L5Pyramidal", L5_LAYOUT,
    "Surrogate of hnn-core's L5 pyramidal cell (9 sections, HNN's channels and synapses).")
HNN_L23Pyramidal = _detailed_type(
    "HNN_L23Pyramidal", L23_LAYOUT,
    "Surrogate of hnn-core's L2/3 pyramidal cell (HNN's channels and synapses).")

DETAILED_TYPES = (HNN_L5Pyramidal, HNN_L23Pyramidal)
