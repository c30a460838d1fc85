"""API validation (clear errors, engine unchanged after a failed call), time-step rules,
Tsodyks-Markram paths, O(synapses) memory, and the real surrogate if one is installed."""

import numpy as np
import pytest

from pyNN_surrogate.engine import (Engine, EngineStateError, EngineTypeError, EngineValueError,
                                   InvalidDelayError,
                                   InvalidSpikeTimesError, ReceptorSpec, ShapeMismatchError,
                                   TimeStepError, TsodyksMarkramSpec, UnknownReceptorError,
                                   UnknownVariableError)
from fake_runtime import FakeRuntime

REC = [ReceptorSpec("excitatory", "conductance", "exp", 2.0, "g_exc"),
       ReceptorSpec("inhibitory", "conductance", "alpha", 5.0, "g_inh")]


@pytest.fixture
def net():
    eng = Engine(dt=0.1, min_delay=0.5, max_delay=5.0, seed=1)
    g = eng.add_cell_group(FakeRuntime(), 4, REC)
    s = eng.add_spike_source_group("array", 2, {"spike_times": [[1.0], [2.0]]})
    p = eng.add_projection(s, [0, 1], g, [0, 1], "excitatory", 0.01, 1.0)
    return eng, g, s, p


def test_invalid_inputs_raise_clear_errors_and_change_nothing(net):
    eng, g, s, p = net
    n_proj = len(eng._projections)
    with pytest.raises(InvalidSpikeTimesError, match="not sorted"):
        eng.set_group_param(s, "spike_times", [[2.0, 1.0], [1.0]])
    with pytest.raises(InvalidSpikeTimesError, match="negative"):
        eng.add_spike_source_group("array", 1, {"spike_times": [[-1.0]]})
    with pytest.raises(InvalidDelayError, match="negative delay"):
        eng.add_projection(s, [0], g, [0], "excitatory", 0.01, -1.0)
    with pytest.raises(InvalidDelayError, match="shorter than min_delay"):
        eng.add_projection(s, [0], g, [0], "excitatory", 0.01, 0.3)
    with pytest.raises(UnknownReceptorError, match="no receptor 'AMPA'"):
        eng.add_projection(s, [0], g, [0], "AMPA", 0.01, 1.0)
    with pytest.raises(ShapeMismatchError, match="differ in length"):
        eng.add_projection(s, [0, 1], g, [0], "excitatory", 0.01, 1.0)
    with pytest.raises(ShapeMismatchError, match="weight"):
        eng.add_projection(s, [0, 1], g, [0, 1], "excitatory", [0.01, 0.02, 0.03], 1.0)
    with pytest.raises(UnknownVariableError, match="cannot record 'w'"):
        eng.record(g, "w")
    with pytest.raises(UnknownVariableError, match="cannot record 'v'"):
        eng.record(s, "v")
    with pytest.raises(TimeStepError, match="native_dt"):
        eng.add_cell_group(FakeRuntime(native_dt=0.25, output_dt=0.05), 2, REC)
    with pytest.raises(EngineTypeError, match="ReceptorSpec"):
        eng.add_cell_group(FakeRuntime(), 2, ["excitatory"])
    with pytest.raises(InvalidDelayError, match="negative"):
        eng.set_projection_attribute(p, "delay", [1.0, -2.0])
    assert len(eng._projections) == n_proj and len(eng._groups) == 2
    np.testing.assert_allclose(eng.get_projection_attribute(p, "delay"), 1.0)
    np.testing.assert_array_equal(eng._groups[s].spike_times[0], [1.0])


def test_time_rules(net):
    eng, g, s, p = net
    # no projection leaves a cell group: windows are as long as the caps allow
    assert eng.window == pytest.approx(50.0)
    recurrent = eng.add_projection(g, [0], g, [1], "excitatory", 0.01, 1.2)
    assert eng.window == pytest.approx(1.0)      # shortest recurrent delay, in native steps
    eng.set_projection_attribute(recurrent, "delay", 0.5)
    assert eng.window == pytest.approx(0.5)
    with pytest.raises(TimeStepError, match="not a multiple"):
        eng.run_until(1.2)                       # native step 0.5 ms
    with pytest.raises(TimeStepError, match="multiple of dt"):
        eng.run_until(1.03)
    eng.run_until(1.5)
    assert eng.t == pytest.approx(1.5)
    with pytest.raises(EngineStateError, match="reset"):
        eng.add_cell_group(FakeRuntime(), 2, REC)
    with pytest.raises(InvalidDelayError, match="must be >= dt"):
        Engine(dt=0.1, min_delay=0.05)


def test_surrogate_called_once_per_window(net):
    eng, g, s, p = net
    rt = eng._groups[g].runtime
    eng.add_projection(g, [0], g, [1], "excitatory", 0.01, 0.5)
    eng.run_until(10.0)
    assert rt.calls == 20                       # 10 ms / 0.5 ms windows
    unconnected = Engine(dt=0.1, min_delay=0.5)
    group = unconnected.add_cell_group(FakeRuntime(), 4, REC)
    unconnected.run_until(120.0)
    assert unconnected._groups[group].runtime.calls == 3   # windows of 50, 50 and 20 ms


def test_tm_per_synapse_path_equals_per_presynaptic_path():
    """Heterogeneous U (per-synapse state) gives the same traces as one homogeneous
    projection per U value (per-presynaptic-neuron state)."""
    times = [np.sort(np.random.default_rng(0).uniform(0, 80, 15)).round(1) for _ in range(3)]

    def build(split):
        eng = Engine(dt=0.1, min_delay=0.5)
        g = eng.add_cell_group(FakeRuntime(), 2, REC)
        s = eng.add_spike_source_group("array", 3, {"spike_times": times})
        pre, post = np.array([0, 1, 2, 0]), np.array([0, 0, 1, 1])
        U = np.array([0.1, 0.5, 0.1, 0.5])
        if split:
            for u in (0.1, 0.5):
                m = U == u
                eng.add_projection(s, pre[m], g, post[m], "inhibitory", 0.01, 1.0,
                                   TsodyksMarkramSpec(u, 200.0, 300.0))
        else:
            q = eng.add_projection(s, pre, g, post, "inhibitory", 0.01, 1.0,
                                   TsodyksMarkramSpec(U, 200.0, 300.0))
            assert eng._projections[q].per_synapse
        eng.record(g, "gsyn_inh")
        eng.run_until(100.0)
        return eng.get_signal(g, "gsyn_inh")[0]

    np.testing.assert_allclose(build(False), build(True), rtol=1e-6, atol=1e-12)


def test_current_receptor_feeds_i_inj_with_sign():
    eng = Engine(dt=0.1, min_delay=0.5)
    rec = [ReceptorSpec("exc", "current", "alpha", 2.0, "i_inj"),
           ReceptorSpec("inh", "current", "exp", 3.0, "i_inj")]
    g = eng.add_cell_group(FakeRuntime(), 1, rec)
    s = eng.add_spike_source_group("array", 1, {"spike_times": [[1.0]]})
    eng.add_projection(s, [0], g, [0], "exc", 0.5, 1.0)
    eng.add_projection(s, [0], g, [0], "inh", -1.0, 5.0)
    eng.record(g, "drive_i_inj", None, 0.5)
    eng.run_until(10.0)
    d, _ = eng.get_signal(g, "drive_i_inj")
    assert d[:5, 0].max() == 0 and d[5:12, 0].max() > 0.3 and np.all(d[13:, 0] < 0)


def test_voltage_jump_receptor_feeds_jump_rate_over_the_step():
    """Delta receptors (Izhikevich): each arrival adds weight / dt (mV/ms) to its step, so
    the native-step mean times native_dt is the summed jump, sign included."""
    eng = Engine(dt=0.1, min_delay=0.5)
    rec = [ReceptorSpec("excitatory", "voltage", "delta", 1.0, "v_jump"),
           ReceptorSpec("inhibitory", "voltage", "delta", 1.0, "v_jump")]
    g = eng.add_cell_group(FakeRuntime(channels=("v_jump", "i_inj")), 1, rec)
    s = eng.add_spike_source_group("array", 1, {"spike_times": [[1.0, 1.2, 3.0]]})
    eng.add_projection(s, [0], g, [0], "excitatory", 2.0, 1.0)
    eng.add_projection(s, [0], g, [0], "inhibitory", -0.5, 4.0)
    eng.record(g, "drive_v_jump", None, 0.5)
    eng.run_until(10.0)
    d, _ = eng.get_signal(g, "drive_v_jump")
    jumps = d[:, 0] * 0.5            # native-step mean (sampled at the step's end) x width
    np.testing.assert_allclose(jumps[5], 4.0)     # arrivals at 2.0 and 2.2 ms
    np.testing.assert_allclose(jumps[9], 2.0)     # 4.0 ms
    np.testing.assert_allclose(jumps[11], -1.0)   # 5.0 and 5.2 ms
    np.testing.assert_allclose(jumps[15], -0.5)   # 7.0 ms
    assert np.count_nonzero(jumps) == 4
    eng = Engine(dt=0.1, min_delay=0.5)
    with pytest.raises(EngineValueError, match="delta kernel"):
        eng.add_cell_group(FakeRuntime(), 1, [ReceptorSpec("x", "voltage", "exp", 1.0,
                                                           "v_jump")])
    with pytest.raises(EngineValueError, match="cannot feed channel"):
        eng.add_cell_group(FakeRuntime(), 1, [ReceptorSpec("x", "voltage", "delta", 1.0,
                                                           "i_inj")])


def test_connectivity_memory_is_order_synapses():
    """100k cells x 20 synapses: the routing structure holds O(n_synapses) numbers."""
    n, k = 100_000, 20
    eng = Engine(dt=0.1, min_delay=1.0)
    g = eng.add_cell_group(FakeRuntime(), n, REC)
    rng = np.random.default_rng(1)
    pre = rng.integers(0, n, n * k)
    post = np.repeat(np.arange(n), k)
    p = eng._projections[eng.add_projection(g, pre, g, post, "excitatory", 0.001,
                                            rng.choice([1.0, 1.5, 2.0], n * k))]
    W = p._W
    stored = W.values().numel() + W.col_indices().numel() + W.crow_indices().numel() \
        + p._row_base.numel()
    assert stored < 4 * n * k


def test_with_real_surrogate_if_available():
    surrogates = pytest.importorskip("pyNN_surrogate.surrogates")
    try:
        pkg = surrogates.load_celltype("HH_cond_exp")
    except Exception as exc:     # not trained / installed yet
        pytest.skip("HH_cond_exp surrogate not available: %s" % exc)
    rt = pkg.runtime("cpu")
    for name in ("native_dt", "output_dt", "drive_channels", "recordables"):
        if not hasattr(rt, name):
            setattr(rt, name, getattr(pkg, name))
    eng = Engine(dt=0.1, min_delay=1.0, seed=2)
    g = eng.add_cell_group(rt, 10, REC[:1] + [ReceptorSpec("inhibitory", "conductance", "exp",
                                                           10.0, "g_inh")])
    s = eng.add_spike_source_group("poisson", 50, {"rate": 40.0})
    eng.add_projection(s, np.arange(50), g, np.arange(50) % 10, "excitatory", 0.01, 1.0)
    eng.record(g, "v")
    eng.record(g, "spikes")
    eng.run_until(100.0)
    v, _ = eng.get_signal(g, "v")
    assert v.shape == (1001, 10) and np.all(np.isfinite(v))
    assert v[0, 0] == pytest.approx(rt.v_rest)


def test_tsodyks_markram_event_paths_agree():
    """The CPU path (spiking units only) equals the device path (all units, all slots)."""
    import torch

    from pyNN_surrogate.engine.tsodyks_markram import TsodyksMarkramState

    rng = np.random.default_rng(3)
    n, K = 40, 12
    params = (rng.uniform(0.05, 0.6, n), rng.uniform(20, 500, n),
              np.where(rng.random(n) < 0.5, 0.0, rng.uniform(50, 900, n)),
              np.full(n, 3.0))
    spikes = [torch.as_tensor(rng.poisson(0.15, (n, K)), dtype=torch.float32)
              for _ in range(6)]
    results = []
    for select in (True, False):
        tm = TsodyksMarkramState(*params, dt=0.1, device="cpu")
        tm.select_spiking_units = select
        results.append(torch.cat([tm.efficacies(s, step0=w * K) for w, s in enumerate(spikes)],
                                 1))
    assert torch.count_nonzero(results[0]) > 20
    assert torch.allclose(results[0], results[1], rtol=1e-6, atol=0)
