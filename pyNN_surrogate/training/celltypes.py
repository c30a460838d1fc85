"""Training-side description of the PyNN standard cell types we can build surrogates for.

Each :class:`CellSpec` says how the ground truth is produced (which pyNN.neuron class, which
drive channels, which scales to draw random inputs from) and which parameters are fixed or
free in the resulting surrogate's domain.
"""

from dataclasses import dataclass, field, replace

import numpy as np


@dataclass(frozen=True)
class ConditionRange:
    """One intrinsic parameter a conditioned surrogate takes as an input.

    Parameters
    ----------
    name : str
        PyNN parameter name.
    units : str
    lo, hi : float
        Trained range (PyNN units).
    transform : {"linear", "log"}
        Ground truth draws the parameter uniformly in this transform of it, and the network
        sees it normalised the same way (see :mod:`pyNN_surrogate.surrogates.conditioning`).
    """

    name: str
    units: str
    lo: float
    hi: float
    transform: str = "linear"

    def card_entry(self):
        """The card's description of this input."""
        return dict(name=self.name, units=self.units, min=self.lo, max=self.hi,
                    transform=self.transform)

    def draw(self, rng):
        if self.transform == "log":
            return float(np.exp(rng.uniform(np.log(self.lo), np.log(self.hi))))
        return float(rng.uniform(self.lo, self.hi))


@dataclass(frozen=True)
class CellSpec:
    """How to make ground truth for, and describe the domain of, one PyNN cell type.

    Parameters
    ----------
    name : str
        PyNN standard cell type name, e.g. ``"HH_cond_exp"``.
    synapse : str
        ``"conductance"``, ``"current"`` or ``"delta"`` (voltage jumps, weights in mV).
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
    conditioned : tuple of ConditionRange
        Intrinsic parameters a conditioned surrogate of this type takes as inputs, with the
        ranges its ground truth draws them from.
    constraints : tuple of (str, str, float)
        ``(lower, upper, min_gap)``: draws keep ``upper - lower >= min_gap``.
    kernel : str
        Post-synaptic kernel of the cell type, ``"exp"`` or ``"alpha"`` (sets how the exact
        drive is read off NEURON's recorded conductances, see ``groundtruth.exact_drive``).
    current_driving_force : tuple of float
        For current-based cells: the ``(excitatory, inhibitory)`` driving forces (mV) that
        turn the drawn mean conductances into mean synaptic currents. Current synapses do
        not shunt, so these are smaller than a conductance cell's driving forces. For delta
        synapses: the mean jump rates (mV/ms) per unit of relative conductance.
    aux_outputs : tuple of (str, str)
        ``(name, units)`` of recordables besides v that the ground truth records and the
        surrogate learns as extra outputs: the slow variable of an adapting cell (``w`` of
        the AdEx cells, ``u`` of Izhikevich). Supervising it helps the network keep the
        adaptation state, and it becomes recordable in the backend.
    frame_drive : dict
        Cell frames of a conditioned surrogate (see
        :mod:`pyNN_surrogate.surrogates.conditioning`): parameter -> exponent of the factor
        that every drive channel is divided by (for IF cells ``cm / tau_m``, the leak
        conductance).
    frame_v : tuple of str
        ``(origin, span_from, span_to)`` of the v frame, e.g. ``("v_rest", "v_rest",
        "v_thresh")``; empty for none.
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
    conditioned: tuple = ()
    constraints: tuple = ()
    extra: dict = field(default_factory=dict)
    kernel: str = "exp"
    current_driving_force: tuple = (65.0, 15.0)
    aux_outputs: tuple = ()
    frame_drive: dict = field(default_factory=dict)
    frame_v: tuple = ()

    def card_frames(self):
        """The card's ``conditioning["frames"]`` entry: the cell frames restricted to the
        conditioned parameters (``None`` if nothing is left)."""
        names = {c.name for c in self.conditioned}
        powers = {k: float(e) for k, e in self.frame_drive.items() if k in names}
        frames = {}
        if powers:
            frames["drive"] = {ch: dict(powers) for ch in self.drive_channels}
        if self.frame_v and set(self.frame_v) <= names:
            origin, lo, hi = self.frame_v
            frames["v"] = dict(origin=origin, span=[lo, hi])
        return frames or None

    def draw_parameters(self, rng, max_tries=1000):
        """One random parameter set from the conditioned ranges, respecting the constraints
        (rejection sampling)."""
        for _ in range(max_tries):
            params = {c.name: c.draw(rng) for c in self.conditioned}
            if all(params[hi] - params[lo] >= gap for lo, hi, gap in self.constraints):
                return params
        raise RuntimeError(f"{self.name}: no parameter set satisfies the constraints "
                           f"{self.constraints} after {max_tries} draws")

    def with_ranges(self, ranges):
        """This spec with narrower (or other) trained ranges for some conditioned parameters.

        Parameters
        ----------
        ranges : sequence of (name, lo, hi)
            New range, in PyNN units, of conditioned parameters by name.

        Raises
        ------
        ValueError
            For a name that is not a conditioned parameter, ``lo >= hi``, a non-positive
            bound of a log-transformed parameter, or ranges no set can satisfy under the
            constraints.
        """
        if not ranges:
            return self
        by_name = {c.name: c for c in self.conditioned}
        new = dict(by_name)
        for name, lo, hi in ranges:
            if name not in by_name:
                raise ValueError(f"{self.name}: {name!r} is not a conditioned parameter "
                                 f"(those are {', '.join(by_name) or 'none'})")
            lo, hi = float(lo), float(hi)
            if not lo < hi:
                raise ValueError(f"{self.name}: range of {name} needs min < max, got "
                                 f"{lo} to {hi}")
            if by_name[name].transform == "log" and lo <= 0:
                raise ValueError(f"{self.name}: {name} is drawn on a log scale; its range "
                                 f"must be positive, got {lo} to {hi}")
            new[name] = replace(by_name[name], lo=lo, hi=hi)
        spec = replace(self, conditioned=tuple(new[c.name] for c in self.conditioned))
        for lo, hi, gap in spec.constraints:
            if new[hi].hi - new[lo].lo < gap:
                raise ValueError(f"{self.name}: no parameter set in these ranges has {hi} "
                                 f"at least {gap} above {lo}")
        return spec

    def scaled(self, params):
        """This spec with ``g_leak``, ``cm`` and ``i_scale`` of the cell with ``params``
        (input weights and currents of a trial are drawn relative to them)."""
        cm = params.get("cm", self.cm)
        if "tau_m" in params:
            g_leak = cm / params["tau_m"]
        else:
            g_leak = params.get("g_leak", self.g_leak * cm / self.cm)
        i_scale = self.i_scale * g_leak / self.g_leak
        if "v_thresh" in params and "v_rest" in params:
            i_scale *= (params["v_thresh"] - params["v_rest"]) / self.extra["threshold_gap"]
        return replace(self, g_leak=g_leak, cm=cm, i_scale=i_scale)

    @property
    def drive_channels(self):
        """Names of the surrogate's input channels, in order."""
        if self.synapse == "conductance":
            return ("g_exc", "g_inh", "i_inj")
        if self.synapse == "delta":
            return ("v_jump", "i_inj")
        return ("i_inj",)


# Intrinsic parameters of the integrate-and-fire cells and their trained ranges: the values
# modellers commonly use (PyNN defaults, Brunel 2000, Vogels & Abbott 2005, ...).
IF_CONDITIONED = (ConditionRange("v_rest", "mV", -75.0, -55.0),
                  ConditionRange("v_thresh", "mV", -60.0, -40.0),
                  ConditionRange("v_reset", "mV", -80.0, -55.0),
                  ConditionRange("tau_m", "ms", 5.0, 40.0, "log"),
                  ConditionRange("cm", "nF", 0.1, 2.0, "log"),
                  ConditionRange("tau_refrac", "ms", 0.1, 10.0, "log"),
                  ConditionRange("e_rev_I", "mV", -90.0, -65.0))
IF_CONSTRAINTS = (("v_rest", "v_thresh", 4.0), ("v_reset", "v_thresh", 4.0))
# Cell frames of the IF cells: drive relative to the leak conductance cm / tau_m, v relative
# to v_rest in units of the rest-to-threshold gap.
IF_FRAMES = dict(frame_drive={"cm": 1.0, "tau_m": -1.0},
                 frame_v=("v_rest", "v_rest", "v_thresh"))
# Adaptation parameters of the AdEx cell: a part of the ranges of Brette & Gerstner (2005) and
# Naud et al. (2008) around PyNN's defaults (a = 4 nS, b = 0.0805 nA, tau_w = 144 ms, delta_T = 2 mV,
# v_spike = -40 mV); the passive membrane stays at PyNN's defaults.
EIF_CONDITIONED = (ConditionRange("a", "nS", 0.0, 8.0),
                   ConditionRange("b", "nA", 0.0, 0.16),
                   ConditionRange("tau_w", "ms", 50.0, 300.0, "log"),
                   ConditionRange("delta_T", "mV", 1.0, 4.0, "log"),
                   ConditionRange("v_spike", "mV", -45.0, -35.0))
# Izhikevich (2003): a, b, c, d spanning his cortical classes (regular spiking, intrinsically
# bursting, chattering, fast spiking, low-threshold spiking) from PyNN's default cell.
IZHIKEVICH_CONDITIONED = (ConditionRange("a", "1/ms", 0.02, 0.1, "log"),
                          ConditionRange("b", "1/ms", 0.2, 0.25),
                          ConditionRange("c", "mV", -65.0, -50.0),
                          ConditionRange("d", "mV/ms", 2.0, 8.0))
# Driving forces (mV) turning drawn mean conductances into mean currents for current-based
# cells: chosen so their ground truth spans the rates of IF_cond_exp's (no shunting).
CURRENT_DRIVING_FORCE = (50.0, 15.0)

CELL_SPECS = {
    "HH_cond_exp": CellSpec(
        "HH_cond_exp", "conductance", g_leak=0.01, cm=0.2, i_scale=0.3,
        tau_e=(0.1, 5.0), tau_i=(0.5, 10.0), tau_defaults=(0.2, 2.0),
        conditioned=(ConditionRange("gbar_Na", "uS", 10.0, 40.0, "log"),
                     ConditionRange("gbar_K", "uS", 3.0, 12.0, "log"),
                     ConditionRange("g_leak", "uS", 0.005, 0.03, "log"),
                     ConditionRange("cm", "nF", 0.1, 0.5, "log"),
                     ConditionRange("e_rev_leak", "mV", -75.0, -55.0),
                     ConditionRange("e_rev_I", "mV", -90.0, -65.0))),
    "IF_cond_exp": CellSpec(
        "IF_cond_exp", "conductance", g_leak=0.05, cm=1.0, i_scale=0.75,
        tau_e=(0.5, 20.0), tau_i=(0.5, 20.0),
        conditioned=IF_CONDITIONED,
        constraints=IF_CONSTRAINTS, extra={"threshold_gap": 15.0}, **IF_FRAMES),
    "IF_cond_alpha": CellSpec(
        "IF_cond_alpha", "conductance", g_leak=0.05, cm=1.0, i_scale=0.75,
        tau_e=(0.2, 10.0), tau_i=(0.2, 10.0), tau_defaults=(0.3, 0.5), kernel="alpha",
        conditioned=IF_CONDITIONED, constraints=IF_CONSTRAINTS,
        extra={"threshold_gap": 15.0}, **IF_FRAMES),
    "EIF_cond_exp_isfa_ista": CellSpec(
        "EIF_cond_exp_isfa_ista", "conductance", g_leak=0.281 / 9.3667, cm=0.281,
        i_scale=0.6, tau_e=(0.5, 20.0), tau_i=(0.5, 20.0), aux_outputs=(("w", "nA"),),
        conditioned=EIF_CONDITIONED),
    "IF_curr_exp": CellSpec(
        "IF_curr_exp", "current", g_leak=0.05, cm=1.0, i_scale=0.75,
        tau_e=(0.5, 20.0), tau_i=(0.5, 20.0),
        conditioned=IF_CONDITIONED[:6],
        constraints=IF_CONSTRAINTS, extra={"threshold_gap": 15.0},
        current_driving_force=CURRENT_DRIVING_FORCE, **IF_FRAMES),
    "IF_curr_alpha": CellSpec(
        "IF_curr_alpha", "current", g_leak=0.05, cm=1.0, i_scale=0.75,
        tau_e=(0.2, 10.0), tau_i=(0.2, 10.0), tau_defaults=(0.5, 0.5), kernel="alpha",
        conditioned=IF_CONDITIONED[:6],
        constraints=IF_CONSTRAINTS, extra={"threshold_gap": 15.0},
        current_driving_force=CURRENT_DRIVING_FORCE, **IF_FRAMES),
    # Izhikevich (2003) with pyNN.neuron's 1 pF membrane: 1 nA moves v by 1000 mV/ms, so the
    # rheobase of the default (regular spiking) cell is about 0.004 nA; synapses are voltage
    # jumps (mV) and "g_leak" is a dimensionless unit of mean drive.
    "Izhikevich": CellSpec(
        "Izhikevich", "delta", g_leak=1.0, cm=1.0, i_scale=0.004, free=(),
        tau_defaults=(1.0, 1.0), current_driving_force=(8.0, 3.0),
        aux_outputs=(("u", "mV/ms"),), conditioned=IZHIKEVICH_CONDITIONED),
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
