"""Free-running agreement of the shipped detailed (HNN) surrogates with hnn-core in NEURON.

Each card records a small seeded trial set (``evaluation.regression``: 16 trials x 1 s, drawn
by the card's input generator with its own seed). The test simulates exactly these trials again
in NEURON (a spawned process: hnn-core's mechanisms never share a process with pyNN.neuron),
runs the package free-running through the runtime the backend uses, and compares: the ground
truth must be the same spike for spike and the surrogate's numbers equal to the card's up to
float rounding, so a changed runtime, engine convention, ground-truth generator or weights shows
up here. (The card's held-out test numbers come from 180-200 trials; 16 trials spread too much
to be held to them.)
"""

import pytest

from pyNN_surrogate.surrogates import available_celltypes, load_celltype
from pyNN_surrogate.surrogates.layouts import LAYOUTS

SHIPPED_DETAILED = [name for name in available_celltypes() if name in LAYOUTS]


@pytest.mark.skipif(not SHIPPED_DETAILED, reason="no detailed surrogate is shipped")
@pytest.mark.parametrize("celltype", SHIPPED_DETAILED)
def test_shipped_detailed_celltype_agrees_with_neuron(celltype):
    pytest.importorskip("hnn_core")
    from pyNN_surrogate.training.detailed import data_config_from_card, regression_check_detailed

    pkg = load_celltype(celltype)
    ref = pkg.card["evaluation"]["regression"]
    res = regression_check_detailed(pkg.runtime("cpu"), data_config_from_card(pkg.card),
                                    n_trials=ref["n_trials"], seed=ref["seed"])
    assert res["spikes_5ms"]["n_true"] == ref["spikes_5ms"]["n_true"]     # same ground truth
    assert abs(res["spikes_5ms"]["n_pred"] - ref["spikes_5ms"]["n_pred"]) <= 2
    assert res["spikes_5ms"]["f1"] == pytest.approx(ref["spikes_5ms"]["f1"], abs=0.01)
    assert res["v_clipped"]["r"] == pytest.approx(ref["v_clipped"]["r"], abs=0.003)
    for name, score in ref["outputs"].items():
        assert res["outputs"][name]["r"] == pytest.approx(score["r"], abs=0.003), name
    for name, score in ref.get("outputs_smoothed", {}).items():
        assert res["outputs_smoothed"][name]["r"] == pytest.approx(score["r"], abs=0.003), name
    assert res["rate_mae_hz"] == pytest.approx(ref["rate_mae_hz"], abs=0.15)
