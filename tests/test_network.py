"""A whole network script on ``pyNN.surrogate``, end to end, returning well-formed Neo data."""

import neo
import numpy as np
import pytest
import quantities as pq

from tests.scripts import ei_network


def test_ei_network_end_to_end(tmp_path):
    import pyNN.surrogate as sim

    sim.setup(timestep=0.1, min_delay=1.0, device="cpu", rng_seed=5)
    populations = ei_network(sim, simtime=200.0)
    exc_block = populations["exc"].get_data()
    assert [s.name for s in exc_block.segments] == ["segment000", "segment001"]
    assert exc_block.annotations["simulator"] == "pyNN_surrogate"
    first, second = exc_block.segments
    for segment, duration in ((first, 200.0), (second, 100.0)):
        v = segment.filter(name="v")[0]
        assert v.shape == (int(duration / 0.1) + 1, 3)
        assert v.units == pq.mV
        assert np.all(np.isfinite(np.asarray(v)))
        assert -100 < np.asarray(v).min() and np.asarray(v).max() < 70
        gsyn = segment.filter(name="gsyn_exc")[0]
        assert gsyn.units == pq.uS and np.asarray(gsyn).max() > 0
        assert len(segment.spiketrains) == 16
        assert all(st.t_stop == duration * pq.ms for st in segment.spiketrains)
    n_spikes = sum(len(st) for st in first.spiketrains)
    assert n_spikes > 0, "the network should be active"

    stim = populations["stimulus"].get_data().segments[0].spiketrains
    assert np.allclose(np.asarray(stim[0]), [20.0, 60.0, 61.5, 120.0])

    filename = tmp_path / "network.nix"
    populations["exc"].write_data(str(filename))
    io = neo.io.NixIO(str(filename), mode="ro")
    reread = io.read_block()
    io.close()
    assert len(reread.segments) == 2
    assert reread.segments[0].filter(name="v")[0].shape == (2001, 3)

    # Assembly.get_data merges the populations' data into one block. (Done last: PyNN's
    # variable filter trims the cached segments in place, on every backend.)
    merged = populations["cells"].get_data("spikes")
    assert len(merged.segments[0].spiketrains) == 20
    assert {st.annotations["source_population"] for st in merged.segments[0].spiketrains} \
        == {"exc", "inh"}
    sim.end()
