"""Contact-site layouts of the detailed HNN cell types: the model spec shared by ground truth
(:mod:`pyNN_surrogate.training.hnn_groundtruth`), cards and the PyNN cell types.

A layout names the hnn-core cell, its groups of synaptic contact sites (which sections, how many
sites, which receptors) and its readouts. A cell's drive channels are ``"<group>.<receptor>"``:
the summed conductance (uS) of that receptor over the group's sites. Pure data and numpy: no
PyNN, NEURON or hnn-core import.
"""

from dataclasses import dataclass

import numpy as np

RECEPTORS = ("ampa", "nmda", "gabaa", "gabab")
INHIBITORY = ("gabaa", "gabab")


@dataclass(frozen=True)
class SiteGroup:
    """A group of synaptic contact sites spread evenly over some sections.

    Parameters
    ----------
    name : str
        Group name, the prefix of its receptor types (e.g. ``"apical_tuft"``).
    sections : tuple of str
        hnn-core section names, in order; the sites are spread over their joint length.
    n_sites : int
    receptors : tuple of str
        hnn-core synapse types present at every site of the group.
    """

    name: str
    sections: tuple
    n_sites: int
    receptors: tuple = RECEPTORS

    def __post_init__(self):
        if self.n_sites < 1:
            raise ValueError(f"site group {self.name!r}: n_sites must be >= 1")
        unknown = set(self.receptors) - set(RECEPTORS)
        if unknown:
            raise ValueError(f"site group {self.name!r}: unknown receptor(s) {sorted(unknown)}; "
                             f"HNN's are {RECEPTORS}")


@dataclass(frozen=True)
class CellLayout:
    """Contact sites and readouts of one detailed cell type.

    Parameters
    ----------
    cell_name : str
        ``hnn_core.cells_default.pyramidal`` cell name (``"L5_pyramidal"``,
        ``"L2_pyramidal"``).
    groups : tuple of SiteGroup
    dendritic_readouts : tuple of str
        Sections whose middle ``v`` is recorded (recordable ``v.<section>``).
    calcium_readouts : tuple of str
        Sections whose middle ``cai`` is recorded (recordable ``ca.<section>``).
    spike_threshold : float
        Somatic spike threshold (mV).
    celsius : float
        Temperature (degC) the channel kinetics are scaled to; HNN's default.
    """

    cell_name: str
    groups: tuple
    dendritic_readouts: tuple = ()
    calcium_readouts: tuple = ()
    spike_threshold: float = 0.0
    celsius: float = 37.0

    @property
    def readouts(self):
        """Analog outputs besides the somatic v, in order: ``v.<section>``, ``ca.<section>``,
        ``dipole``."""
        return ([f"v.{s}" for s in self.dendritic_readouts]
                + [f"ca.{s}" for s in self.calcium_readouts] + ["dipole"])

    @property
    def channels(self):
        """Drive channel names, ``"<group>.<receptor>"``, in a fixed order."""
        return tuple(f"{g.name}.{r}" for g in self.groups for r in g.receptors)

    def sites(self, section_lengths):
        """Contact sites as ``(group name, section, x)``, ``x`` the position along the section.

        The ``n_sites`` sites of a group sit at the centres of ``n_sites`` equal parts of the
        joint length of its sections (``section_lengths``: name -> length in um).
        """
        out = []
        for g in self.groups:
            lengths = np.array([float(section_lengths[s]) for s in g.sections])
            ends = np.cumsum(lengths)
            for pos in (np.arange(g.n_sites) + 0.5) / g.n_sites * ends[-1]:
                i = int(np.searchsorted(ends, pos))
                start = ends[i] - lengths[i]
                out.append((g.name, g.sections[i], float((pos - start) / lengths[i])))
        return out


L5_LAYOUT = CellLayout(
    cell_name="L5_pyramidal",
    groups=(
        SiteGroup("soma", ("soma",), 1, INHIBITORY),
        SiteGroup("basal", ("basal_1", "basal_2", "basal_3"), 12),
        SiteGroup("apical_oblique", ("apical_oblique",), 6),
        SiteGroup("apical_trunk", ("apical_trunk", "apical_1"), 8),
        SiteGroup("apical_tuft", ("apical_2", "apical_tuft"), 10),
    ),
    dendritic_readouts=("basal_2", "apical_1", "apical_tuft"),
    calcium_readouts=("soma", "apical_1", "apical_tuft"),
)

L23_LAYOUT = CellLayout(
    cell_name="L2_pyramidal",
    groups=(
        SiteGroup("soma", ("soma",), 1, INHIBITORY),
        SiteGroup("basal", ("basal_1", "basal_2", "basal_3"), 10),
        SiteGroup("apical_oblique", ("apical_oblique",), 6),
        SiteGroup("apical_trunk", ("apical_trunk", "apical_1"), 6),
        SiteGroup("apical_tuft", ("apical_tuft",), 6),
    ),
    dendritic_readouts=("basal_2", "apical_1", "apical_tuft"),
)

# HNN's synapse kinetics (``cell.synapses`` of both pyramidal cells in hnn-core 0.6.1):
# NEURON Exp2Syn rise and decay time constants (ms) and reversal potential (mV).
HNN_KINETICS = {"ampa": dict(tau1=0.5, tau2=5.0, e=0.0),
                "nmda": dict(tau1=1.0, tau2=20.0, e=0.0),
                "gabaa": dict(tau1=0.5, tau2=5.0, e=-80.0),
                "gabab": dict(tau1=1.0, tau2=20.0, e=-80.0)}

LAYOUTS = {"HNN_L5Pyramidal": L5_LAYOUT, "HNN_L23Pyramidal": L23_LAYOUT}
