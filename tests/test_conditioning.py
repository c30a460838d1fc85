"""Parameter-conditioned surrogates: normalisation, ground truth with per-trial parameters,
a tiny conditioned IF_cond_exp package end to end, heterogeneous cells in one batch, and the
backend's domain checks. The tiny package is untrained (a few optimiser steps): these tests
check the plumbing, not accuracy."""

import numpy as np
import pytest
import torch
from pyNN import errors

from pyNN_surrogate.surrogates.conditioning import constraint_violation, normalise_conditions
from pyNN_surrogate.training.celltypes import CELL_SPECS, get_cell_spec

ENTRIES = [dict(name="v_rest", units="mV", min=-75.0, max=-55.0, transform="linear"),
           dict(name="tau_m", units="ms", min=5.0, max=40.0, transform="log")]


def test_normalised_conditions_map_the_range_onto_minus_one_to_one():
    z = normalise_conditions(ENTRIES, {"v_rest": [-75.0, -65.0, -55.0],
                                       "tau_m": [5.0, np.sqrt(5.0 * 40.0), 40.0]}, 3)
    np.testing.assert_allclose(z, [[-1, -1], [0, 0], [1, 1]], atol=1e-6)
    scalar = normalise_conditions(ENTRIES, {"v_rest": -65.0, "tau_m": 40.0}, 2)
    np.testing.assert_allclose(scalar, [[0, 1], [0, 1]], atol=1e-6)
    with pytest.raises(KeyError, match="tau_m"):
        normalise_conditions(ENTRIES, {"v_rest": -65.0}, 1)
    with pytest.raises(ValueError, match="must be > 0"):
        normalise_conditions(ENTRIES, {"v_rest": -65.0, "tau_m": 0.0}, 1)


def test_constraint_violation_names_both_parameters():
    rules = [dict(lower="v_reset", upper="v_thresh", min_gap=4.0)]
    assert constraint_violation(rules, {"v_reset": -65.0, "v_thresh": -50.0}) is None
    msg = constraint_violation(rules, {"v_reset": [-65.0, -52.0], "v_thresh": -50.0})
    assert msg.startswith("v_thresh (-50) must exceed v_reset (-52) by at least 4")
    assert constraint_violation(rules, {"v_thresh": -50.0}) is None     # v_reset not given


CONDITIONED_TYPES = [name for name in CELL_SPECS if CELL_SPECS[name].conditioned]


def test_every_shipped_standard_cell_type_declares_conditioned_parameters(monkeypatch):
    from pyNN.standardmodels import cells
    from pyNN_surrogate.surrogates.package import available_celltypes
    monkeypatch.delenv("PYNN_SURROGATE_CELLTYPES", raising=False)
    shipped_standard = [name for name in available_celltypes() if hasattr(cells, name)]
    assert len(shipped_standard) == 7
    assert set(shipped_standard) <= set(CONDITIONED_TYPES)
    assert [c.name for c in get_cell_spec("Izhikevich").conditioned] == ["a", "b", "c", "d"]
    assert [c.name for c in get_cell_spec("EIF_cond_exp_isfa_ista").conditioned] == \
        ["a", "b", "tau_w", "delta_T", "v_spike"]


@pytest.mark.parametrize("celltype", CONDITIONED_TYPES)
def test_conditioned_ranges_hold_pynn_default_cell(celltype):
    """The card's stability and f-I checks run the reference cell: PyNN's defaults."""
    from pyNN.standardmodels import cells
    defaults = getattr(cells, celltype).default_parameters
    for c in get_cell_spec(celltype).conditioned:
        assert c.lo <= defaults[c.name] <= c.hi, c.name


@pytest.mark.parametrize("celltype", CONDITIONED_TYPES)
def test_drawn_parameter_sets_respect_ranges_and_constraints(celltype):
    spec = get_cell_spec(celltype)
    rng = np.random.default_rng(0)
    sets = [spec.draw_parameters(rng) for _ in range(300)]
    for c in spec.conditioned:
        values = np.array([s[c.name] for s in sets])
        assert values.min() >= c.lo and values.max() <= c.hi
        assert values.max() - values.min() > 0.5 * (c.hi - c.lo)       # the range is covered
    for lo, hi, gap in spec.constraints:
        assert all(s[hi] - s[lo] >= gap for s in sets)
    for c in spec.conditioned:
        if c.transform == "log":                                          # log-uniform draws
            log_values = np.log([s[c.name] for s in sets])
            assert abs(np.median(log_values) - 0.5 * np.log(c.lo * c.hi)) < \
                0.15 * np.log(c.hi / c.lo), c.name


def ground_truth_without_input(cfg, parameter_sets):
    """NEURON ground truth of one trial per parameter set, with every input removed."""
    from pyNN_surrogate.training.groundtruth import draw_trials, resample, simulate
    trials = draw_trials(cfg, parameter_sets)
    for t in trials:
        t.update(exc=np.zeros(0), inh=np.zeros(0), current=None)
    channels = get_cell_spec(cfg.celltype).drive_channels
    return trials, resample(cfg, simulate(cfg, trials), channels)


def test_conditioned_ground_truth_simulates_each_trials_own_cell():
    """An IF cell without input rests at its own v_rest: each trial's parameters reach NEURON."""
    from pyNN_surrogate.training.groundtruth import (GroundTruthConfig, draw_trials,
                                                      trial_parameters)
    cfg = GroundTruthConfig(celltype="IF_cond_exp", n_trials=4, duration=50.0, settle=200.0,
                            conditioned=True)
    sets = [dict(v_rest=v, v_thresh=-45.0, v_reset=-70.0, tau_m=10.0, cm=0.5,
                 tau_refrac=2.0, e_rev_I=-80.0) for v in (-72.0, -66.0, -60.0, -56.0)]
    trials, data = ground_truth_without_input(cfg, sets)
    np.testing.assert_allclose(data["v"][:, -1], [-72.0, -66.0, -60.0, -56.0], atol=0.05)
    params = trial_parameters(cfg, trials)
    assert params.shape == (4, 7) and params[2, 0] == -60.0
    with pytest.raises(ValueError, match="one dict per trial"):
        draw_trials(cfg, sets[:2])
    assert GroundTruthConfig().key() == GroundTruthConfig(conditioned=False).key()
    assert GroundTruthConfig().key() != GroundTruthConfig(conditioned=True).key()


def test_conditioned_izhikevich_ground_truth_rests_where_each_trials_b_puts_it():
    """Without input an Izhikevich cell rests at the lower root of
    0.04 v^2 + (5 - b) v + 140 = 0: each trial's b reaches NEURON."""
    from pyNN_surrogate.training.groundtruth import GroundTruthConfig
    cfg = GroundTruthConfig(celltype="Izhikevich", n_trials=3, duration=50.0, settle=500.0,
                            conditioned=True)
    b_values = (0.2, 0.225, 0.25)
    _, data = ground_truth_without_input(cfg, [dict(a=0.02, b=b, c=-65.0, d=2.0)
                                               for b in b_values])
    expected = [min(np.roots([0.04, 5.0 - b, 140.0]).real) for b in b_values]
    np.testing.assert_allclose(data["v"][:, -1], expected, atol=0.05)


@pytest.fixture(scope="module")
def tiny_conditioned(tmp_path_factory):
    from pyNN_surrogate.train import main
    out = tmp_path_factory.mktemp("cond")
    return main(["IF_cond_exp", "--conditioned", "--trials", "12", "--duration", "300",
                 "--steps", "6", "--eval-every", "3", "--batch", "4", "--hidden", "8",
                 "--out", str(out), "--cache-dir", str(out / "cache"),
                 "--stability-ms", "200", "--no-fi", "--quiet"])


def test_tiny_conditioned_package_declares_its_inputs(tiny_conditioned):
    from pyNN_surrogate.surrogates import load_celltype
    pkg = load_celltype(tiny_conditioned)
    card = pkg.card
    names = [p["name"] for p in card["conditioning"]["parameters"]]
    assert names == [c.name for c in get_cell_spec("IF_cond_exp").conditioned]
    assert card["model"]["n_inputs"] == 3 + len(names)
    assert card["domain"]["tau_m"] == dict(kind="range", min=5.0, max=40.0,
                                           note=card["domain"]["tau_m"]["note"])
    assert card["domain"]["e_rev_E"]["kind"] == "fixed"              # not conditioned
    assert card["conditioning"]["reference"]["tau_m"] == 20.0      # PyNN's default cell
    sets = card["evaluation"]["parameter_sets"]
    assert sets["n_sets"] == len(sets["sets"]) == 24
    for key in ("f1_2ms", "f1_10ms", "rate_mae_hz", "v_r_clipped"):
        assert sets["worst_decile"][key] is not None and key in sets["median"]
    assert sets["worst_decile"]["rate_mae_hz"] >= sets["median"]["rate_mae_hz"]


def test_heterogeneous_cells_run_in_one_call_and_match_cells_run_alone(tiny_conditioned):
    from pyNN_surrogate.surrogates import load_celltype
    rt = load_celltype(tiny_conditioned).runtime("cpu", dtype=torch.float64)
    params = dict(v_rest=np.array([-70.0, -60.0, -65.0]), v_thresh=-50.0, v_reset=-65.0,
                  tau_m=np.array([10.0, 30.0, 20.0]), cm=1.0, tau_refrac=2.0, e_rev_I=-70.0)
    drive = torch.rand(40, 3, 3, dtype=torch.float64) * torch.tensor([0.02, 0.02, 0.5],
                                                                     dtype=torch.float64)
    out, _, _ = rt.run(drive, rt.initial_state(3, params))
    for i in range(3):
        alone = {k: (v[i:i + 1] if isinstance(v, np.ndarray) else v) for k, v in params.items()}
        o, _, _ = rt.run(drive[:, i:i + 1], rt.initial_state(1, alone))
        torch.testing.assert_close(o["v"][:, 0], out["v"][:, i])
    rest = rt.resting_v(3, params)
    assert rest.shape == (3,) and np.ptp(rest) > 0
    with pytest.raises(ValueError, match="conditioned on"):
        rt.initial_state(3)


@pytest.fixture
def conditioned_backend(tiny_conditioned, monkeypatch):
    import pyNN_surrogate as sim
    monkeypatch.setenv("PYNN_SURROGATE_CELLTYPES", str(tiny_conditioned.parent))
    monkeypatch.delenv("PYNN_SURROGATE_TRAIN_MISSING", raising=False)
    sim.setup(timestep=0.1)
    yield sim
    sim.end()


def test_backend_runs_heterogeneous_parameters_in_one_population(conditioned_backend):
    sim = conditioned_backend
    tau_m = sim.RandomDistribution("uniform", (10.0, 30.0), rng=sim.NumpyRNG(seed=1))
    pop = sim.Population(5, sim.IF_cond_exp(tau_m=tau_m, v_rest=[-70, -65, -60, -62, -68],
                                            tau_refrac=2.0, cm=0.5))
    pop.record("v")
    sim.run(20.0)
    v0 = pop.get_data().segments[0].analogsignals[0].magnitude[0]
    rt = pop._runtime
    conditions = {name: pop._parameters[name] for name in rt.condition_names}
    np.testing.assert_allclose(v0, rt.resting_v(5, conditions), atol=1e-4)
    assert len(set(np.round(v0, 4))) == 5


def test_backend_refuses_parameters_outside_the_conditioned_domain(conditioned_backend):
    sim = conditioned_backend
    with pytest.raises(errors.InvalidParameterValueError,
                       match=r"(?s)'tau_m' = 80.*range \[5, 40\].*Two ways forward"):
        sim.Population(2, sim.IF_cond_exp(tau_m=80.0))
    with pytest.raises(errors.InvalidParameterValueError,
                       match=r"(?s)v_thresh \(-58\) must exceed v_reset \(-56\).*"
                             r"--param v_thresh=-58 --param v_reset=-56"):
        sim.Population(2, sim.IF_cond_exp(v_reset=-56.0, v_thresh=-58.0))
    with pytest.raises(errors.InvalidParameterValueError, match="differs between cells"):
        sim.Population(2, sim.IF_cond_exp(tau_m=[80.0, 90.0]))


def test_conditioned_companion_serves_the_parameters_the_default_package_refuses(
        tiny_conditioned, tmp_path, monkeypatch):
    """Beside the shipped default IF_cond_exp package (one parameter set), a package named
    "IF_cond_exp.conditioned" takes the populations with other parameters, heterogeneous
    ones included; parameters outside both domains are refused with the companion's range."""
    import shutil

    import pyNN_surrogate as sim
    shutil.copytree(tiny_conditioned, tmp_path / "IF_cond_exp.conditioned")
    monkeypatch.setenv("PYNN_SURROGATE_CELLTYPES", str(tmp_path))
    monkeypatch.delenv("PYNN_SURROGATE_TRAIN_MISSING", raising=False)
    sim.setup(timestep=0.1)
    try:
        default = sim.Population(2, sim.IF_cond_exp())
        varied = sim.Population(3, sim.IF_cond_exp(tau_m=[12.0, 18.0, 25.0], cm=0.5))
        assert "conditioning" not in default._package.card
        assert default._package.key != varied._package.key
        assert varied._package.key.endswith("IF_cond_exp.conditioned")
        with pytest.raises(errors.InvalidParameterValueError,
                           match=r"(?s)'tau_m' = 80.*range \[5, 40\].*Two ways forward"):
            sim.Population(2, sim.IF_cond_exp(tau_m=80.0))
        varied.record("v")
        sim.run(5.0)
        assert varied.get_data().segments[0].analogsignals[0].shape[1] == 3
    finally:
        sim.end()


def test_engine_changes_conditioned_parameters_of_one_group_mid_run(tiny_conditioned):
    """Two groups share a conditioned runtime (one batch); setting tau_m of the second group
    during the run changes only its rows of the conditioning state."""
    from pyNN_surrogate.engine import Engine, EngineValueError, ReceptorSpec
    from pyNN_surrogate.surrogates import load_celltype
    rt = load_celltype(tiny_conditioned).runtime("cpu")
    base = dict(rt.reference)
    eng = Engine(dt=0.1, min_delay=1.0, seed=1)
    receptors = [ReceptorSpec("excitatory", tau=5.0, channel="g_exc")]
    a = eng.add_cell_group(rt, 2, receptors, conditions=base)
    b = eng.add_cell_group(rt, 3, receptors, conditions=dict(base, tau_m=[10.0, 15.0, 20.0]))
    with pytest.raises(EngineValueError, match="missing values"):
        eng.add_cell_group(rt, 1, receptors, conditions={"tau_m": 10.0})
    eng.run_until(5.0)
    (batch,) = eng._batches
    before = batch.state[4].clone()
    eng.set_group_param(b, "tau_m", 30.0)
    eng.run_until(10.0)
    after = batch.state[4]
    torch.testing.assert_close(after[0, :2], before[0, :2])             # group a untouched
    expected = rt.normalise_conditions(dict(base, tau_m=30.0), 3)
    torch.testing.assert_close(after[0, 2:], torch.as_tensor(expected))
    assert eng._groups[a].conditions["tau_m"].tolist() == [20.0, 20.0]


def test_narrowed_condition_ranges_reach_the_drawn_trials_and_the_cache_key():
    from pyNN_surrogate.training.groundtruth import GroundTruthConfig, draw_trials
    ranges = (("tau_m", 10.0, 30.0), ("cm", 0.2, 1.0))
    cfg = GroundTruthConfig(celltype="IF_cond_exp", n_trials=200, duration=100.0,
                            conditioned=True, condition_ranges=ranges)
    spec = cfg.cell_spec()
    assert [(c.lo, c.hi) for c in spec.conditioned if c.name in ("tau_m", "cm")] == \
        [(10.0, 30.0), (0.2, 1.0)]
    tau_m = np.array([t["params"]["tau_m"] for t in draw_trials(cfg)])
    assert tau_m.min() >= 10.0 and tau_m.max() <= 30.0 and tau_m.max() - tau_m.min() > 10.0
    wide = GroundTruthConfig(celltype="IF_cond_exp", conditioned=True)
    assert cfg.key() != GroundTruthConfig(celltype="IF_cond_exp", n_trials=200,
                                          duration=100.0, conditioned=True).key()
    assert wide.cell_spec() == get_cell_spec("IF_cond_exp")      # no ranges: the spec's own
    as_json = GroundTruthConfig(celltype="IF_cond_exp", n_trials=200, duration=100.0,
                                conditioned=True, condition_ranges=[list(r) for r in ranges])
    assert as_json.key() == cfg.key()                              # a card's config round-trips


def test_narrowed_condition_ranges_are_validated():
    from pyNN_surrogate.train import main
    from pyNN_surrogate.training.groundtruth import GroundTruthConfig
    spec = get_cell_spec("IF_cond_exp")
    with pytest.raises(ValueError, match="'g_leak' is not a conditioned parameter"):
        spec.with_ranges([("g_leak", 0.01, 0.1)])
    with pytest.raises(ValueError, match="range of tau_m needs min < max"):
        spec.with_ranges([("tau_m", 30.0, 10.0)])
    with pytest.raises(ValueError, match="log scale"):
        spec.with_ranges([("cm", 0.0, 1.0)])
    with pytest.raises(ValueError, match="v_thresh at least 4.0 above v_rest"):
        spec.with_ranges([("v_rest", -58.0, -56.0), ("v_thresh", -60.0, -55.0)])
    with pytest.raises(ValueError, match="needs conditioned=True"):
        GroundTruthConfig(celltype="IF_cond_exp", condition_ranges=(("tau_m", 10, 30),)
                          ).cell_spec()
    with pytest.raises(SystemExit, match="--condition-range needs --conditioned"):
        main(["IF_cond_exp", "--condition-range", "tau_m", "10", "30", "--quiet"])
    with pytest.raises(SystemExit, match="--condition-range: .*min < max"):
        main(["IF_cond_exp", "--conditioned", "--condition-range", "tau_m", "30", "10",
              "--quiet"])
    with pytest.raises(SystemExit, match="range of tau_m .* must hold the reference cell's "
                                         "value 20"):
        main(["IF_cond_exp", "--conditioned", "--condition-range", "tau_m", "25", "40",
              "--quiet"])
