"""
Population, PopulationView and Assembly for pyNN_surrogate.

A Population is one group of rows in the engine: a batch of surrogate cells of one cell type, or
a batch of spike sources. Parameters are kept here as native (= PyNN) numpy arrays, validated
against the cell type's card before anything changes, and pushed to the engine.
"""

import logging
import warnings

import numpy as np

from pyNN import common, errors
from pyNN.parameters import ParameterSpace, Sequence, simplify
from pyNN.standardmodels import StandardCellType

from . import simulator
from .recording import Recorder
from .standardmodels.cells import SPIKE_SOURCE_TYPES

logger = logging.getLogger("PyNN")

V_INIT_TOLERANCE = 1.0  # mV


def _as_float_array(value, size):
    array = np.asarray(value, dtype=float)
    return np.broadcast_to(array, (size,)).copy() if array.ndim == 0 else array.copy()


def _spike_time_arrays(values):
    """Turn a SpikeSourceArray's ``spike_times`` (Sequences) into checked float arrays."""
    arrays = []
    for value in values:
        times = np.asarray(value.value if isinstance(value, Sequence) else value, dtype=float)
        times = times.ravel()
        if np.any(np.isnan(times)):
            raise errors.InvalidParameterValueError("spike_times contain NaN")
        if np.any(times < 0):
            raise errors.InvalidParameterValueError(
                f"spike_times must be non-negative, got {times[times < 0][:5]}")
        if np.any(np.diff(times) < 0):
            raise errors.InvalidParameterValueError(
                "spike_times must be sorted in increasing order, got "
                f"{np.array2string(times[:10], precision=3)}")
        arrays.append(times)
    return arrays


class CellGroupMixin:
    """Parameter access shared by Population and PopulationView.

    ``self._group_population`` is the Population that owns the engine group, and
    ``self._group_index`` the indices, in that Population, of the cells addressed.
    """

    def _get_parameters(self, *names):
        if any(name in self.celltype.computed_parameters() for name in names):
            native_names = self.celltype.get_native_names()
        else:
            native_names = self.celltype.get_native_names(*names)
        parameter_dict = {}
        owner = self._group_population
        for name in native_names:
            value = owner._parameters[name]
            if isinstance(value, np.ndarray):
                value = value[self._group_index]
            parameter_dict[name] = simplify(value)
        native_space = ParameterSpace(parameter_dict, shape=(self.size,))
        return self.celltype.reverse_translate(native_space)

    def _set_parameters(self, parameter_space):
        """`parameter_space` holds native parameters for the cells of this population/view."""
        owner = self._group_population
        index = self._group_index
        parameter_space.evaluate(simplify=False)
        new_values = {}
        for name, value in parameter_space.items():
            if name == "spike_times":
                new_values[name] = np.asarray(value, dtype=object)
            else:
                new_values[name] = np.asarray(value, dtype=float)
        # validate the complete post-change parameter set before touching anything
        candidate = {name: array.copy() for name, array in owner._parameters.items()}
        for name, value in new_values.items():
            candidate[name][index] = value
        owner._validate_parameters(candidate)
        for name in new_values:
            owner._parameters[name] = candidate[name]
        owner._push_parameters(list(new_values))

    def _set_initial_value_array(self, variable, initial_values):
        self._group_population._store_initial_values(variable, initial_values, self._group_index)


class Assembly(common.Assembly):
    __doc__ = common.Assembly.__doc__
    _simulator = simulator


class PopulationView(CellGroupMixin, common.PopulationView):
    __doc__ = common.PopulationView.__doc__
    _simulator = simulator
    _assembly_class = Assembly

    @property
    def _group_population(self):
        return self.grandparent

    @property
    def _group_index(self):
        return self.index_in_grandparent(np.arange(self.size))

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)


class Population(CellGroupMixin, common.Population):
    __doc__ = common.Population.__doc__
    _simulator = simulator
    _recorder_class = Recorder
    _assembly_class = Assembly

    def __init__(self, size, cellclass, cellparams=None, structure=None, initial_values={},
                 label=None):
        simulator.state.require_setup("creating a Population")
        super().__init__(size, cellclass, cellparams, structure, initial_values, label)

    @property
    def _group_population(self):
        return self

    @property
    def _group_index(self):
        return np.arange(self.size)

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)

    # --- building -----------------------------------------------------------------------------
    def _create_cells(self):
        state = simulator.state
        if not isinstance(self.celltype, StandardCellType):
            raise errors.InvalidModelError(
                f"pyNN_surrogate runs PyNN standard cell types only, not {type(self.celltype)}")
        parameter_space = self.celltype.native_parameters
        parameter_space.shape = (self.size,)
        parameter_space.evaluate(simplify=False)
        parameters = {}
        for name, value in parameter_space.items():
            if name == "spike_times":
                parameters[name] = np.asarray(value, dtype=object)
            else:
                parameters[name] = _as_float_array(value, self.size)
        self._package = None
        self._parameters = parameters
        self._validate_parameters(parameters)
        if not isinstance(self.celltype, SPIKE_SOURCE_TYPES):
            self._package = simulator.state.package_for(
                type(self.celltype).__name__,
                {name: value for name, value in parameters.items() if name != "spike_times"})
        self._engine_group = self._add_to_engine()

        first = state.id_counter
        self.all_cells = np.array([simulator.ID(i) for i in range(first, first + self.size)],
                                  dtype=simulator.ID)
        self._mask_local = np.ones((self.size,), dtype=bool)
        for cell in self.all_cells:
            cell.parent = self
        state.id_counter += self.size
        self._initial_v = None

    def _validate_parameters(self, parameters):
        """Refuse NaN values and, for surrogate cells, values outside the card's domain."""
        for name, value in parameters.items():
            if name != "spike_times" and np.any(np.isnan(value)):
                raise errors.InvalidParameterValueError(
                    f"{type(self.celltype).__name__}: parameter '{name}' is NaN")
        if self._package is not None:
            self._package.check_parameters(
                {name: value for name, value in parameters.items() if name != "spike_times"})
        elif "spike_times" in parameters:
            _spike_time_arrays(parameters["spike_times"])

    def _add_to_engine(self):
        engine = simulator.state.engine
        celltype = self.celltype
        if self._package is None:
            return engine.add_spike_source_group(celltype.engine_kind, self.size,
                                                 self._spike_source_parameters())
        runtime = self._runtime = simulator.state.runtime_for(self._package)
        receptors = celltype.engine_receptors(self._parameters, self._package.card)
        if getattr(celltype, "detailed", False):
            missing = set(celltype.recordable) - {"spikes"} - set(runtime.recordables)
            if missing:
                raise errors.InvalidModelError(
                    f"the {self._package.name} surrogate does not output {sorted(missing)}; "
                    f"its card lists {list(runtime.recordables)}")
        from .engine import TimeStepError

        try:
            return engine.add_cell_group(runtime, self.size, receptors,
                                         self._parameters["i_offset"].copy(),
                                         conditions=self._conditions())
        except TimeStepError as error:
            raise errors.InvalidParameterValueError(
                f"the {self._package.name} surrogate has a native step of "
                f"{runtime.native_dt:g} ms, which must be a whole multiple of the timestep "
                f"({simulator.state.dt:g} ms); use e.g. setup(timestep=0.1) or 0.025") from error

    def _conditions(self):
        """Per-cell values of the surrogate's conditioned parameters (None if it has none)."""
        names = self._runtime.condition_names
        return {name: self._parameters[name].copy() for name in names} or None

    def _spike_source_parameters(self):
        if self.celltype.engine_kind == "array":
            return {"spike_times": _spike_time_arrays(self._parameters["spike_times"])}
        return {name: value.copy() for name, value in self._parameters.items()}

    def _push_parameters(self, names):
        engine = simulator.state.engine
        if self._package is None:
            for name, value in self._spike_source_parameters().items():
                if name in names:
                    engine.set_group_param(self._engine_group, name, value)
        else:
            engine_names = {tau_name: f"tau_{receptor}" for receptor, tau_name
                            in self.celltype.receptor_tau_parameters.items()
                            if tau_name is not None}
            engine_names["i_offset"] = "i_offset"
            engine_names.update({name: name for name in self._runtime.condition_names})
            for name in names:
                if name in engine_names:
                    engine.set_group_param(self._engine_group, engine_names[name],
                                           self._parameters[name].copy())

    # --- initial values -----------------------------------------------------------------------
    def _store_initial_values(self, variable, initial_values, index):
        """Surrogates start from their resting state; warn if asked for something else."""
        if self._package is None or variable != "v":
            return
        values = np.asarray(initial_values.evaluate(simplify=False), dtype=float)
        default = self.celltype.default_initial_values.get("v")
        if np.all(values == default):
            return  # PyNN's own default, not a request from the user
        v_rest = self._runtime.resting_v(self.size, self._conditions())
        if np.any(np.abs(values - v_rest) > V_INIT_TOLERANCE):
            warnings.warn(
                f"{self.label}: pyNN_surrogate starts every {type(self.celltype).__name__} cell "
                f"from its surrogate's resting state (v = {np.mean(v_rest):.2f} mV on "
                "average); the requested initial v is ignored (see the README's known "
                "differences).")

    def _set_initial_value_array(self, variable, initial_values):
        self._store_initial_values(variable, initial_values, np.arange(self.size))
