"""Projections: every PyNN connector, attribute access, weights, delays and receptor checks."""

import numpy as np
import pytest

from pyNN.core import IndexBasedExpression
from pyNN.space import Line


class EvenIndexSum(IndexBasedExpression):
    """Connection probability 1 where i + j is even, else 0."""

    def __call__(self, i, j):
        return ((i + j) % 2 == 0).astype(float)


@pytest.fixture
def pops(sim):
    pre = sim.Population(8, sim.HH_cond_exp(), structure=Line(dx=10.0), label="pre")
    post = sim.Population(6, sim.HH_cond_exp(), structure=Line(dx=10.0),
                          label="post")
    return pre, post


def connector_cases(sim, pre, post, tmp_path):
    rng = sim.NumpyRNG(seed=11)
    listed = [(0, 1, 0.01, 1.0), (3, 2, 0.02, 2.0), (7, 5, 0.03, 3.0)]
    path = tmp_path / "conn.txt"
    np.savetxt(path, np.array(listed), header="columns = ['i', 'j', 'weight', 'delay']")
    reference = sim.Projection(pre, post, sim.FixedProbabilityConnector(0.5, rng=rng))
    return {
        "AllToAll": (sim.AllToAllConnector(), 48),
        "OneToOne": (sim.OneToOneConnector(), None),  # sizes differ: PyNN decides
        "FixedProbability": (sim.FixedProbabilityConnector(0.5, rng=rng), None),
        "FixedNumberPre": (sim.FixedNumberPreConnector(3, rng=rng), 18),
        "FixedNumberPost": (sim.FixedNumberPostConnector(2, rng=rng), 16),
        "FixedTotalNumber": (sim.FixedTotalNumberConnector(20, rng=rng), 20),
        "DistanceDependent": (sim.DistanceDependentProbabilityConnector("d < 15", rng=rng),
                              None),
        "DisplacementDependent": (sim.DisplacementDependentProbabilityConnector(
            lambda d: (d[0] > 0).astype(float), rng=rng), None),
        "IndexBased": (sim.IndexBasedProbabilityConnector(EvenIndexSum(), rng=rng), 24),
        "FromList": (sim.FromListConnector(listed, column_names=["weight", "delay"]), 3),
        "FromFile": (sim.FromFileConnector(str(path)), 3),
        "Array": (sim.ArrayConnector(np.eye(8, 6, dtype=bool)), 6),
        "SmallWorld": (sim.SmallWorldConnector(degree=12.0, rewiring=0.2, rng=rng), None),
        "Clone": (sim.CloneConnector(reference), len(reference)),
    }


CONNECTORS = ["AllToAll", "OneToOne", "FixedProbability", "FixedNumberPre", "FixedNumberPost",
              "FixedTotalNumber", "DistanceDependent", "DisplacementDependent", "IndexBased",
              "FromList", "FromFile", "Array", "SmallWorld", "Clone"]


@pytest.mark.parametrize("name", CONNECTORS)
def test_every_connector_builds_the_connections_it_describes(sim, pops, tmp_path, name):
    pre, post = pops
    if name == "OneToOne":
        post = sim.Population(8, sim.HH_cond_exp())
    connector, expected = connector_cases(sim, pre, post, tmp_path)[name]
    projection = sim.Projection(pre, post, connector, sim.StaticSynapse(weight=0.01, delay=1.0))
    pairs = np.array(projection.get(["weight"], format="list"))[:, :2].astype(int)
    if expected is not None:
        assert len(projection) == expected
    assert len(projection) > 0
    assert pairs[:, 0].max() < pre.size and pairs[:, 1].max() < post.size
    if name == "OneToOne":
        assert np.array_equal(pairs[:, 0], pairs[:, 1])
    if name == "IndexBased":
        assert np.all((pairs[:, 0] + pairs[:, 1]) % 2 == 0)
    if name == "Array":
        assert np.array_equal(pairs[:, 0], pairs[:, 1])
    if name == "FromList":
        weights = projection.get("weight", format="array")
        assert weights[3, 2] == pytest.approx(0.02) and np.isnan(weights[0, 0])
    if name == "DistanceDependent":
        distances = projection.space.distances(pre.positions.T, post.positions.T).reshape(8, 6)
        assert np.all(distances[pairs[:, 0], pairs[:, 1]] < 15)
    if name == "FixedNumberPre":
        assert np.all(np.bincount(pairs[:, 1], minlength=post.size) == 3)


def test_get_set_save_and_connections(sim, pops, tmp_path):
    pre, post = pops
    projection = sim.Projection(pre, post, sim.AllToAllConnector(),
                                sim.StaticSynapse(weight=0.01, delay=1.0))
    assert len(projection) == 48
    projection.set(weight=0.05)
    assert np.allclose(projection.get("weight", format="list", with_address=False), 0.05)
    matrix = np.arange(48, dtype=float).reshape(8, 6) * 1e-3
    projection.set(weight=matrix)
    assert np.allclose(projection.get("weight", format="array"), matrix)
    projection.set(delay=sim.RandomDistribution("uniform", (1.0, 2.0), rng=sim.NumpyRNG(1)))
    delays = projection.get("delay", format="array")
    assert np.all((delays >= 1.0) & (delays <= 2.0))
    projection.set(delay=lambda d: 1.0 + d / 100.0)
    connections = list(projection.connections)
    assert len(connections) == 48
    first = connections[0]
    assert first.weight == pytest.approx(matrix[first.presynaptic_index,
                                                first.postsynaptic_index])
    filename = tmp_path / "weights.txt"
    projection.save("weight", str(filename), format="list")
    saved = np.loadtxt(filename)
    assert saved.shape == (48, 3)


def test_tsodyks_markram_parameters_can_be_read_and_set(sim, pops):
    pre, post = pops
    projection = sim.Projection(pre, post, sim.FixedProbabilityConnector(0.5),
                                sim.TsodyksMarkramSynapse(weight=0.01, U=0.3, tau_rec=500.0))
    assert np.allclose(projection.get("U", format="list", with_address=False), 0.3)
    projection.set(tau_facil=100.0, weight=0.02)
    assert np.allclose(projection.get("tau_facil", format="list", with_address=False), 100.0)
    assert np.allclose(projection.get("weight", format="list", with_address=False), 0.02)


def test_bad_delays_weights_and_receptors_are_refused(sim, pops):
    pre, post = pops
    with pytest.raises(sim.errors.ConnectionError, match="negative"):
        sim.Projection(pre, post, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=0.01, delay=-1.0))
    with pytest.raises(sim.errors.ConnectionError, match="minimum delay"):
        sim.Projection(pre, post, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=0.01, delay=0.01))
    with pytest.raises(sim.errors.ConnectionError, match="receptor_type"):
        sim.Projection(pre, post, sim.AllToAllConnector(), receptor_type="gaba_b")
    with pytest.raises(sim.errors.ConnectionError, match="positive"):
        sim.Projection(pre, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=-0.01),
                       receptor_type="inhibitory")
    projection = sim.Projection(pre, post, sim.AllToAllConnector(),
                                sim.StaticSynapse(weight=0.01, delay=1.0))
    with pytest.raises(sim.errors.ConnectionError, match="minimum delay"):
        projection.set(delay=0.0)
    assert np.allclose(projection.get("delay", format="list", with_address=False), 1.0)


def test_projection_between_views_and_assemblies(sim, pops):
    pre, post = pops
    extra = sim.Population(2, sim.HH_cond_exp())
    projection = sim.Projection(pre[::2], post + extra, sim.AllToAllConnector(),
                                sim.StaticSynapse(weight=0.01, delay=1.0))
    assert len(projection) == 4 * 8
    sim.run(2.0)
