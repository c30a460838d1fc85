"""Current sources: timing and values vs pyNN.neuron's recorded source current."""

import numpy as np
import pytest

from pyNN_surrogate.engine import Engine, EngineValueError, ShapeMismatchError
from fake_runtime import FakeRuntime
from neuron_reference import run_current_source

CASES = [
    ("DCSource", "dc", dict(amplitude=0.3, start=2.0, stop=7.5)),
    ("StepCurrentSource", "step", dict(times=[1.0, 3.33, 6.0, 8.04],
                                       amplitudes=[0.2, -0.1, 0.5, 0.0])),
    ("ACSource", "ac", dict(amplitude=0.4, offset=0.1, frequency=150.0, phase=30.0,
                            start=1.5, stop=8.0)),
]


def engine_trace(dt, kind, params, t_stop, n_cells=2, record_drive=False):
    eng = Engine(dt=dt, min_delay=dt)
    g = eng.add_cell_group(FakeRuntime(), n_cells, [])
    c = eng.add_current_source(kind, params, [(g, [0])])
    if record_drive:
        eng.record(g, "drive_i_inj", None, 0.5)
    eng.run_until(t_stop)
    return eng, g, c


@pytest.mark.parametrize("dt", [0.1, 0.025])
@pytest.mark.parametrize("pynn_name,kind,params", CASES, ids=[c[1] for c in CASES])
def test_current_matches_neuron(neuron_sim, dt, pynn_name, kind, params):
    t_ref, i_ref = run_current_source(neuron_sim, dt, pynn_name, params, 10.0)
    eng, g, c = engine_trace(dt, kind, params, 10.0)
    i = eng.get_current_trace(c)
    assert i.shape == i_ref.shape == (int(round(10.0 / dt)) + 1,)
    np.testing.assert_allclose(i, i_ref, rtol=0, atol=1e-9)


def test_noisy_timing_and_statistics():
    """Piecewise constant over dt_noise intervals from start, zero outside [start, stop)."""
    dt, p = 0.1, dict(mean=0.5, stdev=0.2, start=2.0, stop=802.0, dt=1.0)
    eng, g, c = engine_trace(dt, "noisy", p, 810.0)
    i = eng.get_current_trace(c)
    t = np.arange(len(i)) * dt
    assert np.all(i[t < 2.0 - 1e-9] == 0) and np.all(i[t > 802.0 - 1e-9] == 0)
    on = i[(t > 2.0 - 1e-9) & (t < 802.0 - 1e-9)].reshape(800, 10)
    assert np.all(on == on[:, :1])               # constant within each 1 ms interval
    vals = on[:, 0]
    assert len(np.unique(vals)) == 800
    assert abs(vals.mean() - 0.5) < 4 * 0.2 / np.sqrt(800)
    assert abs(vals.std() - 0.2) < 0.03


def test_current_drives_i_inj_channel_with_offset():
    """The step-averaged i_inj drive is i_offset + the source current (cell 0 only)."""
    eng = Engine(dt=0.1, min_delay=0.1)
    g = eng.add_cell_group(FakeRuntime(), 2, [], i_offset=[0.05, 0.0])
    eng.add_current_source("dc", dict(amplitude=0.3, start=1.2, stop=3.0), [(g, [0])])
    eng.record(g, "drive_i_inj", None, 0.5)
    eng.run_until(4.0)
    d, _ = eng.get_signal(g, "drive_i_inj")
    # native steps [0,0.5) ... sampled at end of each step; [1.0,1.5) has 3/5 of its dt points on
    expected0 = 0.05 + 0.3 * np.array([0, 0, 0.6, 1, 1, 1, 0, 0])
    np.testing.assert_allclose(d[1:, 0], expected0, atol=1e-7)
    np.testing.assert_allclose(d[:, 1], 0.0)


def test_current_params_change_between_runs():
    eng, g, c = engine_trace(0.1, "dc", dict(amplitude=0.3, start=0.0, stop=100.0), 2.0)
    eng.set_current_source_params(c, dict(amplitude=-0.2))
    eng.run_until(4.0)
    i = eng.get_current_trace(c)
    np.testing.assert_allclose(i[:20], 0.3)
    np.testing.assert_allclose(i[20:], -0.2)


def test_current_source_validation_leaves_engine_unchanged():
    eng, g, c = engine_trace(0.1, "dc", dict(amplitude=0.3), 1.0)
    with pytest.raises(EngineValueError, match="unknown parameter"):
        eng.set_current_source_params(c, dict(amplitud=1.0))
    with pytest.raises(ShapeMismatchError, match="2 times but 1 amplitudes"):
        eng.add_current_source("step", dict(times=[1, 2], amplitudes=[1]), [(g, [0])])
    with pytest.raises(EngineValueError, match="strictly increasing"):
        eng.add_current_source("step", dict(times=[2, 1], amplitudes=[1, 1]), [(g, [0])])
    with pytest.raises(EngineValueError, match="out of range"):
        eng.add_current_source("dc", dict(amplitude=1.0), [(g, [5])])
    assert eng._currents[c].params["amplitude"] == 0.3
    assert len(eng._currents) == 1


def test_current_source_added_during_run():
    """A source injected at t=1 ms: trace is zero before, and it drives from then on."""
    eng, g, c = engine_trace(0.1, "dc", dict(amplitude=0.3), 1.0)
    c2 = eng.add_current_source("dc", dict(amplitude=0.1, start=1.5), [(g, [1])])
    eng.run_until(3.0)
    i2 = eng.get_current_trace(c2)
    assert i2.shape == (31,)
    np.testing.assert_allclose(i2[:15], 0.0)
    np.testing.assert_allclose(i2[15:], 0.1)
