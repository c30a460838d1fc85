"""A whole network script on ``pyNN.surrogate``, end to end, returning well-formed Neo data."""

import neo
import numpy as np
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


def _spikes_and_v(sim, i_offset, tau_syn_E, counter=None):
    """Run cells with per-cell parameters and a shared Poisson drive; optionally count the
    surrogate calls."""
    sim.setup(timestep=0.1, min_delay=1.0, device="cpu", rng_seed=11)
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=np.arange(5.0, 95.0, 3.0)))
    cells = sim.Population(len(i_offset), sim.HH_cond_exp(i_offset=i_offset,
                                                          tau_syn_E=tau_syn_E))
    sim.Projection(source, cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.02, delay=1.0))
    cells.record(["spikes", "v"])
    if counter is not None:
        runtime = cells._runtime
        original = runtime.run

        def counted(drive, state):
            counter.append(drive.shape[1])
            return original(drive, state)
        runtime.run = counted
    sim.run(100.0)
    if counter is not None:
        counter.append(("window", sim.state.engine.window))
    segment = cells.get_data().segments[0]
    v = np.asarray(segment.filter(name="v")[0])
    trains = [np.asarray(st) for st in segment.spiketrains]
    sim.end()
    return trains, v


def test_heterogeneous_parameters_run_batched_and_match_cells_run_alone():
    """One Population with per-cell i_offset and tau_syn_E is advanced by one surrogate call
    per window for all its cells, and every cell behaves exactly as when simulated alone."""
    import pyNN_surrogate as sim

    i_offset = [0.0, 0.2, 0.5, 1.0]
    tau_syn_E = [0.2, 1.0, 3.0, 0.5]
    calls = []
    trains, v = _spikes_and_v(sim, i_offset, tau_syn_E, counter=calls)
    (_, window), calls = calls[-1], calls[:-1]
    assert calls and set(calls) == {4}                 # every call carries all 4 cells
    assert len(calls) == round(100.0 / window)         # one call per window
    assert len({len(t) for t in trains}) > 1           # the parameters make a difference
    for i in range(4):
        alone_trains, alone_v = _spikes_and_v(sim, [i_offset[i]], [tau_syn_E[i]])
        # float32 GEMMs round differently with the batch size: tiny v differences only
        # (up to a few 1e-3 mV on the steep flanks of a spike)
        np.testing.assert_allclose(v[:, i], alone_v[:, 0], atol=1e-2)
        assert np.median(np.abs(v[:, i] - alone_v[:, 0])) < 1e-4
        np.testing.assert_allclose(trains[i], alone_trains[0])
