"""The detailed HNN cell types in the PyNN backend: receptor types and the site-assignment rule,
loading and domain checks, recording of the dendritic readouts. The surrogate here is an
untrained network with the right inputs and outputs (these tests check the plumbing, not the
physiology; the trained packages' accuracy is in their cards)."""

import json

import numpy as np
import pytest
import torch
from pyNN import errors

import pyNN_surrogate as sim
from pyNN_surrogate.surrogates import SurrogateNet
from pyNN_surrogate.surrogates.layouts import HNN_KINETICS, L5_LAYOUT
from pyNN_surrogate.surrogates.package import sha256_file


def write_fake_l5_package(root, drop_output=None):
    """An HNN_L5Pyramidal package with an untrained network (19 drive channels: the layout's
    site channels and the somatic current; v plus the layout's readouts)."""
    torch.manual_seed(0)
    channels = list(L5_LAYOUT.channels) + ["i_inj"]
    readouts = [r for r in L5_LAYOUT.readouts if r != drop_output]
    net = SurrogateNet(len(channels), 5, conv_channels=8, kernel=2, hidden=16,
                       n_extra=len(readouts))
    out = root / "HNN_L5Pyramidal"
    out.mkdir(parents=True)
    torch.save(net.state_dict(), out / "weights.pt")
    card = {
        "name": "HNN_L5Pyramidal", "native_dt": 0.5, "output_dt": 0.1, "substeps": 5,
        "drive_channels": [{"name": c, "units": "nA" if c == "i_inj" else "uS",
                            "normalisation": {"kind": "asinh", "scale": 0.01}}
                           for c in channels],
        "outputs": {"v": {"units": "mV", "offset": -70.0, "scale": 10.0},
                    **{r: {"units": "mM" if r.startswith("ca.") else "mV",
                           "offset": 0.0, "scale": 1.0} for r in readouts}},
        "recordables": ["v", *readouts], "spike_threshold": 100.0,
        "synapse_kinetics": HNN_KINETICS,
        "model": dict(kind="cnn_lstm", **net.config()),
        "domain": {"i_offset": {"kind": "range", "min": -0.5, "max": 1.5}},
        "training": {"train_command_template": "python -m pyNN_surrogate.train_detailed "
                                               "HNN_L5Pyramidal"},
        "weights": {"file": "weights.pt", "sha256": sha256_file(out / "weights.pt")},
    }
    (out / "card.json").write_text(json.dumps(card))
    return out


@pytest.fixture
def fake_l5(tmp_path, monkeypatch):
    write_fake_l5_package(tmp_path)
    monkeypatch.setenv("PYNN_SURROGATE_CELLTYPES", str(tmp_path))
    sim.setup(timestep=0.1, min_delay=0.5)
    yield
    sim.end()


def test_receptor_types_and_site_assignment_rule():
    """'<group>.<receptor>' is taken as it is; a bare receptor needs the group from the
    connector's location_selector; contradictory or impossible pairs are refused."""
    cell = sim.HNN_L5Pyramidal()
    assert "apical_tuft.ampa" in cell.receptor_types and "ampa" in cell.receptor_types
    assert cell.resolve_receptor("apical_tuft.nmda") == "apical_tuft.nmda"
    assert cell.resolve_receptor("ampa", {"basal"}) == "basal.ampa"
    assert cell.resolve_receptor("basal.ampa", {"basal"}) == "basal.ampa"
    with pytest.raises(errors.ConnectionError, match="needs a site group.*'basal'"):
        cell.resolve_receptor("gabaa")
    with pytest.raises(errors.ConnectionError, match="no 'ampa' receptors.*'soma.ampa'"):
        cell.resolve_receptor("ampa", {"soma"})
    with pytest.raises(errors.ConnectionError, match="location_selector names another"):
        cell.resolve_receptor("basal.ampa", {"apical_tuft"})
    with pytest.raises(errors.ConnectionError, match="one site group"):
        cell.resolve_receptor("ampa", {"basal", "apical_tuft"})
    assert "HNN_L5Pyramidal" not in sim.list_standard_models()


def test_network_of_detailed_cells_routes_inputs_to_their_site_groups(fake_l5):
    """Projections land on the engine receptor of their channel (direct name, or bare
    receptor plus location_selector), with exp2 kernels of HNN's kinetics; the dendritic v
    and dipole are recorded with their units."""
    cells = sim.Population(3, sim.HNN_L5Pyramidal(i_offset=0.2), label="L5")
    drive = sim.Population(3, sim.SpikeSourcePoisson(rate=200.0))
    tuft = sim.Projection(drive, cells, sim.OneToOneConnector(),
                          sim.StaticSynapse(weight=0.002, delay=1.0),
                          receptor_type="apical_tuft.ampa")
    basal = sim.Projection(drive, cells, sim.AllToAllConnector(location_selector="basal"),
                           sim.StaticSynapse(weight=0.001, delay=1.0), receptor_type="nmda")
    cells.record(["v", "v.apical_tuft", "dipole", "spikes"])
    sim.run(20.0)

    engine = sim.state.engine
    group = engine._groups[cells._engine_group]
    for projection, channel in ((tuft, "apical_tuft.ampa"), (basal, "basal.nmda")):
        engine_projection = engine._projections[projection._engine_parts[0][0]]
        assert engine_projection.receptor == group.rec_index[channel]
    nmda = group.receptors[group.rec_index["basal.nmda"]]
    assert nmda.kernel == "exp2" and (nmda.tau_rise, nmda.tau) == (1.0, 20.0)
    assert len(basal) == 9

    segment = cells.get_data().segments[0]
    signals = {s.name: s for s in segment.analogsignals}
    assert set(signals) == {"v", "v.apical_tuft", "dipole"}
    assert signals["v.apical_tuft"].shape == (201, 3)
    assert str(signals["dipole"].units.dimensionality) == "m*nA"
    assert np.all(np.isfinite(np.asarray(signals["v"])))


def test_detailed_cell_domain_and_missing_output_are_refused(tmp_path, monkeypatch):
    """i_offset outside the card's range is refused naming the value and domain; a package
    without one of the cell type's readouts is refused naming it; no package at all (where
    none is shipped) names the cell type."""
    from pyNN_surrogate.surrogates import available_celltypes

    sim.setup(timestep=0.1)
    try:
        if "HNN_L5Pyramidal" not in available_celltypes():
            with pytest.raises(errors.NoModelAvailableError, match="HNN_L5Pyramidal"):
                sim.Population(1, sim.HNN_L5Pyramidal())
        write_fake_l5_package(tmp_path / "ok")
        monkeypatch.setenv("PYNN_SURROGATE_CELLTYPES", str(tmp_path / "ok"))
        sim.setup(timestep=0.1)
        with pytest.raises(errors.InvalidParameterValueError, match="i_offset.*2"):
            sim.Population(1, sim.HNN_L5Pyramidal(i_offset=2.0))
        write_fake_l5_package(tmp_path / "short", drop_output="v.apical_tuft")
        monkeypatch.setenv("PYNN_SURROGATE_CELLTYPES", str(tmp_path / "short"))
        sim.setup(timestep=0.1)
        with pytest.raises(errors.InvalidModelError, match=r"does not output \['v.apical_tuft'\]"):
            sim.Population(1, sim.HNN_L5Pyramidal())
    finally:
        sim.end()


def load_example():
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parent.parent / "examples" / "l5_microcircuit.py"
    spec = importlib.util.spec_from_file_location("l5_microcircuit", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_microcircuit_connectivity_has_reciprocal_pairs_apart():
    """Reciprocal pairs come in both directions, no pair is both reciprocal and single, no
    cell connects to itself, and the numbers match p and 0.5 p."""
    example = load_example()
    n, p = 150, 0.08
    single, recip = example.connection_lists(n, p, np.random.default_rng(0))
    recip_set, single_set = set(recip), set(single)
    assert all((j, i) in recip_set for i, j in recip)
    assert not recip_set & single_set and all(i != j for i, j in single + recip)
    n_pairs = n * (n - 1) / 2
    assert len(recip) / 2 == pytest.approx(0.5 * p * n_pairs, rel=0.15)
    assert len(single) == pytest.approx(p * n * (n - 1) * (1 - 0.5 * p), rel=0.1)


def test_microcircuit_example_runs_a_small_sweep(tmp_path):
    """The example, on an untrained stand-in package (plumbing only): a 2 x 2 sweep of 12 cells
    writes the two heatmaps' data and the figure."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    write_fake_l5_package(tmp_path / "pkg")
    repo = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYNN_SURROGATE_CELLTYPES=str(tmp_path / "pkg"),
               PYTHONPATH=str(repo) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, str(repo / "examples" / "l5_microcircuit.py"),
                           "surrogate", "--n-cells", "12", "--grid", "2", "--duration", "120",
                           "--out", str(tmp_path / "out")],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    result = np.load(tmp_path / "out" / "l5_microcircuit.npz")
    assert result["instability"].shape == result["response"].shape == (2, 2)
    assert np.all((result["response"] >= 0) & (result["response"] <= 1))
    assert (tmp_path / "out" / "l5_microcircuit.png").stat().st_size > 10000


def test_l5_network_benchmark_compares_both_backends(tmp_path):
    """The L5 network benchmark runs the same tiny network on hnn-core in NEURON and on the
    surrogate (an untrained stand-in here) and writes its report with the speed-up."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    write_fake_l5_package(tmp_path / "pkg")
    repo = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYNN_SURROGATE_CELLTYPES=str(tmp_path / "pkg"),
               PYTHONPATH=str(repo) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    report = tmp_path / "l5.md"
    done = subprocess.run([sys.executable, str(repo / "benchmarks" / "l5_network.py"),
                           "compare", "--n-cells", "4", "--duration", "20", "--repeats", "1",
                           "--threads", "1", "--out", str(report)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    text = report.read_text()
    assert "hnn-core in NEURON" in text and "Speed-up" in text
    assert '"backend": "surrogate"' in text and '"backend": "neuron"' in text


def test_recording_an_output_the_surrogate_lacks_is_a_recording_error(tmp_path, monkeypatch):
    """Izhikevich's u is recordable where the surrogate outputs it; a package without it
    refuses to record u with PyNN's RecordingError (and records v)."""
    torch.manual_seed(0)
    net = SurrogateNet(2, 5, conv_channels=8, kernel=2, hidden=8)
    out = tmp_path / "Izhikevich"
    out.mkdir()
    torch.save(net.state_dict(), out / "weights.pt")
    card = {"name": "Izhikevich", "native_dt": 0.5, "output_dt": 0.1, "substeps": 5,
            "drive_channels": [{"name": c, "units": u, "normalisation": {"kind": "asinh",
                                                                        "scale": 1.0}}
                               for c, u in (("v_jump", "mV/ms"), ("i_inj", "nA"))],
            "outputs": {"v": {"units": "mV", "offset": -70.0, "scale": 10.0}},
            "recordables": ["v"], "spike_threshold": 100.0,
            "model": dict(kind="cnn_lstm", **net.config()), "domain": {},
            "training": {"train_command_template": "python -m pyNN_surrogate.train Izhikevich"},
            "weights": {"file": "weights.pt", "sha256": sha256_file(out / "weights.pt")}}
    (out / "card.json").write_text(json.dumps(card))
    monkeypatch.setenv("PYNN_SURROGATE_CELLTYPES", str(tmp_path))
    sim.setup(timestep=0.1)
    try:
        cells = sim.Population(2, sim.Izhikevich())
        assert "u" in cells.celltype.recordable
        with pytest.raises(errors.RecordingError):
            cells.record("u")
        cells.record("v")
        sim.run(5.0)
        assert cells.get_data().segments[0].analogsignals[0].shape == (51, 2)
    finally:
        sim.end()
