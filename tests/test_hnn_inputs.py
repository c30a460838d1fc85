"""Random input trials of the detailed HNN cells' ground truth (no NEURON needed)."""

import numpy as np
import pytest

from pyNN_surrogate.training.hnn_groundtruth import L5_LAYOUT, exp2_conductance
from pyNN_surrogate.training.hnn_inputs import HNNInputConfig, draw_hnn_trials, exp2_area


def test_exp2_area_is_the_kernels_integral():
    t = np.arange(0, 400.0, 0.01)
    g = exp2_conductance([0.0], 1.0, 1.0, 20.0, t)
    assert exp2_area(1.0, 20.0) == pytest.approx(g.sum() * 0.01, rel=1e-3)
    assert g.max() == pytest.approx(1.0, rel=1e-4)       # unit peak


def test_trials_cover_every_kind_and_are_reproducible():
    """Silent, synaptic, synaptic+current and current-only trials appear in about the
    configured fractions; inputs are valid and on the layout's channels; inhibitory channels
    follow the inhibitory level; the same seed gives the same trials."""
    config = HNNInputConfig(n_trials=400, duration=300.0, seed=3, p_silent=0.1,
                            p_current_only=0.2, p_current=0.5)
    trials = draw_hnn_trials(L5_LAYOUT, config)
    kinds = [t["kind"] for t in trials]
    counts = {k: kinds.count(k) for k in ("silent", "current", "synaptic", "synaptic+current")}
    assert 20 < counts["silent"] < 60 and 55 < counts["current"] < 105
    assert 0.35 < counts["synaptic+current"] / (counts["synaptic"]
                                                  + counts["synaptic+current"]) < 0.65
    for t in trials:
        if t["kind"] in ("silent", "current"):
            assert t["inputs"] == {}
        else:
            assert t["inputs"] and set(t["inputs"]) <= set(L5_LAYOUT.channels)
        assert (t["current"] is not None) == t["kind"].endswith("current")
        for times, weight in t["inputs"].values():
            assert weight > 0 and np.all(np.diff(times) > 0)
            assert np.all(times >= config.lead_in) and np.all(times < config.duration)
    again = draw_hnn_trials(L5_LAYOUT, config)
    assert all(a["kind"] == b["kind"] and a["inputs"].keys() == b["inputs"].keys()
               for a, b in zip(trials, again))
    first = next(t for t in trials if t["inputs"])
    ch = next(iter(first["inputs"]))
    np.testing.assert_array_equal(first["inputs"][ch][0],
                                  again[trials.index(first)]["inputs"][ch][0])


def test_mean_conductance_follows_the_drive_level():
    """A channel's mean conductance (rate x weight x kernel area) scales with the trial's
    drive level: the correlation over trials is strong on log scales."""
    config = HNNInputConfig(n_trials=300, duration=2000.0, seed=1, p_silent=0.0,
                            p_current_only=0.0)
    trials = draw_hnn_trials(L5_LAYOUT, config)
    level, mean_g = [], []
    for t in trials:
        inp = t["inputs"].get("basal.ampa")
        if inp is not None and len(inp[0]) > 20:
            level.append(t["exc_level"])
            mean_g.append(len(inp[0]) * inp[1] * exp2_area(0.5, 5.0) / config.duration)
    assert len(level) > 50
    assert np.corrcoef(np.log(level), np.log(mean_g))[0, 1] > 0.7


def test_invalid_config_refused():
    with pytest.raises(ValueError, match="must not exceed 1"):
        HNNInputConfig(p_silent=0.6, p_current_only=0.6)
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        HNNInputConfig(p_group_active=1.5)
