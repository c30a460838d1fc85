"""Training-side description of the PyNN standard cell types we can build surrogates for.

Each :class:`CellSpec` says how the ground truth is produced (which pyNN.neuron class, which
drive channels, which scales to draw random inputs from) and which parameters are fixed or
free in the resulting surrogate's domain.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CellSpec:
    """How to make ground truth for, and describe the domain of, one PyNN cell type.

    Parameters
    ----------
    name : str
        PyNN standard cell type name, e.g. ``"HH_cond_exp"``.
    synapse : str
        ``"conductance"`` or ``"current"``.
    g_leak : float
        Leak conductance (uS) of the default cell; input conductances are drawn relative to it.
    cm : float
        Membrane capacitance (nF) of the default cell; used to size synaptic weights from
        target PSP amplitudes.
    i_scale : float
        Current scale (nA) of the default cell (about the rheobase); injected currents and
        current-based synaptic weights are drawn relative to it.
    free : tuple of str
        Parameters that act only through the drive (synaptic time constants); their domain
        is the range the ground truth covered (``tau_e``/``tau_i`` and the defaults).
    current_param : str
        Parameter whose domain is the trained injected-current range (enters ``i_inj``).
    tau_e, tau_i : tuple of float
        Log-uniform ranges (ms) of the synaptic time constants drawn in the ground truth.
    v_clip : float
        Level (mV) at which v is clipped for the "clipped" v metrics.
    tau_defaults : tuple of float
        PyNN default ``(tau_syn_E, tau_syn_I)`` (ms) of the cell type.
    """

    name: str
    synapse: str
    g_leak: float
    cm: float
    i_scale: float
    free: tuple = ("tau_syn_E", "tau_syn_I")
    current_param: str = "i_offset"
    tau_e: tuple = (0.2, 10.0)
    tau_i: tuple = (1.0, 20.0)
    v_clip: float = -40.0
    tau_defaults: tuple = (5.0, 5.0)
    extra: dict = field(default_factory=dict)

    @property
    def drive_channels(self):
        """Names of the surrogate's input channels, in order."""
        if self.synapse == "conductance":
            return ("g_exc", "g_inh", "i_inj")
        return ("i_inj",)


CELL_SPECS = {
    "HH_cond_exp": CellSpec("HH_cond_exp", "conductance", g_leak=0.01, cm=0.2, i_scale=0.3,
                            tau_e=(0.1, 5.0), tau_i=(0.5, 10.0), tau_defaults=(0.2, 2.0)),
    "IF_cond_exp": CellSpec("IF_cond_exp", "conductance", g_leak=0.05, cm=1.0, i_scale=0.75,
                            tau_e=(0.5, 20.0), tau_i=(0.5, 20.0)),
    "IF_curr_exp": CellSpec("IF_curr_exp", "current", g_leak=0.05, cm=1.0, i_scale=0.75,
                            tau_e=(0.5, 20.0), tau_i=(0.5, 20.0)),
}


def get_cell_spec(name):
    """Return the :class:`CellSpec` for a PyNN cell type name.

    Raises
    ------
    KeyError
        If no ground-truth recipe exists for that cell type.
    """
    try:
        return CELL_SPECS[name]
    except KeyError:
        raise KeyError(f"no ground-truth recipe for cell type {name!r}; "
                       f"known: {sorted(CELL_SPECS)}") from None
