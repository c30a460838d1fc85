"""
Current sources for pyNN_surrogate: DC, step, sinusoidal and noisy current injection.

A source keeps its parameters here and hands them to the engine, which evaluates the current
exactly at every time step (with pyNN.neuron's timing conventions). Parameters may be changed
between runs; the engine picks up the change at the next run.
"""

import numpy as np
import quantities as pq
import neo

from pyNN.parameters import ParameterSpace, Sequence
from pyNN.standardmodels import StandardCurrentSource, build_translations
from pyNN.standardmodels import electrodes as base_electrodes

from ..simulator import state


class SurrogateCurrentSource(StandardCurrentSource):
    """Base class: parameter handling, injection and recording through the engine."""

    engine_kind = None

    def __init__(self, **parameters):
        state.require_setup(f"creating a {type(self).__name__}")
        self._engine_ids = []
        parameter_space = ParameterSpace(self.default_parameters, self.get_schema(), shape=(1,))
        parameter_space.update(**parameters)
        parameter_space = self.translate(parameter_space)
        self.set_native_parameters(parameter_space)
        state.current_sources.append(self)

    # --- parameters ---------------------------------------------------------------------------
    def set_native_parameters(self, parameters):
        parameters.evaluate(simplify=True)
        values = {}
        for name, value in parameters.items():
            if isinstance(value, Sequence):
                value = value.value
            values[name] = value
        self._validate(values)
        for name, value in values.items():
            object.__setattr__(self, name, value)
        for engine_id in getattr(self, "_engine_ids", []):
            state.engine.set_current_source_params(engine_id, self._engine_parameters())

    def get_native_parameters(self):
        return ParameterSpace({name: getattr(self, name) for name in self.get_native_names()})

    def _validate(self, values):
        """Check parameter values; subclasses add their own rules."""

    def _engine_parameters(self):
        params = {}
        for name in self.get_native_names():
            value = getattr(self, name)
            params[name] = np.asarray(value, dtype=float) if np.ndim(value) else float(value)
        return params

    # --- injection ----------------------------------------------------------------------------
    def inject_into(self, cells, location=None):
        """Inject this current into `cells` (a Population, PopulationView, Assembly or IDs)."""
        if location is not None:
            raise NotImplementedError("pyNN_surrogate point cells have no locations")
        by_population = {}
        for cell in cells:
            if not cell.celltype.injectable:
                raise TypeError("Can't inject current into a spike source.")
            by_population.setdefault(cell.parent, []).append(cell.parent.id_to_index(cell))
        targets = [(population._engine_group, np.array(sorted(set(index)), dtype=np.int64))
                   for population, index in by_population.items()]
        self._engine_ids.append(state.engine.add_current_source(
            self.engine_kind, self._engine_parameters(), targets))

    # --- recording ----------------------------------------------------------------------------
    def record(self):
        """Record the injected current (available through :meth:`get_data`).

        The engine keeps the trace of every current source, so this only checks that the
        source has been injected somewhere.
        """
        if not self._engine_ids:
            raise RuntimeError("inject the current source into cells before recording it")

    def _get_data(self):
        current = state.engine.get_current_trace(self._engine_ids[0])
        times = np.arange(current.size) * state.dt
        return times, current

    def get_data(self):
        """Return the recorded current as a neo AnalogSignal (nA), as pyNN.neuron does."""
        times, current = self._get_data()
        return neo.AnalogSignal(current, units="nA", t_start=0.0 * pq.ms,
                                sampling_period=state.dt * pq.ms, name="i")


class DCSource(SurrogateCurrentSource, base_electrodes.DCSource):
    __doc__ = base_electrodes.DCSource.__doc__
    translations = build_translations(("amplitude", "amplitude"), ("start", "start"),
                                      ("stop", "stop"))
    engine_kind = "dc"


class ACSource(SurrogateCurrentSource, base_electrodes.ACSource):
    __doc__ = base_electrodes.ACSource.__doc__
    translations = build_translations(("amplitude", "amplitude"), ("start", "start"),
                                      ("stop", "stop"), ("frequency", "frequency"),
                                      ("offset", "offset"), ("phase", "phase"))
    engine_kind = "ac"


class StepCurrentSource(SurrogateCurrentSource, base_electrodes.StepCurrentSource):
    __doc__ = base_electrodes.StepCurrentSource.__doc__
    translations = build_translations(("amplitudes", "amplitudes"), ("times", "times"))
    engine_kind = "step"

    def _validate(self, values):
        times = np.asarray(values.get("times", []), dtype=float)
        amplitudes = np.asarray(values.get("amplitudes", []), dtype=float)
        if times.shape != amplitudes.shape:
            raise ValueError("StepCurrentSource: 'times' and 'amplitudes' must have equal length")
        if np.any(times < 0):
            raise ValueError("Step current cannot accept negative timestamps.")
        if np.any(np.diff(times) <= 0):
            raise ValueError("Step current timestamps should be monotonically increasing.")


class NoisyCurrentSource(SurrogateCurrentSource, base_electrodes.NoisyCurrentSource):
    __doc__ = base_electrodes.NoisyCurrentSource.__doc__
    translations = build_translations(("mean", "mean"), ("start", "start"), ("stop", "stop"),
                                      ("stdev", "stdev"), ("dt", "dt"))
    engine_kind = "noisy"
