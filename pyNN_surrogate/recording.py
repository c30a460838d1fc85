"""
Recording for pyNN_surrogate: PyNN's Recorder on top of the engine's device-side buffers.

The engine records into preallocated buffers on the simulation device; data come back to the
host only here, when PyNN asks for them (``get_data``, ``write_data``), and are turned into Neo
objects by PyNN's own recording machinery.
"""

import warnings

import neo
import numpy as np
import quantities as pq
from pyNN import errors, recording

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
        from .engine import UnknownVariableError
        try:
            self._engine().record(self._group(), variable.name, index,
                                  sampling_interval=self.sampling_interval)
        except UnknownVariableError as error:    # e.g. a surrogate without that output
            # PyNN added the cells to `recorded` before asking us: undo that
            self.recorded[variable] = self.recorded[variable].difference(new_ids)
            if not self.recorded[variable]:
                del self.recorded[variable]
            raise errors.RecordingError(variable.name, self.population.celltype) from error

    def _get_spiketimes(self, ids, clear=False):
        by_index = self._engine().get_spikes(self._group(), clear=clear)
        first_id = int(self.population.first_id)
        empty = np.array([], dtype=float)
        if hasattr(ids, "__len__"):
            return {int(i): by_index.get(int(i) - first_id, empty) for i in ids}
        return by_index.get(int(ids) - first_id, empty)

    def _get_current_segment(self, filter_ids=None, variables="all", clear=False):
        """PyNN's segment, with the spike trains built in linear time.

        PyNN's generic code appends spike trains one by one to the segment (quadratic in
        the number of cells: hours for 10^5 cells); here they are built as one list. The
        trains and their annotations are the ones PyNN builds.
        """
        spikes = recording.Variable(name="spikes", location=None, label=None)
        wanted = set(self.recorded) if variables == "all" else \
            set(self.recorded).intersection(variables)
        if spikes not in wanted:
            return super()._get_current_segment(filter_ids, variables, clear)
        segment = super()._get_current_segment(filter_ids, sorted(wanted - {spikes}), clear)
        trains = self._spike_trains(sorted(self.filter_recorded(spikes, filter_ids)), clear)
        segment.spiketrains = neo.spiketrainlist.SpikeTrainList(items=trains, parent=segment)
        for train in trains:
            train.segment = segment
        return segment

    def _spike_trains(self, ids, clear):
        """One neo.SpikeTrain per id (sorted), annotated as PyNN does."""
        t_stop = self._simulator.state.t * pq.ms
        data = self._get_spiketimes(ids, clear=clear)
        trains = []
        for id in ids:
            times = np.asarray(data.get(int(id), ()), dtype=float)
            if times.size and times.max() > float(t_stop):
                warnings.warn("Recorded at least one spike after t_stop")
                times = times[times <= float(t_stop)]
            trains.append(neo.SpikeTrain(
                times, t_start=self._recording_start_time, t_stop=t_stop, units="ms",
                source_population=self.population.label, channel_id=int(id),
                source_index=self.population.id_to_index(int(id))))
        return trains

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
