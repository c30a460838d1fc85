"""Synaptic conductance traces and Tsodyks-Markram efficacies vs pyNN.neuron."""

import numpy as np
import pytest

from pyNN_surrogate.engine import Engine, ReceptorSpec, TsodyksMarkramSpec
from fake_runtime import FakeRuntime
from neuron_reference import run_gsyn

SPIKES = [[1.0, 2.5, 7.3], [2.5, 4.3, 12.0], [3.0]]
CONNS = [(0, "excitatory", 0.01, 0.1), (1, "excitatory", 0.02, 2.7),
         (2, "excitatory", 0.005, 1.0), (0, "inhibitory", 0.03, 0.3),
         (1, "inhibitory", 0.01, 5.0), (2, "inhibitory", 0.02, 0.1)]
TAU_E, TAU_I = 1.5, 4.0


def engine_gsyn(dt, kernel, spikes, conns, t_stop, synapse=None, min_delay=None):
    eng = Engine(dt=dt, min_delay=min_delay or dt)
    rec = [ReceptorSpec("excitatory", "conductance", kernel, TAU_E, "g_exc"),
           ReceptorSpec("inhibitory", "conductance", kernel, TAU_I, "g_inh")]
    g = eng.add_cell_group(FakeRuntime(), 1, rec)
    s = eng.add_spike_source_group("array", len(spikes),
                                   {"spike_times": [np.array(x) for x in spikes]})
    for r in ("excitatory", "inhibitory"):
        c = [x for x in conns if x[1] == r]
        if c:
            eng.add_projection(s, [x[0] for x in c], g, [0] * len(c), r, [x[2] for x in c],
                               [x[3] for x in c], synapse=synapse)
    eng.record(g, "gsyn_exc")
    eng.record(g, "gsyn_inh")
    eng.run_until(t_stop)
    return eng.get_signal(g, "gsyn_exc")[0][:, 0], eng.get_signal(g, "gsyn_inh")[0][:, 0]


@pytest.mark.parametrize("dt", [0.1, 0.025])
@pytest.mark.parametrize("cell_type,kernel", [("IF_cond_exp", "exp"), ("IF_cond_alpha", "alpha")])
def test_gsyn_matches_neuron(neuron_sim, dt, cell_type, kernel):
    """Static synapses, heterogeneous delays, coincident spikes: traces equal to ~1e-7."""
    ge_ref, gi_ref = run_gsyn(neuron_sim, dt, cell_type, dict(tau_syn_E=TAU_E, tau_syn_I=TAU_I),
                              SPIKES, CONNS, 20.0)
    ge, gi = engine_gsyn(dt, kernel, SPIKES, CONNS, 20.0)
    assert ge.shape == ge_ref.shape == (int(round(20.0 / dt)) + 1,)
    np.testing.assert_allclose(ge, ge_ref, rtol=0, atol=1e-6 * ge_ref.max())
    np.testing.assert_allclose(gi, gi_ref, rtol=0, atol=1e-6 * gi_ref.max())


def test_exp_off_grid_spike_times_match_neuron(neuron_sim):
    """Off-grid spike times are delivered at the nearest dt point, as NEURON does."""
    spikes = [[1.03, 4.33, 6.07], [2.96]]
    conns = [(0, "excitatory", 0.01, 0.5), (1, "excitatory", 0.02, 1.2),
             (1, "inhibitory", 0.01, 0.7)]
    ge_ref, gi_ref = run_gsyn(neuron_sim, 0.1, "IF_cond_exp",
                              dict(tau_syn_E=TAU_E, tau_syn_I=TAU_I), spikes, conns, 10.0)
    ge, gi = engine_gsyn(0.1, "exp", spikes, conns, 10.0)
    np.testing.assert_allclose(ge, ge_ref, rtol=0, atol=1e-6 * ge_ref.max())
    np.testing.assert_allclose(gi, gi_ref, rtol=0, atol=1e-6 * gi_ref.max())


TM_SPIKES = [[5.0, 15.0, 25.0, 30.0, 32.0, 60.0, 61.0, 140.0, 400.0]]


@pytest.mark.parametrize("tm", [dict(U=0.5, tau_rec=800.0, tau_facil=0.0),
                                dict(U=0.04, tau_rec=100.0, tau_facil=1000.0)],
                         ids=["depressing", "facilitating"])
def test_tsodyks_markram_matches_neuron(neuron_sim, tm):
    """Per-spike conductance increments (and the whole trace) equal pyNN.neuron's."""
    dt, w, d = 0.025, 0.01, 1.0
    conns = [(0, "excitatory", w, d)]
    ge_ref, _ = run_gsyn(neuron_sim, dt, "IF_cond_exp", dict(tau_syn_E=TAU_E, tau_syn_I=TAU_I),
                         TM_SPIKES, conns, 420.0, synapse=tm)
    ge, _ = engine_gsyn(dt, "exp", TM_SPIKES, conns, 420.0, synapse=TsodyksMarkramSpec(**tm))
    np.testing.assert_allclose(ge, ge_ref, rtol=0, atol=1e-6 * ge_ref.max())
    # increments: g just after the arrival step minus the decayed value before it
    decay = np.exp(-dt / TAU_E)
    k = np.rint((np.array(TM_SPIKES[0]) + d) / dt).astype(int)
    inc_ref = (ge_ref[k + 1] - ge_ref[k] * decay) / decay
    inc = (ge[k + 1] - ge[k] * decay) / decay
    np.testing.assert_allclose(inc, inc_ref, rtol=1e-5)
    assert inc_ref[0] == pytest.approx(w * tm["U"], rel=1e-6)
    if tm["tau_facil"] == 0:
        assert inc_ref[1] < inc_ref[0]       # depression
    else:
        assert inc_ref[1] > inc_ref[0]       # facilitation


@pytest.mark.parametrize("dt, steps_per_bin", [(0.025, 20), (0.1, 5), (0.5, 1)])
def test_binned_exp_drive_equals_mean_of_per_step_drive(dt, steps_per_bin):
    """The closed-form bin means the surrogate consumes equal the mean of the per-step
    drive, and both banks leave the same trace, over windows with random arrivals and
    per-cell time constants (0.1-20 ms), to float32 precision (the arrivals of a bin are
    weighted in float32)."""
    import torch
    from pyNN_surrogate.engine.synapses import SynapseBank
    rng = np.random.default_rng(0)
    n, K = 40, 3 * steps_per_bin
    tau = rng.uniform(0.1, 20.0, (n, 2))
    per_step = SynapseBank(["exp", "exp"], tau, dt, "cpu")
    binned = SynapseBank(["exp", "exp"], tau, dt, "cpu")
    for _ in range(10):
        arrivals = torch.as_tensor((rng.random((K, n, 2)) < 0.05) * rng.random((K, n, 2)))
        expected = per_step.integrate(arrivals, with_recorded=False)[0]
        expected = expected.view(K // steps_per_bin, steps_per_bin, n, 2).mean(1)
        got = binned.integrate_binned(arrivals, steps_per_bin)
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(binned.g_exp.numpy(), per_step.g_exp.numpy(), rtol=1e-6,
                               atol=1e-12)


def neuron_exp2_g(dt, receptors, events, t_stop):
    """NEURON's own Exp2Syn conductances (uS) of one section, recorded every dt from t=0.

    ``receptors``: {name: (tau_rise, tau)}; ``events``: [(name, t, weight)].
    """
    from neuron import h
    h.load_file("stdrun.hoc")
    soma = h.Section(name="exp2_soma")
    soma.insert("pas")
    syns, vecs, netcons = {}, {}, []
    for name, (tau1, tau2) in receptors.items():
        syn = syns[name] = h.Exp2Syn(soma(0.5))
        syn.tau1, syn.tau2 = tau1, tau2
        vecs[name] = h.Vector().record(syn._ref_g)
    for name, t, w in events:
        nc = h.NetCon(None, syns[name])
        nc.weight[0] = w
        netcons.append((nc, t))
    handler = h.FInitializeHandler(lambda: [nc.event(t) for nc, t in netcons])  # noqa: F841
    h.dt = dt
    h.finitialize(-65.0)
    h.continuerun(t_stop)
    return {name: np.array(v) for name, v in vecs.items()}


@pytest.mark.parametrize("dt", [0.1, 0.025])
def test_exp2_receptors_match_neuron_exp2syn(neuron_sim, dt):
    """Dual-exponential receptors (hnn-core's AMPA/NMDA kinetics) feeding runtime-named
    channels, next to an exp receptor: recorded traces equal NEURON's Exp2Syn g to ~1e-7
    (Exp2Syn's peak normalisation included), and the drive is summed per channel."""
    kinetics = {"tuft.ampa": (0.5, 5.0), "tuft.nmda": (1.0, 20.0)}
    spikes = [[1.0, 2.5, 7.3], [2.5, 4.0]]
    conns = [(0, "tuft.ampa", 0.01, 0.1), (1, "tuft.ampa", 0.02, 2.7),
             (0, "tuft.nmda", 0.004, 1.0), (1, "tuft.nmda", 0.002, 0.1)]

    def build(record_receptors):
        eng = Engine(dt=dt, min_delay=dt)
        channels = ("tuft.ampa", "tuft.nmda", "g_inh")
        rec = [ReceptorSpec(name, "conductance", "exp2", tau, name, tau_rise=rise)
               for name, (rise, tau) in kinetics.items()]
        rec.append(ReceptorSpec("inhibitory", "conductance", "exp", TAU_I, "g_inh"))
        g = eng.add_cell_group(FakeRuntime(channels=channels), 1, rec)
        s = eng.add_spike_source_group("array", 2,
                                       {"spike_times": [np.array(x) for x in spikes]})
        for name in kinetics:
            c = [x for x in conns if x[1] == name]
            eng.add_projection(s, [x[0] for x in c], g, [0] * len(c), name,
                               [x[2] for x in c], [x[3] for x in c])
        eng.add_projection(s, [0], g, [0], "inhibitory", [0.01], [0.3])
        for name in kinetics if record_receptors else ():
            eng.record(g, name)
        eng.record(g, "drive_tuft.ampa")
        eng.run_until(20.0)
        return eng, g

    eng, g = build(record_receptors=True)
    events = [(name, spikes[i][j] + d, w) for i, name, w, d in conns
              for j in range(len(spikes[i]))]
    ref = neuron_exp2_g(dt, kinetics, events, 20.0)
    for name in kinetics:
        got = eng.get_signal(g, name)[0][:, 0]
        assert got.shape == ref[name].shape == (int(round(20.0 / dt)) + 1,)
        assert ref[name].max() > 0
        np.testing.assert_allclose(got, ref[name], rtol=0, atol=1e-6 * ref[name].max())
    # a single isolated event peaks at its weight (Exp2Syn's normalisation)
    assert ref["tuft.ampa"][:int(2.5 / dt)].max() == pytest.approx(0.01, rel=0.02)
    # the closed-form binned drive (nothing recorded) equals the step-by-step one
    drive = eng.get_signal(g, "drive_tuft.ampa")[0][:, 0]
    eng_binned, g_binned = build(record_receptors=False)
    drive_binned = eng_binned.get_signal(g_binned, "drive_tuft.ampa")[0][:, 0]
    assert drive.max() > 0
    np.testing.assert_allclose(drive_binned, drive, rtol=1e-6, atol=1e-12)


def test_exp2_receptor_validation():
    eng = Engine(dt=0.1)
    with pytest.raises(ValueError, match="exp2 kernel needs tau_rise"):
        eng.add_cell_group(FakeRuntime(channels=("a",)), 1,
                           [ReceptorSpec("a", "conductance", "exp2", 5.0, "a")])
    with pytest.raises(ValueError, match="tau_rise must be below tau"):
        eng.add_cell_group(FakeRuntime(channels=("a",)), 1,
                           [ReceptorSpec("a", "conductance", "exp2", 5.0, "a", tau_rise=6.0)])
    with pytest.raises(ValueError, match="tau_rise is only used by the exp2 kernel"):
        eng.add_cell_group(FakeRuntime(channels=("a",)), 1,
                           [ReceptorSpec("a", "conductance", "exp", 5.0, "a", tau_rise=1.0)])
    with pytest.raises(ValueError, match="a current receptor cannot feed channel 'a'"):
        eng.add_cell_group(FakeRuntime(channels=("a", "i_inj")), 1,
                           [ReceptorSpec("x", "current", "exp", 5.0, "a")])
    with pytest.raises(ValueError, match="a conductance receptor cannot feed channel 'i_inj'"):
        eng.add_cell_group(FakeRuntime(channels=("a", "i_inj")), 1,
                           [ReceptorSpec("x", "conductance", "exp", 5.0, "i_inj")])
