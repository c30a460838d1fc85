"""
Connectors for pyNN_surrogate.

Every connector of ``pyNN.connectors`` works unchanged, because they all build connections
through ``Projection._convergent_connect``. The one exception is ``SmallWorldConnector``, whose
``connect`` PyNN leaves unimplemented; it is implemented here.
"""

import numpy as np

from pyNN import connectors as base_connectors
from pyNN.connectors import MapConnector
from pyNN.parameters import LazyArray


class SmallWorldConnector(MapConnector, base_connectors.SmallWorldConnector):
    """
    Connect cells so as to create a small-world network (Watts & Strogatz, 1998).

    Each post-synaptic cell first receives connections from every pre-synaptic cell closer than
    `degree` (a ring lattice in space); each of these connections is then rewired, with
    probability `rewiring`, to a pre-synaptic cell drawn uniformly at random. If
    `n_connections` is given, each post-synaptic cell keeps that many of its connections,
    chosen at random.
    """

    __init__ = base_connectors.SmallWorldConnector.__init__

    def connect(self, projection):
        distances = self._generate_distance_map(projection).evaluate(simplify=False)
        distances = np.broadcast_to(distances, projection.shape)
        lattice = distances < float(self.d_expression.split("<")[1])
        n_pre, n_post = projection.shape
        allowed = np.ones(projection.shape, dtype=bool)
        if not self.allow_self_connections and projection.pre == projection.post:
            np.fill_diagonal(allowed, False)
        lattice &= allowed
        connection_map = np.zeros(projection.shape, dtype=bool)
        for post in range(n_post):
            pre = np.flatnonzero(lattice[:, post])
            rewire = self.rng.next(pre.size, "uniform", {"low": 0, "high": 1}, mask=None) \
                < self.rewiring if pre.size else np.zeros(0, dtype=bool)
            rewire = np.atleast_1d(rewire)
            candidates = np.flatnonzero(allowed[:, post])
            targets = pre.copy()
            if rewire.any() and candidates.size:
                draws = self.rng.next(int(rewire.sum()), "uniform_int",
                                      {"low": 0, "high": candidates.size}, mask=None)
                targets[rewire] = candidates[np.atleast_1d(draws).astype(int)]
            targets = np.unique(targets)
            if self.n_connections is not None and targets.size > self.n_connections:
                order = np.argsort(np.atleast_1d(
                    self.rng.next(targets.size, "uniform", {"low": 0, "high": 1}, mask=None)))
                targets = np.sort(targets[order[:self.n_connections]])
            connection_map[targets, post] = True
        self._connect_with_map(projection, LazyArray(connection_map))
