"""
Recording for pyNN_surrogate: PyNN's Recorder on top of the engine's device-side buffers.

The engine records into preallocated buffers on the simulation device; data come back to the
host only here, when PyNN asks for them (``get_data``, ``write_data``), and are turned into Neo
objects by PyNN's own recording machinery.
"""

import numpy as np

from pyNN import recording

from . import simulator


class Recorder(recording.Recorder):
    """Encapsulates data and functions related to recording model variables."""

    _simulator = simulator

    def _engine(self):
        return self._simulator.state.engine

    def _group(self):
        return self.population._engine_group

    def _record(self, variable, new_ids, sampling_interval=None):
        if variable.name != "spikes":
            self.sampling_interval = sampling_interval or self._simulator.state.dt
        ids = self.recorded[variable]
        index = np.array(sorted(self.population.id_to_index(int(i)) for i in ids),
                         dtype=np.int64)
        self._engine().record(self._group(), variable.name, index,
                              sampling_interval=self.sampling_interval)

    def _get_spiketimes(self, ids, clear=False):
        by_index = self._engine().get_spikes(self._group(), clear=clear)
        first_id = int(self.population.first_id)
        empty = np.array([], dtype=float)
        if hasattr(ids, "__len__"):
            return {int(i): by_index.get(int(i) - first_id, empty) for i in ids}
        return by_index.get(int(ids) - first_id, empty)

    def _get_all_signals(self, variable, ids, clear=False):
        if len(ids) == 0:
            return np.array([]), None
        signals, recorded_index = self._engine().get_signal(self._group(), variable.name,
                                                            clear=clear)
        column_of = {int(index): column for column, index in enumerate(recorded_index)}
        first_id = int(self.population.first_id)
        columns = [column_of[int(i) - first_id] for i in ids]
        return np.asarray(signals)[:, columns], None

    def _local_count(self, variable, filter_ids=None):
        spikes = self._get_spiketimes(sorted(self.filter_recorded(variable, filter_ids)))
        return {int(i): len(times) for i, times in spikes.items()}

    def _clear_simulator(self):
        engine, group = self._engine(), self._group()
        for variable in self.recorded:
            if variable.name == "spikes":
                engine.get_spikes(group, clear=True)
            else:
                engine.get_signal(group, variable.name, clear=True)

    def _reset(self):
        """Forget recorded data; the engine keeps recording what it recorded before."""
        self._clear_simulator()
