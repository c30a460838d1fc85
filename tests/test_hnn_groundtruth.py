"""Ground truth of the detailed HNN cells (hnn-core in NEURON, run in a spawned process so that
its mechanisms never meet pyNN.neuron's in the test process)."""

import numpy as np
import pytest

from pyNN_surrogate.training.hnn_groundtruth import (
    L5_LAYOUT, L23_LAYOUT, CellLayout, SiteGroup, check_trial, exp2_conductance, resample,
    simulate_in_subprocess)

DT = 0.025


def test_sites_are_spread_evenly_over_each_groups_sections():
    """Each group gets its n_sites sites, at the centres of equal parts of its sections' joint
    length, in section order, with every position inside its section."""
    layout = CellLayout("L5_pyramidal", (SiteGroup("basal", ("a", "b"), 4),
                                         SiteGroup("soma", ("s",), 1, ("gabaa",))))
    sites = layout.sites({"a": 100.0, "b": 300.0, "s": 20.0})
    assert sites == [("basal", "a", 0.5), ("basal", "b", 1 / 6), ("basal", "b", 0.5),
                     ("basal", "b", 5 / 6), ("soma", "s", 0.5)]
    assert layout.channels == ("basal.ampa", "basal.nmda", "basal.gabaa", "basal.gabab",
                               "soma.gabaa")
    assert len(L5_LAYOUT.channels) == 18 and len(L23_LAYOUT.channels) == 18


def test_layout_and_trial_validation_errors():
    with pytest.raises(ValueError, match="unknown receptor.*'glu'"):
        SiteGroup("basal", ("basal_1",), 3, ("ampa", "glu"))
    with pytest.raises(ValueError, match="n_sites must be >= 1"):
        SiteGroup("basal", ("basal_1",), 0)
    with pytest.raises(ValueError, match=r"unknown drive channel.*soma\.ampa"):
        check_trial(L5_LAYOUT, dict(duration=100.0, inputs={"soma.ampa": ([1.0], 0.001)}))
    with pytest.raises(ValueError, match="sorted within"):
        check_trial(L5_LAYOUT, dict(duration=100.0, inputs={"basal.ampa": ([5.0, 1.0], 0.001)}))


@pytest.fixture(scope="module")
def l5_run():
    """hnn-core's L5 pyramidal cell, three 150 ms trials in one run: no input, tuft AMPA
    input, and a 1 nA somatic current step from 20 to 120 ms."""
    rng = np.random.default_rng(0)
    duration = 150.0
    times = np.round(np.sort(rng.uniform(0, duration, 40)) / DT) * DT
    trials = [dict(duration=duration, inputs={}),
              dict(duration=duration, inputs={"apical_tuft.ampa": (times, 0.002)}),
              dict(duration=duration, inputs={},
                   current=(np.array([20.0, 120.0]), np.array([1.0, 0.0])))]
    return trials, times, simulate_in_subprocess(L5_LAYOUT, trials, dt=DT, settle=300.0)


def test_l5_ground_truth_rest_synaptic_drive_and_current_step(l5_run):
    """No input: the cell stays at rest without spikes; tuft AMPA input: the recorded channel
    conductance is exactly HNN's Exp2Syn kernel summed over the group's sites; the current
    step: repeated spikes, and the dipole, dendritic v and calcium respond."""
    trials, times, out = l5_run
    duration = trials[0]["duration"]
    n = int(round(duration / DT)) + 1
    for key in ("v", "dipole", "v.apical_tuft", "ca.soma", *L5_LAYOUT.channels):
        assert out[key].shape == (3, n), key

    rest = out["v"][0]
    assert np.ptp(rest) < 0.1 and -80.0 < rest.mean() < -65.0
    assert len(out["spikes"][0]) == 0

    t = np.arange(n) * DT
    expected = exp2_conductance(times + DT, 0.002, 0.5, 5.0, t)      # HNN's AMPA kinetics
    np.testing.assert_allclose(out["apical_tuft.ampa"][1], expected, rtol=0,
                               atol=1e-5 * expected.max())
    assert np.all(out["basal.ampa"][1] == 0.0)

    step = out["spikes"][2]
    assert len(step) >= 2 and np.all((step > 20.0) & (step < 125.0))
    assert np.ptp(out["dipole"][2]) > 10 * np.ptp(out["dipole"][0])
    assert out["v.apical_tuft"][2].max() > rest.max() + 5.0
    assert out["ca.soma"][2].max() > 2 * out["ca.soma"][0].max() > 0


def test_l5_ground_truth_resampled_to_training_data(l5_run):
    """The training data follow the engine's conventions: a site channel's drive bin is the
    mean of Exp2Syn's kernel from each event's time on (NEURON applies during a step what it
    records at the step's end), the somatic current channel is the step function, v and the
    extra outputs are end-of-bin samples, and every spike lands in its bin."""
    trials, times, out = l5_run
    data = resample(L5_LAYOUT, out, trials, dt=DT, native_dt=0.5, output_dt=0.1)
    n_steps = 300
    assert data["channels"] == L5_LAYOUT.channels + ("i_inj",)
    assert data["drive"].shape == (3, n_steps, 19)
    assert data["v"].shape == (3, 5 * n_steps)
    assert set(data["extra"]) == {"v.basal_2", "v.apical_1", "v.apical_tuft", "ca.soma",
                                  "ca.apical_1", "ca.apical_tuft", "dipole"}

    t = np.arange(int(round(150.0 / DT))) * DT
    kernel = exp2_conductance(times, 0.002, 0.5, 5.0, t)               # from each event on
    want = kernel.reshape(n_steps, 20).mean(1)
    got = data["drive"][1, :, L5_LAYOUT.channels.index("apical_tuft.ampa")]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * want.max())

    current = data["drive"][2, :, -1]
    assert np.all(current[40:240] == 1.0) and np.all(current[:40] == 0.0)
    assert np.all(current[240:] == 0.0) and np.all(data["drive"][0] == 0.0)

    np.testing.assert_array_equal(data["v"][2],
                                  out["v"][2][4::4][:5 * n_steps].astype(np.float32))
    np.testing.assert_array_equal(data["extra"]["dipole"][2],
                                  out["dipole"][2][4::4][:5 * n_steps].astype(np.float32))
    spikes = out["spikes"][2]
    assert data["spike_counts"][2] == len(spikes) == data["spike_bins"][2].sum()
    assert np.all(data["spike_bins"][2][np.floor(spikes / 0.1 + 1e-6).astype(int)] == 1)


def test_hnn_data_set_is_cached_and_independent_of_chunking(tmp_path, capsys):
    """A tiny L2/3 data set: generated in two chunks (two NEURON processes) it equals the one
    generated in one chunk, the second call loads it from the cache, and an interrupted
    generation resumes from its saved chunks; a larger data set reuses the cached smaller one."""
    from dataclasses import replace

    from pyNN_surrogate.training.hnn_dataset import HNNDataConfig, generate_hnn
    from pyNN_surrogate.training.hnn_inputs import HNNInputConfig

    config = HNNDataConfig("HNN_L23Pyramidal",
                           HNNInputConfig(n_trials=3, duration=60.0, seed=5, p_silent=0.0,
                                          p_current_only=0.0, exc_level=(4.0, 8.0)),
                           settle=100.0)
    one = generate_hnn(config, cache_dir=tmp_path / "a", chunk_trials=3, verbose=False)
    two = generate_hnn(config, cache_dir=tmp_path / "b", chunk_trials=2, verbose=False)
    for key in ("drive", "v", "spike_bins"):
        np.testing.assert_array_equal(one[key], two[key])
    assert one["drive"].shape == (3, 120, 19) and one["drive"][..., :-1].max() > 0
    assert set(one["extra"]) == {"v.basal_2", "v.apical_1", "v.apical_tuft", "dipole"}
    cached = generate_hnn(config, cache_dir=tmp_path / "a", verbose=False)
    np.testing.assert_array_equal(cached["extra"]["dipole"], one["extra"]["dipole"])
    assert cached["channels"] == one["channels"] and list(cached["kind"]) == list(one["kind"])
    assert not list((tmp_path / "b").glob("*_chunk*"))          # chunk files cleaned up

    # an interrupted run: its first chunk was saved, the rest is simulated on resuming
    from pyNN_surrogate.training.hnn_dataset import _simulate_and_resample
    from pyNN_surrogate.training.hnn_inputs import draw_hnn_trials
    final = tmp_path / "c" / f"hnn_{config.celltype}_{config.key()}.npz"
    first_chunk = final.with_name(f"{final.stem}_chunk2_0_0.npz")
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(_simulate_and_resample, config,             # never next to pyNN.neuron
                    draw_hnn_trials(config.layout, config.inputs)[:2],
                    first_chunk).result()
    resumed = generate_hnn(config, cache_dir=tmp_path / "c", chunk_trials=2, verbose=True)
    assert "1 of 2 chunks from an interrupted run" in capsys.readouterr().out
    np.testing.assert_array_equal(resumed["drive"], one["drive"])

    # four trials: the first three come from the cached three-trial set, one is simulated
    larger = replace(config, inputs=replace(config.inputs, n_trials=4))
    extended = generate_hnn(larger, cache_dir=tmp_path / "a", chunk_trials=2, verbose=True)
    assert "simulating 1 trials" in capsys.readouterr().out
    direct = generate_hnn(larger, cache_dir=False, verbose=False)
    for key in ("drive", "v", "spike_bins", "spike_counts"):
        np.testing.assert_array_equal(extended[key], direct[key])
    np.testing.assert_array_equal(extended["drive"][:3], one["drive"])
    assert list(extended["kind"]) == list(direct["kind"])


def test_drive_from_events_equals_neurons_recorded_conductance():
    """Off-grid input times on several channels: the drive computed from the events (nearest
    grid point, Exp2Syn kernel) equals the one from NEURON's recorded conductances."""
    rng = np.random.default_rng(2)
    duration = 80.0
    trials = [dict(duration=duration, inputs={
        "basal.ampa": (np.sort(rng.uniform(1, duration - 1, 30)), 0.001),
        "apical_tuft.nmda": (np.sort(rng.uniform(1, duration - 1, 20)), 0.0005),
        "soma.gabaa": (np.sort(rng.uniform(1, duration - 1, 10)), 0.002)}) for _ in range(2)]
    raw = simulate_in_subprocess(L23_LAYOUT, trials, dt=DT, settle=50.0)
    recorded = resample(L23_LAYOUT, raw, trials, DT, 0.5, 0.1, drive_dt=DT)
    events_only = {k: v for k, v in raw.items() if k not in L23_LAYOUT.channels}
    computed = resample(L23_LAYOUT, events_only, trials, DT, 0.5, 0.1, drive_dt=DT)
    assert recorded["drive"].max() > 0
    np.testing.assert_allclose(computed["drive"], recorded["drive"], rtol=0,
                               atol=1e-5 * recorded["drive"].max())


def _input_netcon_weights(layout, trial):
    """{channel: [(synapse's section, NetCon weight)]} of one built cell (run in a subprocess)."""
    from hnn_core.network_builder import load_custom_mechanisms

    from pyNN_surrogate.training.hnn_groundtruth import build_cells

    load_custom_mechanisms()
    built = build_cells(layout, [dict(trial, settle=0.0)])[0]
    syn_ids = {ch: {id(s): s.get_segment().sec.name() for s in syns}
               for ch, syns in built["syns"].items()}
    out = {ch: [] for ch in trial["inputs"]}
    for obj in built["keep"]:
        if type(obj).__name__ == "HocObject" and obj.hname().startswith("NetCon"):
            target = obj.syn()
            for ch in out:
                for syn in built["syns"][ch]:
                    if syn.same(target):
                        out[ch].append((syn_ids[ch][id(syn)], obj.weight[0]))
    return out


def test_every_input_event_reaches_all_sites_of_its_group_with_an_equal_share():
    """The site rule: one channel's events reach every site of the group, each with
    weight / n_sites, so the group's summed conductance determines what every site gets."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    trial = dict(duration=50.0, inputs={"basal.ampa": ([5.0, 20.0], 0.003),
                                        "apical_tuft.gabaa": ([10.0], 0.006)})
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        weights = pool.submit(_input_netcon_weights, L23_LAYOUT, trial).result()
    groups = {g.name: g for g in L23_LAYOUT.groups}
    for channel, (_, weight) in trial["inputs"].items():
        group = groups[channel.split(".")[0]]
        got = weights[channel]
        assert len(got) == group.n_sites
        assert {sec.split("_", 1)[1] for sec, _ in got} <= set(group.sections)   # "L2Pyr_basal_1"
        np.testing.assert_allclose([w for _, w in got], weight / group.n_sites)
