"""
Projection for pyNN_surrogate.

Connections are stored column-wise (numpy arrays of pre index, post index, weight, delay and
synapse parameters), never as one Python object per synapse and never as a dense
n_pre x n_post matrix. Every PyNN connector fills them through ``_convergent_connect``; the
arrays are then handed to the engine, split by the engine groups (populations) that the
projection's pre- and post-synaptic sides span.
"""

import logging

import numpy as np

from pyNN import common, errors
from pyNN.common.populations import Assembly
from pyNN.core import IndexBasedExpression
from pyNN.random import RandomDistribution
from pyNN.space import Space

from . import simulator
from .standardmodels.synapses import StaticSynapse, TsodyksMarkramSynapse

logger = logging.getLogger("PyNN")
DELAY_TOLERANCE = 1e-9  # ms


def engine_addresses(cells, index):
    """
    Map indices into a Population, PopulationView or Assembly to engine addresses.

    Returns
    -------
    groups, local_index : np.ndarray
        The engine group of each cell and its row within that group.
    """
    index = np.asarray(index, dtype=np.int64)
    if isinstance(cells, Assembly):
        groups = np.empty_like(index)
        local = np.empty_like(index)
        boundaries = np.cumsum([0] + [p.size for p in cells.populations])
        for k, part in enumerate(cells.populations):
            mask = (index >= boundaries[k]) & (index < boundaries[k + 1])
            g, i = engine_addresses(part, index[mask] - boundaries[k])
            groups[mask], local[mask] = g, i
        return groups, local
    if isinstance(cells, common.PopulationView):
        owner = cells.grandparent
        local = np.asarray(cells.index_in_grandparent(index), dtype=np.int64)
    else:
        owner, local = cells, index
    return np.full(index.shape, owner._engine_group, dtype=np.int64), local


class Connection(common.Connection):
    """One connection of a Projection, as a light view on the projection's arrays."""

    def __init__(self, projection, position):
        self._projection = projection
        self._position = position

    @property
    def presynaptic_index(self):
        return int(self._projection._pre_index[self._position])

    @property
    def postsynaptic_index(self):
        return int(self._projection._post_index[self._position])

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        attributes = self._projection._attributes
        if name not in attributes:
            raise AttributeError(f"connection has no attribute '{name}'")
        return float(attributes[name][self._position])

    def as_tuple(self, *attribute_names):
        return tuple(getattr(self, name) for name in attribute_names)


class Projection(common.Projection):
    __doc__ = common.Projection.__doc__
    _simulator = simulator
    _static_synapse_class = StaticSynapse

    def __init__(self, presynaptic_population, postsynaptic_population, connector,
                 synapse_type=None, source=None, receptor_type=None, space=Space(), label=None):
        simulator.state.require_setup("creating a Projection")
        common.Projection.__init__(self, presynaptic_population, postsynaptic_population,
                                   connector, synapse_type, source, receptor_type, space, label)
        if not isinstance(self.synapse_type, (StaticSynapse, TsodyksMarkramSynapse)):
            raise errors.NoModelAvailableError(
                f"pyNN_surrogate supports StaticSynapse and TsodyksMarkramSynapse, "
                f"not {type(self.synapse_type).__name__}")
        self._chunks = []
        self._location_selectors = set()
        connector.connect(self)
        self._finish_connecting()

    # --- building -----------------------------------------------------------------------------
    def _convergent_connect(self, presynaptic_indices, postsynaptic_index,
                            location_selector=None, **connection_parameters):
        self._location_selectors.add(location_selector)
        pre = np.atleast_1d(np.asarray(presynaptic_indices, dtype=np.int64))
        if pre.size == 0:
            return
        chunk = {"pre": pre, "post": np.full(pre.shape, int(postsynaptic_index), np.int64)}
        for name, value in connection_parameters.items():
            chunk[name] = np.broadcast_to(np.asarray(value, dtype=float), pre.shape).copy()
        self._chunks.append(chunk)

    def _finish_connecting(self):
        names = self.synapse_type.get_native_names()
        if self._chunks:
            self._pre_index = np.concatenate([c["pre"] for c in self._chunks])
            self._post_index = np.concatenate([c["post"] for c in self._chunks])
            self._attributes = {name: np.concatenate([c[name] for c in self._chunks])
                                for name in names}
        else:
            self._pre_index = np.zeros(0, np.int64)
            self._post_index = np.zeros(0, np.int64)
            self._attributes = {name: np.zeros(0) for name in names}
        self._chunks = None
        self._engine_receptor = self._resolve_receptor()
        self._check_attributes(self._attributes)
        self._engine_parts = self._add_to_engine()

    def _check_attributes(self, attributes):
        delays = attributes["delay"]
        if np.any(np.isnan(delays)) or np.any(np.isnan(attributes["weight"])):
            raise errors.ConnectionError("weights and delays must not be NaN")
        if np.any(delays < 0):
            raise errors.ConnectionError(f"Delays must not be negative, got {delays.min()} ms")
        min_delay = simulator.state.min_delay
        min_delay = simulator.state.dt if min_delay == "auto" else min_delay
        if np.any(delays < min_delay - DELAY_TOLERANCE):
            raise errors.ConnectionError(
                f"Delay ({delays.min()} ms) is below the minimum delay ({min_delay} ms)")
        max_delay = simulator.state.max_delay
        if max_delay != "auto" and np.any(delays > max_delay + DELAY_TOLERANCE):
            raise errors.ConnectionError(
                f"Delay ({delays.max()} ms) is above the maximum delay ({max_delay} ms)")

    def _resolve_receptor(self):
        """The engine receptor the connections feed (see the cell type's
        ``resolve_receptor``: a detailed cell's site group may come from the connector's
        ``location_selector``)."""
        populations = getattr(self.post, "populations", None) or [self.post]
        resolved = {p.celltype.resolve_receptor(self.receptor_type, self._location_selectors)
                    for p in populations}
        if len(resolved) > 1:
            raise errors.ConnectionError(
                f"receptor_type {self.receptor_type!r} means different receptors in the "
                f"populations of this Assembly: {sorted(resolved)}")
        return resolved.pop()

    def _tm_spec(self, mask):
        if not isinstance(self.synapse_type, TsodyksMarkramSynapse):
            return None
        from .engine import TsodyksMarkramSpec
        a = self._attributes
        return TsodyksMarkramSpec(U=a["U"][mask], tau_rec=a["tau_rec"][mask],
                                  tau_facil=a["tau_facil"][mask])

    def _add_to_engine(self):
        """Register one engine projection per (pre group, post group) pair."""
        engine = simulator.state.engine
        pre_groups, pre_local = engine_addresses(self.pre, self._pre_index)
        post_groups, post_local = engine_addresses(self.post, self._post_index)
        parts = []
        pairs = sorted(set(zip(pre_groups.tolist(), post_groups.tolist())))
        for pre_group, post_group in pairs:
            mask = np.flatnonzero((pre_groups == pre_group) & (post_groups == post_group))
            engine_id = engine.add_projection(
                pre_group, pre_local[mask], post_group, post_local[mask], self._engine_receptor,
                self._attributes["weight"][mask], self._attributes["delay"][mask],
                synapse=self._tm_spec(mask))
            parts.append((engine_id, mask))
        return parts

    # --- access -------------------------------------------------------------------------------
    def __len__(self):
        return int(self._pre_index.size)

    @property
    def connections(self):
        return [Connection(self, k) for k in range(len(self))]

    def __getitem__(self, i):
        if isinstance(i, (int, np.integer)):
            if not -len(self) <= i < len(self):
                raise IndexError(f"{i} is out of range for a projection of {len(self)}")
            return Connection(self, int(i) % len(self))
        return [Connection(self, k) for k in range(len(self))[i]]

    def _get_attributes_as_list(self, names):
        columns = []
        for name in names:
            if name == "presynaptic_index":
                columns.append(self._pre_index)
            elif name == "postsynaptic_index":
                columns.append(self._post_index)
            else:
                columns.append(self._attributes[name])
        return list(zip(*[column.tolist() for column in columns])) if columns else []

    def _get_attributes_as_arrays(self, names, multiple_synapses="sum"):
        result = []
        for name in names:
            if name.endswith("s") and name[:-1] in self._attributes:
                name = name[:-1]
            values = np.full((self.pre.size, self.post.size), np.nan)
            address = (self._pre_index, self._post_index)
            if multiple_synapses == "sum":
                values[address] = 0.0
                np.add.at(values, address, self._attributes[name])
            elif multiple_synapses in ("min", "max"):
                values[address] = (np.inf if multiple_synapses == "min" else -np.inf)
                ufunc = np.minimum if multiple_synapses == "min" else np.maximum
                ufunc.at(values, address, self._attributes[name])
            else:  # first / last
                order = slice(None, None, -1) if multiple_synapses == "first" else slice(None)
                values[self._pre_index[order], self._post_index[order]] = \
                    self._attributes[name][order]
            result.append(values)
        return result

    # --- changing attributes ------------------------------------------------------------------
    def _evaluate_per_connection(self, lazy_value):
        """Evaluate a (n_pre, n_post) lazy array at this projection's connections only."""
        base = lazy_value.base_value
        n = len(self)
        if lazy_value.is_homogeneous and not isinstance(base, RandomDistribution):
            return np.full(n, float(lazy_value.evaluate(simplify=True)))
        if isinstance(base, RandomDistribution) and not lazy_value.operations:
            return np.asarray(base.next(n), dtype=float).reshape(n)
        if callable(base) or isinstance(base, IndexBasedExpression):
            # column by column: memory O(n_pre), never a dense n_pre x n_post matrix
            values = np.empty(n)
            for post in np.unique(self._post_index):
                at = np.flatnonzero(self._post_index == post)
                column = np.asarray(lazy_value[:, int(post)], dtype=float).reshape(-1)
                values[at] = column[self._pre_index[at]]
            return values
        return np.asarray(lazy_value.evaluate(simplify=False), dtype=float)[
            self._pre_index, self._post_index]

    def _set_attributes(self, parameter_space):
        new = {name: self._evaluate_per_connection(value)
               for name, value in parameter_space.items()}
        unknown = set(new) - set(self._attributes)
        if unknown:
            raise errors.NonExistentParameterError(sorted(unknown)[0], self.synapse_type,
                                                   sorted(self._attributes))
        candidate = dict(self._attributes)
        for name, values in new.items():
            keep = np.isnan(values)  # NaN in an array means "no connection here": unchanged
            candidate[name] = np.where(keep, self._attributes[name], values)
        self._check_attributes(candidate)
        self._attributes = candidate
        engine = simulator.state.engine
        for engine_id, mask in self._engine_parts:
            for name in new:
                engine.set_projection_attribute(engine_id, name, candidate[name][mask])

    def _set_initial_value_array(self, variable, value):
        raise NotImplementedError("pyNN_surrogate synapse models have no settable initial state")
