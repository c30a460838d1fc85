"""Tests of the training side: metrics, ground truth, end-to-end training, shipped accuracy."""

import numpy as np
import pytest

from pyNN_surrogate.training.metrics import (bins_to_times, hamming_smooth, match_spikes,
                                             rate_mae, spike_scores, v_scores)

# --- metrics on synthetic spike trains with known answers -----------------------------


def test_match_spikes_known_answers():
    assert match_spikes([10.0, 20.0, 30.0], [10.5, 21.9, 40.0], 2.0) == 2
    assert match_spikes([10.0, 20.0], [10.0, 10.1, 10.2], 2.0) == 1      # one-to-one
    assert match_spikes([10.0, 11.0], [10.5], 2.0) == 1
    assert match_spikes([10.0, 11.0], [9.0, 12.0], 1.0) == 2              # not greedy-wrong
    assert match_spikes([10.0], [12.0], 2.0) == 1                        # tolerance inclusive
    assert match_spikes([10.0], [12.01], 2.0) == 0
    assert match_spikes([], [1.0], 2.0) == 0
    assert match_spikes([5.0, 1.0], [1.5, 4.0], 1.0) == 2                 # unsorted input


def test_match_spikes_is_maximal_on_random_trains():
    """Compare with a brute-force maximum matching (augmenting paths) on random trains."""
    rng = np.random.default_rng(0)
    for _ in range(30):
        t = np.sort(rng.uniform(0, 50, rng.integers(0, 8)))
        p = np.sort(rng.uniform(0, 50, rng.integers(0, 8)))
        assert match_spikes(t, p, 3.0) == _max_matching(t, p, 3.0)


def _max_matching(t, p, tol):
    match = {}

    def augment(i, seen):
        for j in range(len(p)):
            if abs(t[i] - p[j]) <= tol and j not in seen:
                seen.add(j)
                if j not in match or augment(match[j], seen):
                    match[j] = i
                    return True
        return False
    return sum(augment(i, set()) for i in range(len(t)))


def test_spike_scores_known_answers():
    true = [np.array([10.0, 20.0, 30.0, 40.0]), np.array([])]
    pred = [np.array([11.0, 25.0, 30.5]), np.array([5.0])]
    s = spike_scores(true, pred, 2.0)
    assert s["n_matched"] == 2 and s["n_true"] == 4 and s["n_pred"] == 4
    assert s["precision"] == pytest.approx(0.5) and s["recall"] == pytest.approx(0.5)
    assert s["f1"] == pytest.approx(0.5)
    s10 = spike_scores(true, pred, 10.0)
    assert s10["n_matched"] == 3 and s10["f1"] == pytest.approx(0.75)
    empty = spike_scores([np.array([])], [np.array([])], 2.0)
    assert empty["precision"] == empty["recall"] == empty["f1"] == 1.0


def test_rate_and_v_metrics():
    true = [np.arange(10.0), np.array([])]
    pred = [np.arange(8.0), np.array([1.0, 2.0])]
    assert rate_mae(true, pred, 1000.0) == pytest.approx(2.0)   # (2 + 2) / 2 spikes per s
    a = np.sin(np.linspace(0, 10, 200)) * 10 - 60
    assert v_scores(a, a)["r"] == pytest.approx(1.0)
    assert v_scores(a, a + 1.0)["r"] == pytest.approx(1.0)
    assert v_scores(a, a + 1.0)["variance_explained"] == pytest.approx(1 - 1 / a.var())
    spiky, flat = np.array([-65.0, 30.0, -65.0, -60.0]), np.array([-65.0, -40.0, -65, -60])
    assert v_scores(spiky, flat, clip=-40.0)["r"] == pytest.approx(1.0)
    assert v_scores(spiky, flat)["r"] < 1.0
    assert [list(t) for t in bins_to_times(np.array([[0, 1, 0, 1]]), 0.1)] == \
        [pytest.approx([0.15, 0.35])]


def test_hamming_smoothing_keeps_area_and_mean_and_removes_fast_transients():
    """hnn-core's dipole smoothing: a normalised Hamming window, output as long as the input."""
    dt = 0.1
    slow = 10.0 * np.sin(np.linspace(0, 2 * np.pi, 4000))   # 400 ms period
    spiky = slow.copy()
    spiky[1000:1005] += 50.0                                 # a 0.5 ms transient
    out = hamming_smooth(np.stack([spiky, np.full(4000, 3.0)]), 30.0, dt)
    assert out.shape == (2, 4000)
    np.testing.assert_allclose(out[1, 200:-200], 3.0)       # the window sums to one
    transient = out[0] - hamming_smooth(slow, 30.0, dt)[0]
    assert transient.sum() == pytest.approx(250.0, rel=1e-6)   # its area is kept
    assert np.abs(out[0, 1000:1005] - slow[1000:1005]).max() < 2.0   # 50 -> about 1.5
    assert v_scores(slow[300:-300], out[0, 300:-300])["r"] > 0.99 > v_scores(slow, spiky)["r"]
    with pytest.raises(ValueError, match="window_ms and dt must be > 0"):
        hamming_smooth(slow, 0.0, dt)


# --- ground truth and end-to-end training (NEURON) --------------------------------------


def test_groundtruth_resampling_follows_time_contract():
    from pyNN_surrogate.training.groundtruth import GroundTruthConfig, resample
    cfg = GroundTruthConfig(duration=1.0, dt=0.025, native_dt=0.5, output_dt=0.1)
    t = np.arange(41) * 0.025
    raw = dict(v=t[None] * 10, g_exc=t[None], g_inh=np.zeros((1, 41)), i_inj=np.ones((1, 41)),
               spikes=[np.array([0.05, 0.55])])
    d = resample(cfg, raw, ("g_exc", "g_inh", "i_inj"))
    # without per-trial taus: drive of step n = mean of the dt samples inside the step
    assert d["drive"][0, :, 0] == pytest.approx([np.mean(t[:20]), np.mean(t[20:40])])
    assert d["v"][0] == pytest.approx(10 * 0.1 * np.arange(1, 11))     # v at bin ends
    assert np.flatnonzero(d["spike_bins"][0]).tolist() == [0, 5]


def test_groundtruth_drive_follows_engine_convention():
    """Exp synapses: drive[k] = g(t_k+) = recorded[k+1] * exp(dt/tau) (pyNN.neuron records
    g(t_k-)); bins of drive_dt; currents as recorded at t_k."""
    from pyNN_surrogate.training.groundtruth import GroundTruthConfig, resample
    dt, tau = 0.025, 0.2
    cfg = GroundTruthConfig(duration=1.0, dt=dt, native_dt=0.5, output_dt=0.1, drive_dt=0.1)
    # one arrival of weight 1 at t = 0.1 (k = 4): g(t_k+) = exp(-(t_k - 0.1)/tau) for k >= 4
    k = np.arange(41)
    g_plus = np.where(k >= 4, np.exp(-(k - 4) * dt / tau), 0.0)
    recorded = np.concatenate([[0.0], g_plus[:-1] * np.exp(-dt / tau)])   # g(t_k-)
    i_inj = np.where(k * dt >= 0.3 - 1e-9, 0.5, 0.0)
    raw = dict(v=np.zeros((1, 41)), g_exc=recorded[None], g_inh=np.zeros((1, 41)),
               i_inj=i_inj[None], spikes=[np.zeros(0)], tau_e=np.array([tau]),
               tau_i=np.array([2.0]))
    d = resample(cfg, raw, ("g_exc", "g_inh", "i_inj"))
    assert d["drive"].shape == (1, 10, 3)
    expected = g_plus[:40].reshape(10, 4).mean(-1)
    np.testing.assert_allclose(d["drive"][0, :, 0], expected, rtol=1e-6)
    assert d["drive"][0, 0, 0] == 0 and d["drive"][0, 1, 0] > 0.5   # arrival in bin 1
    np.testing.assert_allclose(d["drive"][0, :, 2], [0, 0, 0, .5, .5, .5, .5, .5, .5, .5])



def test_alpha_groundtruth_drive_is_neurons_midpoint_alpha():
    """IF_cond_alpha ground truth (pyNN.neuron): the exact drive of step k is the alpha
    kernel at the step midpoint t_k + dt/2, from each input's exact (off-grid) time."""
    from pyNN_surrogate.training.groundtruth import (GroundTruthConfig, draw_trials,
                                                     exact_drive, simulate)
    cfg = GroundTruthConfig(celltype="IF_cond_alpha", n_trials=3, duration=150.0, seed=3)
    trials = draw_trials(cfg)
    raw = simulate(cfg, trials)
    drive = exact_drive(cfg, raw, "g_exc")
    mid = (np.arange(drive.shape[1]) + 0.5) * cfg.dt
    checked = 0
    for i, trial in enumerate(trials):
        x = (mid[:, None] - np.asarray(trial["exc"])[None, :]) / raw["tau_e"][i]
        live = (x > 0) & (x <= 20.0)            # AlphaSyn drops an event 20 tau after onset
        expected = abs(trial["w_e"]) * np.where(live, x * np.exp(1 - np.maximum(x, 0)),
                                                0).sum(1)
        np.testing.assert_allclose(drive[i], expected, rtol=1e-6,
                                   atol=1e-9 * max(expected.max(), 1e-12))
        checked += len(trial["exc"])
    assert checked > 0


def test_current_synapse_traces_are_exact_exponentials():
    from pyNN_surrogate.training.groundtruth import _current_synapses
    dt, tau_e, tau_i = 0.025, 2.0, 5.0
    t_grid = np.arange(400) * dt
    trial = dict(exc=np.array([1.0, 1.0, 3.0]), inh=np.array([2.0]), w_e=0.5, w_i=-0.3)
    out = _current_synapses([trial], [tau_e], [tau_i], t_grid, 0.1)[0]
    expected = np.zeros_like(t_grid)
    for t0, w, tau in ((1.0, 0.5, tau_e), (1.0, 0.5, tau_e), (3.0, 0.5, tau_e),
                       (2.0, -0.3, tau_i)):
        expected += np.where(t_grid >= t0 - 1e-9, w * np.exp(-(t_grid - t0) / tau), 0.0)
    np.testing.assert_allclose(out, expected, atol=1e-12)


def test_alpha_current_drive_equals_neurons_alphaisyn():
    """The alpha synaptic currents of the ground truth equal the currents pyNN.neuron's
    AlphaISyn applies (recorded from the point processes), inhibition with its sign."""
    import pyNN.neuron as sim
    from neuron import h
    from pyNN.parameters import Sequence
    from pyNN_surrogate.training.groundtruth import _current_synapses

    dt, settle, delay, n = 0.025, 20.0, 0.1, 2400
    trial = dict(exc=np.array([5.0, 5.013, 17.31]), inh=np.array([9.47, 30.0]),
                 w_e=0.7, w_i=-0.4)
    sim.setup(timestep=dt, min_delay=delay)
    pop = sim.Population(1, sim.IF_curr_alpha(tau_syn_E=1.3, tau_syn_I=2.1, v_thresh=100.0))
    vectors = []
    for name, receptor, syn in (("exc", "excitatory", "esyn"), ("inh", "inhibitory", "isyn")):
        src = sim.Population(1, sim.SpikeSourceArray(
            spike_times=[Sequence(trial[name] + settle - delay)]))
        weight = trial["w_e" if name == "exc" else "w_i"]
        sim.Projection(src, pop, sim.FromListConnector([(0, 0, weight, delay)]),
                       sim.StaticSynapse(), receptor_type=receptor)
        vectors.append(h.Vector().record(getattr(pop[0]._cell, syn)._ref_i))
    sim.run(settle + n * dt + 1.0)
    sim.end()
    k0 = int(round(settle / dt))
    # NEURON's i is outward; the value applied during step k is recorded at t_{k+1}
    applied = -sum(np.array(v) for v in vectors)[k0 + 1:k0 + 1 + n]
    ours = _current_synapses([trial], [1.3], [2.1], np.arange(n) * dt, delay, "alpha")[0]
    np.testing.assert_allclose(ours, applied, atol=1e-6)    # event times to ~1e-12 ms
    assert applied.min() < -0.1 and applied.max() > 0.1


def test_current_cell_ground_truth_keeps_inhibition_inhibitory():
    """Inhibitory-only input hyperpolarises the NEURON cell and gives a negative drive."""
    from pyNN_surrogate.training.groundtruth import GroundTruthConfig, simulate
    cfg = GroundTruthConfig(celltype="IF_curr_exp", n_trials=1, duration=50.0, settle=20.0)
    trial = dict(family="sub", tau_e=None, tau_i=None, w_e=0.5, w_i=-0.5, params={},
                 exc=np.zeros(0), inh=np.array([10.0, 12.0]), current=None)
    raw = simulate(cfg, [trial])
    assert raw["v"][0].min() < -66.0 and raw["v"][0].max() <= -65.0 + 1e-9
    assert raw["i_inj"][0].min() < -0.5 and raw["i_inj"][0].max() == 0.0


def test_voltage_jump_drive_carries_every_weight():
    """Izhikevich ground truth: the v_jump drive (mV/ms) integrates to the summed weights."""
    from pyNN_surrogate.training.celltypes import get_cell_spec
    from pyNN_surrogate.training.groundtruth import (GroundTruthConfig, draw_trials, resample,
                                                     simulate)
    cfg = GroundTruthConfig(celltype="Izhikevich", n_trials=6, duration=300.0, seed=3,
                            settle=50.0)
    trials = draw_trials(cfg)
    data = resample(cfg, simulate(cfg, trials), get_cell_spec("Izhikevich").drive_channels)
    assert data["drive"].shape[-1] == 2
    for k, t in enumerate(trials):
        end = cfg.duration - cfg.dt / 2           # arrivals on the grid before the end
        expected = t["w_e"] * np.sum(t["exc"] < end) + t["w_i"] * np.sum(t["inh"] < end)
        np.testing.assert_allclose(data["drive"][k, :, 0].sum() * cfg.native_dt, expected,
                                   rtol=1e-5, atol=1e-4)
    assert np.all(data["v"][:, :10] == pytest.approx(-70.0, abs=1e-3))   # starts at rest
    # the recovery variable u is recorded as an auxiliary output, sampled like v
    from pyNN_surrogate.training.groundtruth import extra_outputs
    u = extra_outputs(data)["u"]
    assert u.shape == data["v"].shape
    assert np.all(u[:, :10] == pytest.approx(0.2 * -70.0, abs=1e-3))     # u = b v at rest


def test_adaptation_current_is_an_auxiliary_output():
    """EIF_cond_exp_isfa_ista ground truth records the adaptation current w (nA): zero at
    rest, raised by b = 0.0805 nA at every spike, sampled at the ends of the output bins."""
    from pyNN_surrogate.training.celltypes import get_cell_spec
    from pyNN_surrogate.training.groundtruth import (GroundTruthConfig, draw_trials,
                                                     extra_outputs, resample, simulate)
    cfg = GroundTruthConfig(celltype="EIF_cond_exp_isfa_ista", n_trials=6, duration=300.0,
                            seed=4, settle=50.0, p_current_only=1.0)
    trials = draw_trials(cfg)
    raw = simulate(cfg, trials)
    data = resample(cfg, raw, get_cell_spec("EIF_cond_exp_isfa_ista").drive_channels)
    w = extra_outputs(data)["w"]
    assert w.shape == data["v"].shape
    np.testing.assert_array_equal(w[:, 3], raw["w"][:, 16].astype(np.float32))  # end of bin 3
    assert np.abs(w[:, :5]).max() < 1e-6                                  # rest: w = 0
    fired = [k for k in range(6) if data["spike_counts"][k] > 0]
    assert fired
    for k in fired:
        first = int(np.floor(raw["spikes"][k][0] / 0.1))
        assert w[k, first + 2] - w[k, first - 1] == pytest.approx(0.0805, abs=0.01)


def test_alpha_weights_carry_the_charge_of_an_exponential_psp():
    """Alpha kernels carry e * tau * w of charge, so their weights are e times smaller."""
    from pyNN_surrogate.training.celltypes import get_cell_spec
    from pyNN_surrogate.training.groundtruth import excitatory_weight, kernel_area
    exp_cell, alpha_cell = get_cell_spec("IF_cond_exp"), get_cell_spec("IF_cond_alpha")
    assert kernel_area(alpha_cell, 2.0) == pytest.approx(np.e * 2.0)
    assert excitatory_weight(alpha_cell, 1.0, 2.0) * np.e == pytest.approx(
        excitatory_weight(exp_cell, 1.0, 2.0))
    assert excitatory_weight(get_cell_spec("Izhikevich"), 1.5, 1.0) == pytest.approx(1.5)


def test_groundtruth_chunks_do_not_change_the_data():
    """Trials simulated in several NEURON processes give exactly the one-process data."""
    from pyNN_surrogate.training.groundtruth import GroundTruthConfig, generate
    cfg = GroundTruthConfig(n_trials=5, duration=200.0, seed=5, settle=50.0)
    whole = generate(cfg, cache_dir=False, verbose=False, chunk_trials=5)
    chunked = generate(cfg, cache_dir=False, verbose=False, chunk_trials=2, workers=2)
    assert whole["spike_counts"].sum() > 0
    for key in ("drive", "v", "spike_bins", "spike_times", "spike_counts", "family"):
        np.testing.assert_array_equal(whole[key], chunked[key], err_msg=key)
    with pytest.raises(ValueError, match="chunk_trials and workers"):
        generate(cfg, cache_dir=False, verbose=False, chunk_trials=0)

@pytest.fixture(scope="module")
def tiny_package(tmp_path_factory):
    from pyNN_surrogate.train import main
    out = tmp_path_factory.mktemp("pkgs")
    return main(["HH_cond_exp", "--trials", "12", "--duration", "300", "--steps", "6",
                 "--eval-every", "3", "--batch", "4", "--hidden", "8", "--drive-dt", "0.1",
                 "--ema", "0.5", "--conv-channels", "12",
                 "--out", str(out),
                 "--cache-dir", str(out / "cache"), "--stability-ms", "200", "--no-fi",
                 "--quiet"])


def test_warm_start_fine_tunes_a_package_for_other_parameters(tiny_package, tmp_path):
    """--init-from: a surrogate for gbar_Na=25 starts from the tiny package's weights, keeps
    its network shape and normalisation, and records where it started; a package of another
    shape of data is refused with the reason."""
    import json

    import torch
    from pyNN_surrogate.train import main
    from pyNN_surrogate.training.celltypes import get_cell_spec
    from pyNN_surrogate.training.groundtruth import GroundTruthConfig
    from pyNN_surrogate.training.warm_start import load_warm_start

    base = json.loads((tiny_package / "card.json").read_text())
    init, shape = load_warm_start(tiny_package, get_cell_spec("HH_cond_exp"),
                                  GroundTruthConfig(drive_dt=0.1))
    assert shape == dict(conv_channels=12, kernel=3, hidden=8, feedback=False)
    weights = torch.load(tiny_package / "weights.pt", weights_only=True)
    assert all(torch.equal(init["state_dict"][k], weights[k]) for k in weights)
    with pytest.raises(ValueError, match="drive_dt is 0.1.*0.5"):
        load_warm_start(tiny_package, get_cell_spec("HH_cond_exp"), GroundTruthConfig())

    out = main(["HH_cond_exp", "--param", "gbar_Na=25", "--init-from", str(tiny_package),
                "--trials", "12", "--duration", "300", "--steps", "2", "--eval-every", "2",
                "--batch", "4", "--drive-dt", "0.1", "--lr", "1e-9", "--warmup", "1",
                "--out", str(tmp_path), "--cache-dir", str(tmp_path / "cache"),
                "--stability-ms", "200", "--no-fi", "--quiet"])
    card = json.loads((out / "card.json").read_text())
    assert card["training"]["initialised_from"]["sha256"] == base["weights"]["sha256"]
    assert card["model"]["hidden"] == 8 and card["domain"]["gbar_Na"]["value"] == 25.0
    assert card["drive_channels"] == base["drive_channels"]              # same scales
    assert card["outputs"]["v"]["offset"] == base["outputs"]["v"]["offset"]
    tuned = torch.load(out / "weights.pt", weights_only=True)
    for k in weights:                      # two steps at lr 1e-9: essentially the start
        torch.testing.assert_close(tuned[k], weights[k], rtol=0, atol=1e-5)


def test_an_unconditioned_package_starts_a_conditioned_network_unchanged():
    """Zero weights for the new conditioning inputs: the padded network computes exactly what
    the unconditioned one does, whatever the conditions, and keeps its feedback inputs."""
    import torch
    from pyNN_surrogate.surrogates.model import SurrogateNet
    from pyNN_surrogate.training.loop import with_conditions
    from pyNN_surrogate.training.warm_start import with_condition_inputs

    torch.manual_seed(3)
    n_drive, n_conditions, substeps = 3, 4, 5
    plain = SurrogateNet(n_drive, substeps, hidden=8, feedback=True)
    conditioned = SurrogateNet(n_drive + n_conditions, substeps, hidden=8, feedback=True)
    conditioned.load_state_dict(with_condition_inputs(plain.state_dict(), n_drive,
                                                      n_conditions))
    drive = torch.randn(6, 40, n_drive)                      # [trials, steps, features]
    fed = (torch.rand(6, 40, substeps) < 0.1).float()
    x_plain = torch.cat([drive, fed], dim=-1).transpose(0, 1)
    x_cond = torch.cat([with_conditions(drive, torch.randn(6, n_conditions).numpy()), fed],
                       dim=-1).transpose(0, 1)
    with torch.no_grad():
        v0, l0, _ = plain(x_plain, plain.zero_state(6))
        v1, l1, _ = conditioned(x_cond, conditioned.zero_state(6))
    torch.testing.assert_close(v1, v0)
    torch.testing.assert_close(l1, l0)
    assert not torch.equal(conditioned.conv.weight[:, n_drive + n_conditions:],
                           torch.zeros_like(conditioned.conv.weight[:, n_drive + n_conditions:]))


def test_tiny_training_writes_loadable_package(tiny_package):
    from pyNN_surrogate.surrogates import load_celltype
    pkg = load_celltype(tiny_package)
    card = pkg.card
    assert pkg.name == "HH_cond_exp" and pkg.substeps == 5
    assert pkg.drive_channels == ("g_exc", "g_inh", "i_inj")
    assert card["domain"]["tau_syn_E"]["kind"] == "range"
    assert card["domain"]["tau_syn_E"]["min"] <= 0.2 <= card["domain"]["tau_syn_E"]["max"]
    assert card["drive_dt"] == pytest.approx(0.1) and pkg.drive_dt == pytest.approx(0.1)
    assert card["domain"]["gbar_Na"] == dict(kind="fixed", value=20.0, rtol=1e-3)
    assert card["domain"]["i_offset"]["kind"] == "range"
    assert card["ground_truth"]["versions"]["NEURON"]
    for key in ("spikes_2ms", "spikes_10ms", "rate_mae_hz", "v", "v_clipped"):
        assert key in card["evaluation"]["test"]
    assert card["training"]["seed"] == 0
    assert card["training"]["hyperparameters"]["ema"] == 0.5
    assert card["model"]["n_inputs"] == 15          # 5 drive bins x 3 channels per step
    rt = pkg.runtime("cpu")
    assert np.isfinite(rt.v_rest) and rt.drive_per_step == 5
    assert card["evaluation"]["regression"]["seed"] == 12345
    assert card["evaluation"]["speed"]["us_per_cell_per_ms"] > 0


def test_tiny_training_with_spike_traces_streams_like_one_run(tiny_package, tmp_path):
    """A feedback surrogate with spike traces trains end to end, its card records the traces,
    and the runtime run in two halves (carrying the fed-back traces) equals one run."""
    import torch
    from pyNN_surrogate.surrogates import load_celltype
    from pyNN_surrogate.train import main
    out = main(["HH_cond_exp", "--trials", "12", "--duration", "300", "--steps", "4",
                "--eval-every", "2", "--batch", "4", "--hidden", "8", "--drive-dt", "0.1",
                "--feedback", "--spike-traces", "10", "100", "--out", str(tmp_path),
                "--cache-dir", str(tiny_package.parent / "cache"), "--stability-ms", "200",
                "--no-fi", "--quiet"])
    pkg = load_celltype(out)
    assert pkg.card["model"]["spike_traces"] == [10.0, 100.0]
    assert pkg.card["training"]["hyperparameters"]["spike_traces"] == [10.0, 100.0]
    rt = pkg.runtime("cpu")
    rt.threshold = -1e3                      # spike whenever allowed: the traces move
    drive = torch.rand(400, 3, len(pkg.drive_channels))
    whole, spikes, _ = rt.run(drive, rt.initial_state(3))
    first, s1, state = rt.run(drive[:170], rt.initial_state(3))
    second, s2, _ = rt.run(drive[170:], state)
    assert spikes.any()
    assert torch.equal(torch.cat([s1, s2]), spikes)
    torch.testing.assert_close(torch.cat([first["v"], second["v"]]), whole["v"])
    with pytest.raises(SystemExit, match="needs --feedback"):
        main(["HH_cond_exp", "--spike-traces", "10", "--out", str(tmp_path)])


# --- the shipped HH_cond_exp package meets its card on fresh held-out trials ------------


def _shipped_celltypes():
    """The shipped point-cell packages (the detailed ones: tests/test_detailed_agreement.py)."""
    from pyNN_surrogate.surrogates import available_celltypes
    from pyNN_surrogate.surrogates.layouts import LAYOUTS
    return sorted(name for name in available_celltypes() if name not in LAYOUTS)


@pytest.mark.parametrize("celltype", _shipped_celltypes())
def test_shipped_celltype_meets_card(celltype):
    """Re-simulate the card's seeded regression trials and compare tightly.

    The trials (40 x 2 s, generator seed in the card) are deterministic, so the surrogate's
    numbers can only move by float rounding: a changed runtime, engine convention, ground
    truth generator or weights shows up here. The held-out test numbers are checked against
    the same trials more loosely (sampling spread of 40 trials).
    """
    from pyNN_surrogate.surrogates import load_celltype
    from pyNN_surrogate.training.celltypes import get_cell_spec
    from pyNN_surrogate.training.evaluation import reference_cell_config, regression_check
    from pyNN_surrogate.training.groundtruth import GroundTruthConfig

    pkg = load_celltype(celltype)
    ev = pkg.card["evaluation"]
    ref, test = ev["regression"], ev["test"]
    cfg = reference_cell_config(GroundTruthConfig(**pkg.card["ground_truth"]["config"]))
    res = regression_check(pkg.runtime("cpu"), cfg, get_cell_spec(cfg.celltype),
                           n_trials=ref["n_trials"], seed=ref["seed"])
    assert res["spikes_2ms"]["n_true"] == ref["spikes_2ms"]["n_true"]   # same ground truth
    assert abs(res["spikes_2ms"]["n_pred"] - ref["spikes_2ms"]["n_pred"]) <= 3
    assert res["spikes_2ms"]["f1"] == pytest.approx(ref["spikes_2ms"]["f1"], abs=0.005)
    assert res["spikes_10ms"]["f1"] == pytest.approx(ref["spikes_10ms"]["f1"], abs=0.005)
    assert res["rate_mae_hz"] == pytest.approx(ref["rate_mae_hz"], abs=0.05)
    assert res["v_clipped"]["r"] == pytest.approx(ref["v_clipped"]["r"], abs=0.002)
    assert res["v"]["r"] == pytest.approx(ref["v"]["r"], abs=0.002)
    # and the fresh trials agree with the held-out test numbers of the card: each test F1
    # is within a fixed margin of the fresh one, or at most the 99% bootstrap quantile over
    # the fresh trials (one trial with many spikes can carry a 40-trial score)
    for key, margin in (("spikes_2ms", 0.05), ("spikes_10ms", 0.04)):
        upper = max(res[key]["f1"] + margin, res[key]["f1_trial_spread"][1])
        assert test[key]["f1"] <= upper, (key, test[key]["f1"], res[key])
    assert res["v_clipped"]["r"] >= test["v_clipped"]["r"] - 0.05
    assert res["rate_mae_hz"] <= test["rate_mae_hz"] + 1.5


def test_f1_trial_spread_brackets_the_pooled_f1_and_widens_with_an_outlier_trial():
    from pyNN_surrogate.training.metrics import f1_trial_spread
    true = [np.arange(10.0, 1000.0, 100.0) for _ in range(20)]
    pred = [t + 0.5 for t in true]                                   # every spike matched
    assert f1_trial_spread(true, pred, 2.0) == [1.0, 1.0]
    true.append(np.arange(5.0, 1000.0, 5.0))                          # 199 spikes, all missed
    pred.append(np.array([]))
    pooled = spike_scores(true, pred, 2.0)["f1"]
    low, high = f1_trial_spread(true, pred, 2.0)
    assert low < pooled < high
    assert high == pytest.approx(1.0)                                 # draws without it
    assert low < 0.5                                        # draws holding it several times


def test_epoch_trials_repeat_only_the_trials_without_injected_current():
    from pyNN_surrogate.training.loop import epoch_trials
    has_current = np.array([True, False, True, False, False, True])
    train_idx = np.array([0, 1, 2, 3, 5])
    pool = epoch_trials(train_idx, has_current, synaptic_only_repeats=3)
    counts = {i: int(np.sum(pool == i)) for i in range(6)}
    assert counts == {0: 1, 1: 3, 2: 1, 3: 3, 4: 0, 5: 1}       # trial 4 is not a train trial
    np.testing.assert_array_equal(epoch_trials(train_idx, has_current), train_idx)
    np.testing.assert_array_equal(epoch_trials(train_idx, None, 3), train_idx)
    with pytest.raises(ValueError, match="synaptic_only_repeats must be >= 1"):
        epoch_trials(train_idx, has_current, 0)


def test_train_cli_refuses_a_synaptic_only_repeat_below_one(tmp_path):
    from pyNN_surrogate.train import main
    with pytest.raises(SystemExit, match="--synaptic-only-repeats must be >= 1"):
        main(["HH_cond_exp", "--synaptic-only-repeats", "0", "--out", str(tmp_path)])


def test_train_cli_refuses_a_convolution_without_channels(tmp_path):
    """A zero-width convolution is refused before any ground truth is simulated."""
    from pyNN_surrogate.train import main
    with pytest.raises(SystemExit, match="--conv-channels must be >= 1, got 0"):
        main(["HH_cond_exp", "--conv-channels", "0", "--out", str(tmp_path)])


def test_current_only_trials_have_a_current_and_no_synaptic_input():
    from pyNN_surrogate.training.groundtruth import GroundTruthConfig, draw_trials
    trials = draw_trials(GroundTruthConfig(n_trials=40, duration=500.0, p_current_only=0.5))
    only = [t for t in trials if len(t["exc"]) == 0 and len(t["inh"]) == 0
            and t["current"] is not None]
    assert 10 <= len(only) <= 30
    default = draw_trials(GroundTruthConfig(n_trials=5, duration=500.0))
    unchanged = draw_trials(GroundTruthConfig(n_trials=5, duration=500.0, p_current_only=0.0))
    assert all(np.array_equal(a["exc"], b["exc"]) for a, b in zip(default, unchanged))


def test_window_spike_loss_is_tolerant_to_timing_within_a_window():
    import torch
    from pyNN_surrogate.training.loop import window_spike_loss
    spikes = torch.zeros(8, 1, 5)
    spikes[1, 0, 2] = 1.0                                   # one spike in the first window
    early = torch.full((8, 1, 5), -10.0)
    early[0, 0, 4] = 10.0                                   # predicted one step early
    late = torch.full((8, 1, 5), -10.0)
    late[5, 0, 0] = 10.0                                    # predicted in the wrong window
    assert window_spike_loss(early, spikes, 4) < 1e-3
    assert window_spike_loss(late, spikes, 4) > 4.0
    odd = window_spike_loss(early[:7], spikes[:7], 4)      # a partial last window counts
    assert torch.isfinite(odd) and odd < 1e-3


def test_clipped_v_loss_ignores_spike_peaks_and_keeps_the_extra_outputs_weight():
    import torch
    from pyNN_surrogate.training.loop import AnalogLoss
    torch.manual_seed(0)
    s, clip = 5, 1.0
    target = torch.rand(6, 2, 2 * s) * 0.5             # v bins, then one extra output's bins
    pred = target + 0.1 * torch.randn_like(target)
    plain = torch.nn.HuberLoss(delta=100.0)(pred, target)
    # below the clip level, clipping changes nothing: the loss is the plain one
    assert torch.isclose(AnalogLoss(100.0, s, 0.9, clip)(pred, target), plain)
    assert torch.isclose(AnalogLoss(100.0, s, 0.0, clip)(pred, target), plain)
    # a spike peak of the wrong height costs nothing in the clipped part ...
    peak_true, peak_pred = target.clone(), target.clone()
    peak_true[2, 0, 1], peak_pred[2, 0, 1] = 5.0, 3.0
    assert AnalogLoss(100.0, s, 1.0, clip)(peak_pred, peak_true) == 0.0
    full = torch.nn.HuberLoss(delta=100.0)(peak_pred, peak_true)
    assert torch.isclose(AnalogLoss(100.0, s, 0.5, clip)(peak_pred, peak_true), 0.5 * full)
    # ... and a mistimed one costs only its part below the clip level
    late = target.clone()
    late[3, 0, 1] = 5.0
    clipped = AnalogLoss(100.0, s, 1.0, clip)(late, peak_true)
    assert 0.0 < clipped < 0.1 * torch.nn.HuberLoss(delta=100.0)(late, peak_true)
    with pytest.raises(ValueError, match="clipped_weight must be in"):
        AnalogLoss(100.0, s, 1.5, clip)


def test_training_learns_extra_analog_outputs():
    """With ``extra`` outputs in the data (as a detailed cell's dipole and Ca), the trained
    network gets one more read-out block each, their normalisation is fitted on the training
    trials (Ca as its logarithm), and it learns them (the dipole's error falls well below that
    of the untrained network)."""
    import torch
    from pyNN_surrogate.training.loop import TrainConfig, predict, normalise, train

    rng = np.random.default_rng(0)
    n, n_steps, substeps = 32, 60, 5
    drive = rng.uniform(0, 0.02, size=(n, n_steps, 3))
    drive[..., 2] = 0.0
    level = np.repeat(drive[..., 0] / 0.02, substeps, axis=1)           # [n, n_bins]
    v = -65.0 + 5.0 * level
    dipole = 40.0 * level - 10.0
    data = dict(drive=drive, v=v, spike_bins=np.zeros_like(v, dtype=bool),
                spike_counts=np.zeros(n, dtype=np.int64), spike_times=np.zeros(0),
                extra={"dipole": dipole, "ca.soma": 1e-4 * np.exp(2.0 * level)})
    cfg = TrainConfig(steps=300, minutes=5, batch=8, chunk=30, eval_every=300, warmup=10,
                      lr=1e-2, conv_channels=8, kernel=2, hidden=16, skip_steps=2)
    train_idx, val_idx = np.arange(24), np.arange(24, 32)
    trained = train(data, train_idx, val_idx, cfg, output_dt=0.1, progress=False)
    net = trained["net"]
    assert net.n_extra == 2 and list(trained["extra_norm"]) == ["dipole", "ca.soma"]
    ca_offset, _, ca_transform = trained["extra_norm"]["ca.soma"]
    assert ca_transform == "log"            # concentrations are learned as their logarithm
    assert ca_offset == pytest.approx(np.median(np.log(1e-4) + 2.0 * level[train_idx]))
    offset, scale, transform = trained["extra_norm"]["dipole"]
    assert transform is None
    assert offset == pytest.approx(np.median(dipole[train_idx]))
    assert scale == pytest.approx(dipole[train_idx].std())

    x = normalise(drive[val_idx], trained["norm"][0])
    analog, _ = predict(net, x)
    assert analog.shape == (8, n_steps, 3 * substeps)
    got = offset + scale * analog[..., substeps:2 * substeps].reshape(8, -1).numpy()
    want = dipole[val_idx]
    untrained = type(net)(**{k: v for k, v in net.config().items()})
    with torch.no_grad():
        raw, _ = predict(untrained, x)
    before = offset + scale * raw[..., substeps:2 * substeps].reshape(8, -1).numpy()
    error, error_before = np.abs(got - want)[:, 10:].mean(), np.abs(before - want)[:, 10:].mean()
    assert error < 0.3 * error_before, (error, error_before)


def test_card_outputs_list_v_then_extra_outputs_with_units():
    from pyNN_surrogate.training.card import output_entries, output_units

    trained = {"norm": ([1.0], -65.0, 10.0),
               "extra_norm": {"v.apical_tuft": (-60.0, 8.0, None), "ca.soma": (-8.0, 1.5, "log"),
                              "dipole": (0.0, 3.0, None)}}
    outputs = output_entries(trained)
    assert list(outputs) == ["v", "v.apical_tuft", "ca.soma", "dipole"]
    assert [o["units"] for o in outputs.values()] == ["mV", "mV", "mM", "nAm"]
    assert outputs["dipole"]["offset"] == 0.0 and outputs["dipole"]["scale"] == 3.0
    assert outputs["ca.soma"]["transform"] == "log" and "exp(" in outputs["ca.soma"]["formula"]
    assert "transform" not in outputs["v.apical_tuft"]
    assert list(output_entries({"norm": ([1.0], -65.0, 10.0)})) == ["v"]
    with pytest.raises(ValueError, match="unknown analog output 'gsyn'"):
        output_units("gsyn")
