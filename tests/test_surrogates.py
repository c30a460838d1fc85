"""Tests of the surrogate layer: model streaming, spike rule, packages, domain checks."""

import json

import numpy as np
import pytest
import torch

from pyNN_surrogate.surrogates import (CellTypeFileError, OutOfDomainError, SurrogateNet,
                                       UnknownCellTypeError, available_celltypes,
                                       celltype_search_path, detect_spikes, load_celltype)
from pyNN_surrogate.surrogates.package import sha256_file

CHANNELS = ("g_exc", "g_inh", "i_inj")


def make_package(root, name="Toy_cond_exp", seed=0, threshold=0.0, drive_dt=None,
                 extra_outputs=None, feedback=False):
    """Write a package with a randomly initialised network (no NEURON needed).

    ``extra_outputs``: {name: (units, offset, scale)} analog outputs besides v."""
    torch.manual_seed(seed)
    per_step = 1 if drive_dt is None else int(round(0.5 / drive_dt))
    extra = dict(extra_outputs or {})
    net = SurrogateNet(3 * per_step, 5, conv_channels=8, kernel=3, hidden=16,
                       feedback=feedback, n_extra=len(extra))
    out = root / name
    out.mkdir(parents=True)
    torch.save(net.state_dict(), out / "weights.pt")
    card = {
        "name": name, "native_dt": 0.5, "output_dt": 0.1, "substeps": 5,
        "drive_channels": [{"name": c, "units": u, "normalisation": {"kind": "asinh",
                                                                    "scale": s}}
                           for c, u, s in zip(CHANNELS, ("uS", "uS", "nA"),
                                              (0.01, 0.01, 0.1))],
        "outputs": {"v": {"units": "mV", "offset": -65.0, "scale": 10.0},
                    **{k: {"units": u, "offset": o, "scale": sc}
                       for k, (u, o, sc) in extra.items()}},
        "recordables": ["v", *extra], "spike_threshold": threshold,
        "model": dict(kind="cnn_lstm", **net.config()),
        "domain": {"cm": {"kind": "fixed", "value": 0.2, "rtol": 1e-3},
                   "tau_syn_E": {"kind": "free"},
                   "i_offset": {"kind": "range", "min": -0.5, "max": 1.0}},
        "training": {"train_command_template": f"python -m pyNN_surrogate.train {name}"},
        "weights": {"file": "weights.pt", "sha256": sha256_file(out / "weights.pt")},
    }
    if drive_dt is not None:
        card["drive_dt"] = drive_dt
    (out / "card.json").write_text(json.dumps(card))
    return out


@pytest.fixture
def toy(tmp_path):
    return load_celltype(make_package(tmp_path))


def random_drive(n_steps, n_cells, seed=1, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    d = torch.rand(n_steps, n_cells, 3, generator=g, dtype=dtype)
    return d * torch.tensor([0.03, 0.03, 0.5], dtype=dtype)


def test_step_by_step_equals_sequence(toy):
    rt = toy.runtime("cpu", dtype=torch.float64)
    rt.threshold = 0.0
    drive = random_drive(40, 6)
    out, spk, _ = rt.run(drive, rt.initial_state(6))
    state, vs, ss = rt.initial_state(6), [], []
    for k in range(40):
        o, s, state = rt.run(drive[k:k + 1], state)
        vs.append(o["v"])
        ss.append(s)
    assert out["v"].shape == (200, 6) and spk.shape == (200, 6) and spk.dtype == torch.bool
    torch.testing.assert_close(torch.cat(vs), out["v"], rtol=0, atol=1e-10)
    assert torch.equal(torch.cat(ss), spk)


def test_drive_dt_default_and_fine_bins(tmp_path):
    old = load_celltype(make_package(tmp_path, name="Old"))
    rt = old.runtime("cpu")
    assert old.drive_dt == rt.drive_dt == 0.5 and rt.drive_per_step == 1
    assert rt.drive_channels == CHANNELS and rt.recordables == ("v",)
    fine = load_celltype(make_package(tmp_path, name="Fine", drive_dt=0.1))
    rt = fine.runtime("cpu", dtype=torch.float64)
    rt.threshold = 0.0
    assert fine.drive_dt == rt.drive_dt == 0.1 and rt.drive_per_step == 5
    drive = random_drive(40, 4)                       # 8 native steps of 5 bins
    out, spk, _ = rt.run(drive, rt.initial_state(4))
    assert out["v"].shape == (40, 4) and spk.shape == (40, 4)
    state, vs = rt.initial_state(4), []
    for k in range(8):
        o, _, state = rt.run(drive[5 * k:5 * k + 5], state)
        vs.append(o["v"])
    torch.testing.assert_close(torch.cat(vs), out["v"], rtol=0, atol=1e-10)
    # the bins of a native step are folded bin-major, channel-minor (training layout)
    from pyNN_surrogate.surrogates.runtime import fold_drive
    x = fold_drive(drive, 5)
    assert x.shape == (8, 4, 15)
    torch.testing.assert_close(x[2, 1], drive[10:15, 1].reshape(-1))
    # a change inside the step (not just its mean) reaches the network
    d2 = drive.clone()
    d2[0:5, 0, 0] = drive[0:5, 0, 0].flip(0)
    o2, _, _ = rt.run(d2, rt.initial_state(4))
    assert (o2["v"][:5, 0] - out["v"][:5, 0]).abs().max() > 0
    with pytest.raises(ValueError, match="multiple"):
        rt.run(drive[:7], rt.initial_state(4))


def test_state_rows_are_cells(toy):
    rt = toy.runtime("cpu", dtype=torch.float64)
    drive = random_drive(10, 5)
    s_all = rt.initial_state(5)
    out_all, _, s_all = rt.run(drive, s_all)
    a, b = rt.initial_state(2), rt.initial_state(3)
    out_a, _, a = rt.run(drive[:, :2], a)
    out_b, _, b = rt.run(drive[:, 2:], b)
    joined = tuple(torch.cat([x, y], dim=1 if x.dim() > 1 else 0) for x, y in zip(a, b))
    for x, y in zip(joined, s_all):
        torch.testing.assert_close(x, y)
    torch.testing.assert_close(torch.cat([out_a["v"], out_b["v"]], 1), out_all["v"])


def test_float32_and_rest(toy):
    rt = toy.runtime("cpu")
    out, spk, _ = rt.run(torch.zeros(20, 3, 3), rt.initial_state(3))
    assert out["v"].dtype == torch.float32
    v = out["v"].reshape(20, 5, 3)          # at rest every native step repeats itself
    torch.testing.assert_close(v, v[:1].expand_as(v), rtol=0, atol=1e-4)
    torch.testing.assert_close(v[:, -1], torch.full_like(v[:, -1], rt.v_rest), rtol=0,
                               atol=1e-4)


def test_detect_spikes_rule():
    lg = torch.full((5, 1, 5), -10.0)
    lg[0, 0, 4] = 5.0                     # crossing in step 0 -> spike in its top bin
    lg[1, 0, 0] = 6.0                     # still above threshold: no new spike
    lg[2, 0, 1], lg[2, 0, 3] = 2.0, 3.0   # still above
    lg[4, 0, 1], lg[4, 0, 2] = 2.0, 1.5   # new crossing after a sub-threshold step: top bin
    spk, above = detect_spikes(lg, torch.zeros(1, dtype=torch.bool), 1.0)
    assert spk[:, 0].nonzero().tolist() == [[0, 4], [4, 1]]
    assert above.item()
    # the carried flag suppresses a spike at the start of the next call
    spk, _ = detect_spikes(lg[:1], torch.ones(1, dtype=torch.bool), 1.0)
    assert not spk.any()


def test_corrupt_weights_refused(tmp_path):
    path = make_package(tmp_path)
    with open(path / "weights.pt", "ab") as f:
        f.write(b"tampered")
    with pytest.raises(CellTypeFileError, match=r"weights\.pt.*corrupt"):
        load_celltype(path)


def test_missing_files_refused(tmp_path):
    path = make_package(tmp_path)
    (path / "card.json").unlink()
    with pytest.raises(CellTypeFileError, match=r"card\.json.*missing"):
        load_celltype(path)
    path = make_package(tmp_path, name="Other")
    (path / "weights.pt").unlink()
    with pytest.raises(CellTypeFileError, match=r"weights\.pt.*missing"):
        load_celltype(path)
    path = make_package(tmp_path, name="Broken")
    (path / "card.json").write_text("{not json")
    with pytest.raises(CellTypeFileError, match=r"card\.json"):
        load_celltype(path)


def test_unknown_celltype(tmp_path, monkeypatch):
    make_package(tmp_path)
    monkeypatch.setenv("PYNN_SURROGATE_CELLTYPES", str(tmp_path))
    assert celltype_search_path()[0] == tmp_path
    assert "Toy_cond_exp" in available_celltypes()
    assert load_celltype("Toy_cond_exp").name == "Toy_cond_exp"
    with pytest.raises(UnknownCellTypeError,
                       match=r"'Nope'.*Toy_cond_exp.*python -m pyNN_surrogate\.train Nope"):
        load_celltype("Nope")


def test_out_of_domain_refused(toy):
    toy.check_parameters({"cm": np.array([0.2, 0.2]), "tau_syn_E": np.array([50.0]),
                          "i_offset": np.array([0.3]), "unknown": np.array([1.0])})
    with pytest.raises(OutOfDomainError,
                       match=r"'cm' = 0\.3 .*fixed at 0\.2.*python -m pyNN_surrogate\.train "
                             r"Toy_cond_exp --param cm=0\.3"):
        toy.check_parameters({"cm": np.array([0.2, 0.3])})
    with pytest.raises(OutOfDomainError,
                       match=r"'i_offset' = 2\.0 .*range \[-0\.5, 1\].*pyNN_surrogate\.train"):
        toy.check_parameters({"i_offset": np.array([2.0])})


def test_hh_tau_domain(hh):
    dom = hh.card["domain"]
    if dom["tau_syn_E"]["kind"] != "range":
        pytest.skip("package predates the declared tau range")
    hh.check_parameters({"tau_syn_E": np.array([0.2, dom["tau_syn_E"]["max"]]),
                         "tau_syn_I": np.array([2.0])})
    with pytest.raises(OutOfDomainError, match=r"'tau_syn_E' = 50"):
        hh.check_parameters({"tau_syn_E": np.array([0.2, 50.0])})
    with pytest.raises(OutOfDomainError, match=r"'tau_syn_I'"):
        hh.check_parameters({"tau_syn_I": np.array([dom["tau_syn_I"]["min"] / 2])})


def test_nan_parameter_refused(toy):
    with pytest.raises(OutOfDomainError, match=r"'tau_syn_E' = nan"):
        toy.check_parameters({"tau_syn_E": np.array([1.0, np.nan])})
    err = pytest.raises(OutOfDomainError, toy.check_parameters, {"cm": np.array([np.nan])})
    assert err.value.parameter == "cm" and "train" in err.value.train_command


# --- the shipped HH_cond_exp package ---------------------------------------------------

@pytest.fixture(scope="module")
def hh():
    if "HH_cond_exp" not in available_celltypes():
        pytest.skip("HH_cond_exp package not trained")
    return load_celltype("HH_cond_exp")


def test_hh_zero_drive_stays_at_rest(hh):
    rt = hh.runtime("cpu")
    n = int(round(10000 / hh.drive_dt))
    out, spk, _ = rt.run(torch.zeros(n, 1, len(hh.drive_channels)), rt.initial_state(1))
    assert not spk.any()
    assert (out["v"] - rt.v_rest).abs().max() < 0.1
    assert abs(rt.v_rest - hh.card["initial_values"]["v_rest"]) < 1e-3


def test_hh_current_onset_shows_next_step(hh):
    rt = hh.runtime("cpu")
    r = rt.drive_per_step
    drive = torch.zeros(40 * r, 1, len(hh.drive_channels))
    drive[20 * r:, 0, hh.drive_channels.index("i_inj")] = 0.5
    out, _, _ = rt.run(drive, rt.initial_state(1))
    v = out["v"][:, 0].reshape(40, hh.substeps)
    assert (v[19] - rt.v_rest).abs().max() < 0.05
    assert v[20, -1] - rt.v_rest > 0.3


@pytest.mark.parametrize("traces,film", [((), 0), ((2.0, 50.0), 0), ((2.0, 50.0), 1)])
@pytest.mark.parametrize("n_cells", [4, 256])      # both LSTM kernels of the closed loop
def test_feedback_network_sees_its_own_spikes_of_the_previous_step(n_cells, traces, film):
    """Closed-loop stepping of a feedback network (with and without spike traces, with and
    without feature modulation) equals one teacher-forced sequence pass fed with the spikes
    it produced (shifted by one native step), and splitting the run in two (carrying state
    and fed-back features) changes nothing."""
    torch.manual_seed(0)
    net = SurrogateNet(3, 5, feedback=True, spike_traces=traces, output_dt=0.1,
                       film=film).double().eval()
    x = torch.randn(40, n_cells, 3, dtype=torch.float64)
    if film:
        random_modulation(net)
        x = per_cell_conditions(x, film)
    start = net.zero_state(n_cells, dtype=torch.float64)
    fed0 = torch.zeros(n_cells, net.n_fed, dtype=torch.float64)
    with torch.no_grad():
        v, logits, spikes, _, _ = net.run_closed_loop(x, start, fed0, threshold=0.0)
        assert 0 < int(spikes.sum()) < spikes.numel()
        fed = net.teacher_fed(spikes.transpose(0, 1).double()).transpose(0, 1)
        v_tf, logits_tf, _ = net(torch.cat([x, fed], dim=-1), start)
        first = net.run_closed_loop(x[:17], start, fed0, threshold=0.0)
        second = net.run_closed_loop(x[17:], first[3], first[4], threshold=0.0)
    torch.testing.assert_close(v_tf, v)
    torch.testing.assert_close(logits_tf, logits)
    torch.testing.assert_close(torch.cat([first[0], second[0]]), v)
    assert torch.equal(torch.cat([first[2], second[2]]), spikes)


def test_feature_modulation_starts_as_the_identity_and_then_depends_on_the_conditions():
    """A new modulated network computes what the same weights do without modulation; once
    its modulation layer is trained (here: random), cells that differ only in their
    conditions respond differently, and the modulation is declared in the card's config."""
    torch.manual_seed(3)
    plain = SurrogateNet(4, 5, conv_channels=8, hidden=16).double()
    modulated = SurrogateNet(4, 5, conv_channels=8, hidden=16, film=2).double()
    modulated.load_state_dict({**plain.state_dict(),
                               **{f"film.{k}": v for k, v in modulated.film.state_dict().items()}})
    x = per_cell_conditions(torch.randn(30, 6, 4, dtype=torch.float64), 2)
    start = plain.zero_state(6, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(modulated(x, start)[0], plain(x, start)[0])
        random_modulation(modulated)
        assert not torch.allclose(modulated(x, start)[0], plain(x, start)[0])
    assert modulated.config()["film"] == 2 and "film" not in plain.config()
    with pytest.raises(ValueError, match="film must be between 0 and n_inputs"):
        SurrogateNet(4, 5, film=5)


def test_spike_traces_jump_at_spikes_and_decay_with_their_time_constants():
    from pyNN_surrogate.surrogates.spike_traces import RATE_UNIT, SpikeTraces
    traces = SpikeTraces((10.0, 100.0), substeps=5, output_dt=0.1).double()
    bins = torch.zeros(1, 30, 5, dtype=torch.float64)
    bins[0, 2, 4] = 1.0                      # a spike at the end of step 2 (t = 1.5 ms)
    raw = torch.sinh(traces.of_train(bins)) / traces.scale
    assert torch.all(raw[0, :2] == 0.0)
    torch.testing.assert_close(raw[0, 2], torch.ones(2, dtype=torch.float64), rtol=1e-6,
                               atol=0)
    t = 0.5 * torch.arange(27, dtype=torch.float64)[:, None]       # steps 2..28, ms after
    torch.testing.assert_close(raw[0, 2:29], torch.exp(-t / torch.tensor([10.0, 100.0],
                                                                        dtype=torch.float64)),
                               rtol=1e-5, atol=1e-6)        # the decay factors are float32
    # steady firing at 50 Hz reads about 1 on every trace, before compression
    steady = torch.zeros(1, 8000, 5, dtype=torch.float64)
    steady[0, 39::40, 4] = 1.0
    mean_seen = torch.sinh(traces.of_train(steady)[0, 4000:]).mean(0)
    torch.testing.assert_close(mean_seen, torch.ones(2, dtype=torch.float64) * 0.05 / RATE_UNIT,
                               rtol=0.05, atol=0)
    with pytest.raises(ValueError, match="must be positive"):
        SpikeTraces((0.0,), 5, 0.1)
    with pytest.raises(ValueError, match="need feedback=True"):
        SurrogateNet(3, 5, spike_traces=(10.0,), output_dt=0.1)


def random_modulation(net, seed=0):
    """Give a feature-modulated network's modulation layer random weights (it starts as
    the identity)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.film.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return net


def per_cell_conditions(x, n_film, seed=2):
    """``x`` with its last ``n_film`` inputs replaced by constant per-cell values."""
    g = torch.Generator().manual_seed(seed)
    z = torch.rand(x.shape[1], n_film, generator=g, dtype=x.dtype) * 2.0 - 1.0
    x = x.clone()
    x[..., x.shape[-1] - n_film:] = z
    return x


@pytest.mark.parametrize("traces,film", [((), 0), ((2.0, 50.0), 0), ((2.0, 50.0), 2)])
def test_fast_inference_step_equals_the_training_modules(traces, film):
    """The inference closed loop (sigmoid-only kernels, packed weights) gives the trained
    network's v to float32 rounding and the same spikes as the differentiable path, also
    with feature modulation by the conditions (``film``), and an optimiser-style in-place
    weight change invalidates its packed weights."""
    torch.manual_seed(1)
    net = SurrogateNet(3, 5, feedback=True, spike_traces=traces, output_dt=0.1,
                       film=film).eval()
    if film:
        random_modulation(net)
    n_cells, n_steps = 300, 120
    x = torch.randn(n_steps, n_cells, 3) * 2.0
    if film:
        x = per_cell_conditions(x, film)
    start = net.zero_state(n_cells)
    fed0 = torch.zeros(n_cells, net.n_fed)
    threshold = float(torch.quantile(net(torch.cat([x, torch.zeros(n_steps, n_cells,
                                                                   net.n_fed)], -1),
                                         start)[1].detach(), 0.97))
    with torch.no_grad():
        fast = net.run_closed_loop(x, start, fed0, threshold)
    with torch.enable_grad():
        ref = net.run_closed_loop(x, start, fed0, threshold)
    assert 0 < int(ref[2].sum()) < ref[2].numel()
    assert torch.equal(fast[2], ref[2])
    torch.testing.assert_close(fast[0], ref[0].detach(), rtol=0, atol=1e-4)
    for got, want in zip(fast[3][1:3], ref[3][1:3]):
        torch.testing.assert_close(got, want.detach(), rtol=0, atol=1e-4)
    with torch.no_grad():
        net.readout.bias.add_(1.0)
        shifted = net.run_closed_loop(x[:5], start, fed0, threshold)
    torch.testing.assert_close(shifted[0][0], fast[0][0] + 1.0, rtol=0, atol=1e-4)


EXTRA = {"v.apical_tuft": ("mV", -60.0, 5.0), "dipole": ("nAm", 0.0, 2.0)}


def test_extra_outputs_are_scaled_per_output_and_stream(tmp_path):
    """A network with analog outputs besides v (a detailed cell's dendritic v, dipole): the
    runtime returns each in its card's units (its own offset and scale applied to its block
    of the read-out), and stepping it one native step at a time equals one sequence call."""
    pkg = load_celltype(make_package(tmp_path, extra_outputs=EXTRA))
    assert pkg.recordables == ("v", "v.apical_tuft", "dipole")
    rt = pkg.runtime("cpu", dtype=torch.float64)
    drive = random_drive(30, 4)
    out, spikes, _ = rt.run(drive, rt.initial_state(4))
    assert set(out) == {"v", "v.apical_tuft", "dipole"}
    assert all(value.shape == (150, 4) for value in out.values())

    from pyNN_surrogate.surrogates.runtime import normalise
    from pyNN_surrogate.surrogates.model import flatten_bins
    state = rt.initial_state(4)
    analog, _, _ = rt.net(normalise(drive, rt._scales), state[:4])
    assert analog.shape == (30, 4, 15)
    for k, (name, (_, offset, scale)) in enumerate([("v", (None, -65.0, 10.0)),
                                                     *EXTRA.items()]):
        want = offset + scale * flatten_bins(analog[..., 5 * k:5 * (k + 1)])
        torch.testing.assert_close(out[name], want, rtol=0, atol=1e-10)
    assert not torch.allclose(out["v"], out["v.apical_tuft"])

    state, parts = rt.initial_state(4), []
    for k in range(30):
        o, _, state = rt.run(drive[k:k + 1], state)
        parts.append(o["dipole"])
    torch.testing.assert_close(torch.cat(parts), out["dipole"], rtol=0, atol=1e-10)


def test_extra_outputs_in_the_closed_loop(tmp_path):
    """With spike feedback, the fast inference step and the differentiable step give the same
    extra outputs; a card whose outputs do not match the network is refused."""
    pkg = load_celltype(make_package(tmp_path, extra_outputs=EXTRA, feedback=True))
    net = pkg.runtime("cpu").net
    x = torch.randn(40, 300, 3)
    start, fed0 = net.zero_state(300), torch.zeros(300, 5)
    with torch.no_grad():
        fast = net.run_closed_loop(x, start, fed0, 0.0)
    with torch.enable_grad():
        ref = net.run_closed_loop(x, start, fed0, 0.0)
    assert fast[0].shape == (40, 300, 15)
    assert torch.equal(fast[2], ref[2])
    torch.testing.assert_close(fast[0], ref[0].detach(), rtol=0, atol=1e-4)

    card_path = tmp_path / "Toy_cond_exp" / "card.json"
    card = json.loads(card_path.read_text())
    del card["outputs"]["dipole"]
    card_path.write_text(json.dumps(card))
    with pytest.raises(ValueError, match="do not match the network"):
        load_celltype(tmp_path / "Toy_cond_exp").runtime("cpu")


def test_log_transformed_output_is_exponentiated(tmp_path):
    """An output the card declares ``transform: log`` (a concentration) is ``exp`` of its
    scaled read-out; an unknown transform is refused."""
    path = make_package(tmp_path, extra_outputs=EXTRA)
    drive = random_drive(10, 3)
    rt = load_celltype(path).runtime("cpu", dtype=torch.float64)
    plain, _, _ = rt.run(drive, rt.initial_state(3))
    card = json.loads((path / "card.json").read_text())
    card["outputs"]["dipole"]["transform"] = "log"
    (path / "card.json").write_text(json.dumps(card))
    rt = load_celltype(path).runtime("cpu", dtype=torch.float64)
    logged, _, _ = rt.run(drive, rt.initial_state(3))
    torch.testing.assert_close(logged["dipole"], torch.exp(plain["dipole"]), rtol=1e-10,
                               atol=0)
    torch.testing.assert_close(logged["v"], plain["v"], rtol=0, atol=0)
    card["outputs"]["dipole"]["transform"] = "sqrt"
    (path / "card.json").write_text(json.dumps(card))
    with pytest.raises(ValueError, match="unknown transform 'sqrt'"):
        load_celltype(path).runtime("cpu")
