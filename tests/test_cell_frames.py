"""Cell frames of conditioned surrogates: the exact per-cell rescaling of drive and v (IF
cells: drive over the leak conductance, v relative to v_rest over the gap to v_thresh), in the
training data, the card, the runtime and the engine. The tiny package is untrained: these tests
check the transformation, not accuracy."""

import copy

import numpy as np
import pytest
import torch

from pyNN_surrogate.surrogates.conditioning import (cell_frames, denormalise_conditions,
                                                     normalise_conditions)
from pyNN_surrogate.training.celltypes import get_cell_spec

IF_COND = get_cell_spec("IF_cond_exp")
REFERENCE = dict(v_rest=-65.0, v_thresh=-50.0, v_reset=-65.0, tau_m=20.0, cm=1.0,
                 tau_refrac=0.1, e_rev_I=-70.0)


def test_if_frames_divide_the_drive_by_the_leak_conductance_and_put_v_on_the_reference_scale():
    values = dict(v_rest=np.array([-65.0, -60.0, -70.0]), v_thresh=np.array([-50.0, -50.0, -52.0]),
                  cm=np.array([1.0, 0.5, 0.5]), tau_m=np.array([20.0, 10.0, 20.0]))
    frames = cell_frames(IF_COND.card_frames(), REFERENCE, values, 3, IF_COND.drive_channels)
    # g_leak = cm / tau_m: 0.05 (reference), 0.05, 0.025 uS, on every channel
    np.testing.assert_allclose(frames.drive_factor, [[1, 1, 1], [1, 1, 1], [0.5, 0.5, 0.5]])
    # each cell's v_rest and v_thresh land on the reference cell's -65 and -50 mV
    v = np.stack([values["v_rest"], values["v_thresh"]], axis=1)
    np.testing.assert_allclose(frames.reference_v(v), [[-65, -50]] * 3, atol=1e-12)
    offset, scale = frames.v_affine(-63.0, 4.0)
    v_norm = (frames.reference_v(v) + 63.0) / 4.0
    np.testing.assert_allclose(offset[:, None] + scale[:, None] * v_norm, v, atol=1e-12)


def test_without_frames_the_transformation_is_the_identity():
    frames = cell_frames(None, REFERENCE, dict(cm=0.3), 2, IF_COND.drive_channels)
    drive = np.random.default_rng(0).random((2, 5, 3))
    np.testing.assert_array_equal(frames.framed_drive(drive), drive)
    np.testing.assert_array_equal(frames.v_affine(-63.0, 4.0)[0], [-63.0, -63.0])


def test_card_frames_keep_only_conditioned_parameters():
    curr = get_cell_spec("IF_curr_exp").card_frames()
    assert curr["drive"] == {"i_inj": {"cm": 1.0, "tau_m": -1.0}}
    assert curr["v"] == dict(origin="v_rest", span=["v_rest", "v_thresh"])
    assert get_cell_spec("EIF_cond_exp_isfa_ista").card_frames() is None
    narrowed = IF_COND.with_ranges([("cm", 0.5, 1.0)])
    assert narrowed.card_frames() == IF_COND.card_frames()


def test_frames_refuse_a_non_positive_drive_factor():
    with pytest.raises(ValueError, match="cm must be > 0"):
        cell_frames(IF_COND.card_frames(), REFERENCE, dict(cm=0.0), 1, IF_COND.drive_channels)


def test_denormalised_conditions_invert_the_normalisation():
    entries = [c.card_entry() for c in IF_COND.conditioned]
    rng = np.random.default_rng(1)
    values = [IF_COND.draw_parameters(rng) for _ in range(5)]
    arrays = {k: np.array([p[k] for p in values]) for k in values[0]}
    back = denormalise_conditions(entries, normalise_conditions(entries, arrays, 5))
    for name, x in arrays.items():
        np.testing.assert_allclose(back[name], x, rtol=1e-5)


def test_cell_frames_need_conditioning():
    from pyNN_surrogate.train import main
    with pytest.raises(SystemExit, match="--cell-frames needs --conditioned"):
        main(["IF_cond_exp", "--cell-frames", "--quiet"])
    with pytest.raises(SystemExit, match="--film needs --conditioned"):
        main(["IF_cond_exp", "--film", "--quiet"])


@pytest.fixture(scope="module")
def tiny_framed(tmp_path_factory):
    from pyNN_surrogate.train import main
    out = tmp_path_factory.mktemp("framed")
    return main(["IF_cond_exp", "--conditioned", "--cell-frames", "--film", "--trials", "12",
                 "--duration", "300", "--steps", "4", "--eval-every", "2", "--batch", "4",
                 "--hidden", "8", "--out", str(out), "--cache-dir", str(out / "cache"),
                 "--stability-ms", "200", "--no-fi", "--quiet"])


def test_framed_runtime_is_the_unframed_network_on_framed_drive(tiny_framed):
    """The runtime with frames equals the same weights without frames, fed drive / g_leak
    relative to the reference and read back in each cell's v frame (the package's network
    is also modulated by its seven conditions, ``--film``)."""
    from pyNN_surrogate.surrogates import load_celltype
    pkg = load_celltype(tiny_framed)
    assert pkg.card["model"]["film"] == 7 and pkg.new_net().film.in_features == 7
    assert pkg.card["conditioning"]["frames"]["v"]["origin"] == "v_rest"
    framed = pkg.runtime("cpu", dtype=torch.float64)
    plain_card = copy.deepcopy(pkg.card)
    del plain_card["conditioning"]["frames"]
    from pyNN_surrogate.surrogates.runtime import SurrogateRuntime
    plain = SurrogateRuntime(pkg.new_net(), plain_card, dtype=torch.float64)
    plain.net.load_state_dict(framed.net.state_dict())
    params = dict(REFERENCE, v_rest=np.array([-65.0, -60.0]), cm=np.array([1.0, 0.4]),
                  tau_m=np.array([20.0, 10.0]))
    drive = torch.rand(30, 2, 3, dtype=torch.float64) * torch.tensor([0.02, 0.02, 0.5],
                                                                     dtype=torch.float64)
    out, _, _ = framed.run(drive, framed.initial_state(2, params))
    factor = torch.tensor([1.0, 0.4 / 10.0 / 0.05])[None, :, None]
    ref_out, _, _ = plain.run(drive / factor, plain.initial_state(2, params))
    stretch = torch.tensor([1.0, 10.0 / 15.0])
    origin = torch.tensor([-65.0, -60.0])
    expected = origin + stretch * (ref_out["v"] + 65.0)
    torch.testing.assert_close(out["v"], expected)
    rest_plain = plain.resting_v(2, params)
    np.testing.assert_allclose(framed.resting_v(2, params),
                               origin.numpy() + stretch.numpy() * (rest_plain + 65.0),
                               atol=1e-4)


def test_engine_updates_the_frames_of_one_group_mid_run(tiny_framed):
    from pyNN_surrogate.engine import Engine, ReceptorSpec
    from pyNN_surrogate.surrogates import load_celltype
    rt = load_celltype(tiny_framed).runtime("cpu")
    eng = Engine(dt=0.1, min_delay=1.0, seed=1)
    receptors = [ReceptorSpec("excitatory", tau=5.0, channel="g_exc")]
    eng.add_cell_group(rt, 2, receptors, conditions=REFERENCE)
    b = eng.add_cell_group(rt, 3, receptors, conditions=REFERENCE)
    eng.run_until(5.0)
    (batch,) = eng._batches
    before = batch.state[6].clone()
    eng.set_group_param(b, "cm", 0.5)
    eng.run_until(10.0)
    after = batch.state[6]
    torch.testing.assert_close(after[0, :2], before[0, :2])            # group a untouched
    torch.testing.assert_close(after[0, 2:, :3], torch.full((3, 3), 0.5))
