"""End to end, tiny: the detailed-cell training command writes a package that the backend
runs (hnn-core's L2/3 cell in spawned NEURON processes; a few training steps)."""

import json

import numpy as np
import pytest

import pyNN_surrogate as sim
from pyNN_surrogate.train_detailed import main, summary


def test_train_detailed_writes_a_package_the_backend_runs(tmp_path, monkeypatch):
    out = main(["HNN_L23Pyramidal", "--trials", "10", "--duration", "60", "--steps", "20",
                "--eval-every", "20", "--hidden", "8", "--spike-traces", "20", "50",
                "--out", str(tmp_path), "--cache-dir", str(tmp_path / "cache"), "--quiet"])
    card = json.loads((out / "card.json").read_text())
    test = card["evaluation"]["test"]
    assert test["n_trials"] == 1 and test["duration_ms"] == 60.0
    assert set(test["outputs"]) == {"v.basal_2", "v.apical_1", "v.apical_tuft", "dipole"}
    assert card["recordables"] == ["v", "v.basal_2", "v.apical_1", "v.apical_tuft", "dipole"]
    assert len(card["drive_channels"]) == 19 and card["model"]["n_extra"] == 4
    assert card["model"]["spike_traces"] == [20.0, 50.0]
    assert [g["name"] for g in card["contact_sites"]["groups"]][0] == "soma"
    assert card["domain"]["i_offset"]["max"] >= 0.0
    assert "spikes +/-5 ms" in summary(card)

    monkeypatch.setenv("PYNN_SURROGATE_CELLTYPES", str(tmp_path))
    sim.setup(timestep=0.1)
    try:
        cells = sim.Population(2, sim.HNN_L23Pyramidal())
        cells.record(["v", "dipole"])
        sim.run(10.0)
        signals = {s.name: np.asarray(s) for s in cells.get_data().segments[0].analogsignals}
        assert signals["v"].shape == (101, 2) and np.all(np.isfinite(signals["dipole"]))
    finally:
        sim.end()


def test_train_detailed_refuses_spike_traces_without_feedback(tmp_path):
    with pytest.raises(SystemExit, match="--spike-traces needs the spike feedback"):
        main(["HNN_L23Pyramidal", "--no-feedback", "--spike-traces", "20",
              "--out", str(tmp_path), "--quiet"])
