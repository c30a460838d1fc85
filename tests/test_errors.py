"""Bad input gets a clear error and leaves the simulator as it was."""

import shutil

import numpy as np
import pytest

from pyNN_surrogate.surrogates import celltype_search_path


def test_unknown_receptor_type_is_refused_and_nothing_is_connected(sim):
    pre = sim.Population(3, sim.SpikeSourcePoisson(rate=10.0))
    post = sim.Population(3, sim.HH_cond_exp())
    with pytest.raises(sim.errors.ConnectionError, match="receptor_type.*excitatory"):
        sim.Projection(pre, post, sim.AllToAllConnector(), receptor_type="NMDA")
    post.record("gsyn_exc")
    sim.run(20.0)
    gsyn = post.get_data().segments[0].filter(name="gsyn_exc")[0]
    assert np.all(np.asarray(gsyn) == 0.0)


def test_refused_parameter_change_leaves_the_engine_unchanged(sim):
    cells = sim.Population(2, sim.HH_cond_exp(i_offset=0.0))
    cells.record("v")
    with pytest.raises(sim.errors.InvalidParameterValueError):
        cells.set(i_offset=[0.2, np.nan])
    assert np.all(cells.get("i_offset") == 0.0)
    sim.run(50.0)
    v = np.asarray(cells.get_data().segments[0].filter(name="v")[0])
    assert np.array_equal(v[:, 0], v[:, 1])  # both cells still identical, no offset applied


def test_run_duration_off_the_native_step_is_explained(sim):
    sim.Population(1, sim.HH_cond_exp())
    with pytest.raises(ValueError, match="multiples"):
        sim.run(0.3)
    assert sim.get_current_time() == 0.0
    sim.run(1.0)
    assert sim.get_current_time() == pytest.approx(1.0)


def copy_celltype(tmp_path, name="HH_cond_exp"):
    source = next(d / name for d in celltype_search_path() if (d / name).is_dir())
    target = tmp_path / name
    shutil.copytree(source, target)
    return target


def test_corrupt_weights_are_refused_naming_the_file(sim, tmp_path, monkeypatch):
    package = copy_celltype(tmp_path)
    with open(package / "weights.pt", "r+b") as weights:
        weights.seek(100)
        weights.write(b"corrupted")
    monkeypatch.setenv("PYNN_SURROGATE_CELLTYPES", str(tmp_path))
    sim.setup(timestep=0.1, device="cpu")
    with pytest.raises(sim.errors.InvalidModelError, match=r"weights\.pt.*corrupt"):
        sim.Population(2, sim.HH_cond_exp())


def test_missing_card_is_refused(sim, tmp_path, monkeypatch):
    package = copy_celltype(tmp_path)
    (package / "card.json").unlink()
    monkeypatch.setenv("PYNN_SURROGATE_CELLTYPES", str(tmp_path))
    sim.setup(timestep=0.1, device="cpu")
    with pytest.raises(sim.errors.InvalidModelError, match=r"card\.json.*missing"):
        sim.Population(2, sim.HH_cond_exp())


def test_timestep_that_does_not_divide_the_native_step_is_refused():
    import pyNN_surrogate as sim

    sim.setup(timestep=0.3, device="cpu")
    with pytest.raises(sim.errors.InvalidParameterValueError, match="native step"):
        sim.Population(1, sim.HH_cond_exp())
    sim.end()
