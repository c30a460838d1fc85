"""Spike sources (array, poisson, gamma, poisson_refractory) and recording."""

import numpy as np
import pytest

from pyNN_surrogate.engine import Engine, ReceptorSpec
from fake_runtime import FakeRuntime


def source_engine(kind, n, params, t_stop, dt=0.1, min_delay=1.0, seed=3):
    eng = Engine(dt=dt, min_delay=min_delay, seed=seed)
    s = eng.add_spike_source_group(kind, n, params)
    eng.record(s, "spikes")
    eng.run_until(t_stop)
    return eng, s


def test_array_source_records_exact_times_and_ignores_past_after_change():
    times = [np.array([0.0, 0.33, 5.0, 5.04]), np.array([]), np.array([9.94])]
    eng, s = source_engine("array", 3, {"spike_times": times}, 10.0)
    sp = eng.get_spikes(s)
    for i in range(3):
        np.testing.assert_array_equal(sp[i], times[i])
    eng.set_group_param(s, "spike_times", [np.array([3.0, 12.0]), np.array([15.5]),
                                          np.array([])])
    eng.run_until(20.0)
    sp = eng.get_spikes(s, clear=True)
    np.testing.assert_array_equal(sp[0], [0.0, 0.33, 5.0, 5.04, 12.0])
    np.testing.assert_array_equal(sp[1], [15.5])
    assert eng.get_spikes(s)[0].size == 0          # cleared


def test_poisson_rate_start_duration_and_rate_change():
    eng, s = source_engine("poisson", 200, {"rate": 50.0, "start": 100.0, "duration": 400.0},
                           600.0)
    sp = eng.get_spikes(s)
    allt = np.concatenate(list(sp.values()))
    assert allt.min() >= 100.0 and allt.max() < 500.0
    rate = len(allt) / 200 / 0.4
    assert abs(rate - 50.0) < 4 * np.sqrt(50.0 / 200 / 0.4)
    isi = np.concatenate([np.diff(t) for t in sp.values()])
    assert abs(np.std(isi) / np.mean(isi) - 1.0) < 0.1           # exponential ISIs
    eng.set_group_param(s, "rate", 10.0)
    eng.set_group_param(s, "duration", 1e9)
    eng.run_until(1600.0)
    later = np.concatenate([t[t >= 600.0] for t in eng.get_spikes(s).values()])
    assert abs(len(later) / 200 / 1.0 - 10.0) < 4 * np.sqrt(10.0 / 200)


def test_gamma_and_refractory_interval_statistics():
    eng, s = source_engine("gamma", 100, {"alpha": 4.0, "beta": 80.0}, 1000.0)
    isi = np.concatenate([np.diff(t) for t in eng.get_spikes(s).values()])
    assert abs(np.mean(isi) - 4.0 / 80.0 * 1000) < 1.5            # mean alpha/beta
    assert abs(np.std(isi) / np.mean(isi) - 0.5) < 0.05           # CV 1/sqrt(alpha)
    eng, s = source_engine("poisson_refractory", 100, {"rate": 40.0, "tau_refrac": 10.0},
                           1000.0)
    isi = np.concatenate([np.diff(t) for t in eng.get_spikes(s).values()])
    assert isi.min() >= 10.0 - 1e-9
    assert abs(np.mean(isi) - 25.0) < 1.5


def test_high_rate_spikes_beyond_draw_budget_are_carried_not_lost():
    """3000 Hz with a 0.1 ms window: the per-window draw budget is small; nothing is lost."""
    eng, s = source_engine("poisson", 50, {"rate": 3000.0}, 200.0, min_delay=0.1)
    n = sum(len(t) for t in eng.get_spikes(s).values())
    assert abs(n / 50 / 0.2 - 3000) < 4 * np.sqrt(3000 / 50 / 0.2)


def test_seed_determinism_and_reset_reproduces_run():
    def run(eng, s, g):
        eng.run_until(50.0)
        return eng.get_spikes(s), eng.get_signal(g, "v")[0], eng.get_signal(g, "gsyn_exc")[0]

    def build(seed):
        eng = Engine(dt=0.1, min_delay=0.5, seed=seed)
        g = eng.add_cell_group(FakeRuntime(), 20, [ReceptorSpec("e", "conductance", "exp", 2.0,
                                                                "g_exc")])
        s = eng.add_spike_source_group("poisson", 20, {"rate": 200.0})
        eng.add_projection(s, np.arange(20), g, np.arange(20), "e", 0.01, 1.0)
        eng.add_projection(g, np.arange(20), g, (np.arange(20) + 3) % 20, "e", 0.02, 2.0)
        eng.add_current_source("noisy", dict(mean=0.05, stdev=0.1, dt=1.0), [(g, range(20))])
        for v in ("spikes",):
            eng.record(s, v)
        eng.record(g, "v")
        eng.record(g, "gsyn_exc", [0, 5], 0.5)
        return eng, s, g

    a = run(*build(7))
    b = run(*build(7))
    c = run(*build(8))
    eng, s, g = build(7)
    run(eng, s, g)
    eng.reset()
    assert eng.t == 0.0
    r = run(eng, s, g)
    for x in (b, r):
        assert all(np.array_equal(a[0][i], x[0][i]) for i in a[0])
        np.testing.assert_array_equal(a[1], x[1])
        np.testing.assert_array_equal(a[2], x[2])
    assert not all(np.array_equal(a[0][i], c[0][i]) for i in a[0])


def test_signal_sampling_counts_interpolation_and_clear():
    eng = Engine(dt=0.025, min_delay=0.5)
    rt = FakeRuntime(native_dt=0.5, output_dt=0.1)
    g = eng.add_cell_group(rt, 3, [], i_offset=[0.0, 0.05, 0.1])
    eng.record(g, "v", [1, 2], 0.025)
    eng.record(g, "drive_i_inj", None, 0.2)
    v0, _ = eng.get_signal(g, "v")
    np.testing.assert_allclose(v0, [[rt.v_rest, rt.v_rest]])     # t=0 sample only
    eng.run_until(5.0)
    v, idx = eng.get_signal(g, "v")
    np.testing.assert_array_equal(idx, [1, 2])
    assert v.shape == (201, 2)                                  # round(5/0.025)+1
    assert v[0, 0] == pytest.approx(rt.v_rest)
    # linear interpolation between output-bin ends (every 4th sample is a bin end)
    np.testing.assert_allclose(v[1:4], v[0:1] + (v[4:5] - v[0:1]) * np.array([[.25], [.5], [.75]]),
                               rtol=1e-6)
    d, _ = eng.get_signal(g, "drive_i_inj", clear=True)
    assert d.shape == (26, 3)
    eng.run_until(6.0)
    d2, _ = eng.get_signal(g, "drive_i_inj")
    assert d2.shape == (6, 3)                                   # 5.0, 5.2, ..., 6.0
    np.testing.assert_allclose(d2[1:, 2], 0.1, atol=1e-7)
