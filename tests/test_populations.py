"""Population, PopulationView and Assembly: parameters, views, structure, recording, files."""

import numpy as np
import pytest
import quantities as pq
import neo

from pyNN.space import Grid2D


def test_slicing_views_and_assemblies(sim):
    cells = sim.Population(10, sim.HH_cond_exp(), label="cells")
    view = cells[2:6]
    assert isinstance(view, sim.PopulationView)
    assert view.size == 4 and view.parent is cells
    assert list(view.all_cells) == list(cells.all_cells[2:6])
    nested = view[[0, 3]]
    assert list(nested.all_cells) == [cells[2], cells[5]]
    other = sim.Population(3, sim.HH_cond_exp(), label="other")
    assembly = cells + other
    assert isinstance(assembly, sim.Assembly)
    assert assembly.size == 13
    assert cells[4] in assembly and other[2] in assembly


def test_get_set_with_scalars_arrays_distributions_and_callables(sim):
    cells = sim.Population(6, sim.HH_cond_exp())
    assert cells.get("tau_syn_E") == pytest.approx(0.2)
    cells.set(tau_syn_E=1.5)
    assert cells.get("tau_syn_E") == pytest.approx(1.5)
    cells.set(i_offset=np.linspace(0.0, 0.5, 6))
    assert np.allclose(cells.get("i_offset"), np.linspace(0.0, 0.5, 6))
    rng = sim.NumpyRNG(seed=3)
    cells.set(tau_syn_I=sim.RandomDistribution("uniform", (2.0, 4.0), rng=rng))
    values = cells.get("tau_syn_I")
    assert values.shape == (6,) and np.all((values >= 2.0) & (values <= 4.0))
    cells.set(tau_syn_E=lambda i: 1.0 + 0.1 * i)
    assert np.allclose(cells.get("tau_syn_E"), 1.0 + 0.1 * np.arange(6))
    cells[1:3].set(i_offset=0.25)
    assert np.allclose(cells.get("i_offset")[1:3], 0.25)
    assert np.allclose(cells[1:3].get("i_offset"), 0.25)
    params = cells.get(["tau_syn_E", "i_offset"], simplify=False)
    assert len(params) == 2


def test_out_of_domain_and_nan_parameters_are_refused_and_change_nothing(sim):
    cells = sim.Population(3, sim.HH_cond_exp())
    before = cells.get("gbar_Na")
    with pytest.raises(sim.errors.InvalidParameterValueError, match="gbar_Na"):
        cells.set(gbar_Na=5 * before)
    assert cells.get("gbar_Na") == before
    with pytest.raises(sim.errors.InvalidParameterValueError, match="NaN"):
        cells.set(i_offset=np.nan)
    assert cells.get("i_offset") == 0.0
    with pytest.raises(sim.errors.InvalidParameterValueError,
                       match=r"(?s)gbar_K.*python -m pyNN_surrogate.train.*train_missing=True"):
        sim.Population(2, sim.HH_cond_exp(gbar_K=1.0))


def test_cell_type_without_surrogate_is_refused(sim):
    from pyNN_surrogate.surrogates import available_celltypes

    if "EIF_cond_alpha_isfa_ista" in available_celltypes():
        pytest.skip("a surrogate for this cell type has been trained")
    with pytest.raises(sim.errors.NoModelAvailableError,
                       match=r"HH_cond_exp.*python -m pyNN_surrogate.train"):
        sim.Population(2, sim.EIF_cond_alpha_isfa_ista())


def test_initialize_and_initial_values(sim):
    cells = sim.Population(4, sim.HH_cond_exp())
    with pytest.warns(UserWarning, match="resting state"):
        cells.initialize(v=-50.0)
    assert cells.initial_values["v"].evaluate(simplify=True) == -50.0


def test_positions_structure_annotations_describe(sim):
    cells = sim.Population(12, sim.HH_cond_exp(), structure=Grid2D(aspect_ratio=3.0, dx=10.0,
                                                                       dy=10.0), label="grid")
    assert cells.positions.shape == (3, 12)
    assert np.allclose(cells.positions[:, 1] - cells.positions[:, 0], [0.0, 10.0, 0.0])
    cells.positions = np.zeros((3, 12))
    assert np.all(cells.positions == 0)
    cells.annotate(layer="L4", kind="pyramidal")
    assert cells.annotations["layer"] == "L4"
    text = cells.describe()
    assert "grid" in text and "HH_cond_exp" in text
    cells.record("v")
    sim.run(5.0)
    assert cells.get_data().annotations["layer"] == "L4"


def test_record_with_sampling_interval_and_clear(sim):
    cells = sim.Population(3, sim.HH_cond_exp())
    cells.record(["v", "gsyn_exc"], sampling_interval=1.0)
    cells[0:2].record("spikes")
    sim.run(50.0)
    segment = cells.get_data(clear=True).segments[0]
    v = segment.filter(name="v")[0]
    assert v.sampling_period == 1.0 * pq.ms
    assert v.shape == (51, 3)
    assert v.units == pq.mV
    assert len(segment.spiketrains) == 2
    sim.run(20.0)
    after_clear = cells.get_data().segments[0].filter(name="v")[0]
    assert after_clear.t_start == 50.0 * pq.ms
    assert after_clear.shape[0] in (20, 21)



def test_spike_trains_match_pyNNs_generic_segment(sim):
    """The linear-time spike-train builder gives what PyNN's generic Recorder code gives:
    same trains, times, t_start/t_stop and annotations, for all cells and for a view."""
    from pyNN.recording import Recorder as GenericRecorder
    cells = sim.Population(6, sim.HH_cond_exp(i_offset=[0.0, 0.3, 0.5, 0.0, 0.8, 0.4]))
    cells.record(["spikes", "v"])
    sim.run(60.0)
    rec = cells.recorder
    for ids in (None, cells[1:5].all_cells):
        fast = rec._get_current_segment(filter_ids=ids)
        generic = GenericRecorder._get_current_segment(rec, filter_ids=ids)
        assert len(fast.spiketrains) == len(generic.spiketrains) > 0
        assert sum(len(t) for t in fast.spiketrains) > 0
        for a, b in zip(fast.spiketrains, generic.spiketrains):
            np.testing.assert_array_equal(a.magnitude, b.magnitude)
            assert (a.t_start, a.t_stop, a.units) == (b.t_start, b.t_stop, b.units)
            assert a.annotations == b.annotations
            assert a.segment is fast
        assert [s.name for s in fast.analogsignals] == [s.name for s in generic.analogsignals]

def test_recording_a_variable_the_cell_type_lacks_is_refused(sim):
    cells = sim.Population(2, sim.HH_cond_exp())
    with pytest.raises(sim.errors.RecordingError, match="w"):
        cells.record("w")
    sources = sim.Population(2, sim.SpikeSourcePoisson())
    with pytest.raises(sim.errors.RecordingError, match="v"):
        sources.record("v")


@pytest.mark.parametrize("suffix", ["pkl", "nix"])
def test_write_data(sim, tmp_path, suffix):
    cells = sim.Population(3, sim.HH_cond_exp(), label="written")
    cells.record(["spikes", "v"])
    sim.run(20.0)
    filename = str(tmp_path / f"data.{suffix}")
    cells.write_data(filename)
    io = neo.io.get_io(filename)
    block = io.read_block() if suffix == "nix" else io.read()[0]
    if hasattr(io, "close"):
        io.close()
    signal = block.segments[0].filter(name="v")[0]
    assert signal.shape == (201, 3)
    assert len(block.segments[0].spiketrains) == 3


def test_procedural_api(sim, tmp_path):
    cells = sim.create(sim.HH_cond_exp(), n=4)
    sources = sim.create(sim.SpikeSourcePoisson(rate=50.0), n=4)
    projection = sim.connect(sources, cells, weight=0.01, delay=1.0, p=1.0)
    assert len(projection) == 16
    sim.set(cells, i_offset=0.1)
    assert np.allclose(cells.get("i_offset"), 0.1)
    filename = tmp_path / "procedural.pkl"
    sim.record(["v"], cells, str(filename))
    sim.run(5.0)
    assert cells.get_data().segments[0].analogsignals[0].shape == (51, 4)
    sim.end()
    assert filename.exists()
