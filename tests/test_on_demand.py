"""On-demand surrogates for out-of-domain intrinsic parameters: cache key, cache hit, errors.

The training itself is replaced by a fake trainer that publishes a copy of the shipped
HH_cond_exp package with the requested parameter set in its card: these tests check the
plumbing (key, cache layout, when training happens, what the backend loads), not accuracy.
"""

import json
import shutil
from pathlib import Path

import pytest
from pyNN import errors

from pyNN_surrogate.surrogates.package import celltype_search_path
from pyNN_surrogate.training import on_demand

PARAMS = {"gbar_Na": 25.0, "gbar_K": 5.0}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PYNN_SURROGATE_CACHE", str(tmp_path))
    monkeypatch.delenv("PYNN_SURROGATE_TRAIN_MISSING", raising=False)
    return tmp_path


def shipped_hh():
    for root in celltype_search_path():
        if (root / "HH_cond_exp" / "card.json").exists():
            return root / "HH_cond_exp"
    pytest.skip("no shipped HH_cond_exp package")


class FakeTrainer:
    """Writes <out>/HH_cond_exp as the shipped package with the trained values in its card."""

    def __init__(self):
        self.calls = []

    def __call__(self, argv):
        self.calls.append(list(argv))
        out = Path(argv[argv.index("--out") + 1]) / argv[0]
        shutil.copytree(shipped_hh(), out)
        card = json.loads((out / "card.json").read_text())
        for item in argv[argv.index("--out") + 2:]:
            if "=" in item:
                name, value = item.split("=")
                card["domain"][name]["value"] = float(value)
        (out / "card.json").write_text(json.dumps(card))
        return out


def test_cache_key_depends_on_celltype_values_and_code_version(monkeypatch):
    key = on_demand.cache_key("HH_cond_exp", PARAMS)
    assert len(key) == 16
    assert key == on_demand.cache_key("HH_cond_exp", {"gbar_K": 5, "gbar_Na": 25})
    assert key != on_demand.cache_key("HH_cond_exp", {"gbar_Na": 25.0, "gbar_K": 5.5})
    assert key != on_demand.cache_key("IF_cond_exp", PARAMS)
    monkeypatch.setattr(on_demand, "ON_DEMAND_VERSION", on_demand.ON_DEMAND_VERSION + 1)
    assert key != on_demand.cache_key("HH_cond_exp", PARAMS)


def test_training_arguments_name_the_exact_parameter_set(tmp_path):
    argv = on_demand.training_arguments("HH_cond_exp", PARAMS, tmp_path)
    assert argv[0] == "HH_cond_exp"
    assert argv[argv.index("--out") + 1] == str(tmp_path)
    assert "gbar_Na=25.0" in argv and "gbar_K=5.0" in argv
    assert argv[argv.index("--minutes") + 1] == "6"      # the 10-minute budget, measured
    assert "--feedback" in argv and "--init-from" not in argv
    warm = on_demand.training_arguments("HH_cond_exp", PARAMS, tmp_path, "celltypes/HH")
    assert warm[warm.index("--init-from") + 1] == "celltypes/HH"


def test_the_shipped_unconditioned_package_is_the_warm_start():
    from pyNN_surrogate.surrogates import load_celltype
    assert on_demand.shipped_package("HH_cond_exp") == load_celltype("HH_cond_exp").path
    assert on_demand.shipped_package("NoSuchCell_xyz") is None


def test_trains_once_then_reuses_the_cache(cache):
    import torch
    trainer = FakeTrainer()
    threads = torch.get_num_threads()

    def trainer_changing_threads(argv):
        torch.set_num_threads(threads + 1)
        return trainer(argv)
    first = on_demand.find_or_train("HH_cond_exp", PARAMS, progress=False,
                                    trainer=trainer_changing_threads)
    assert torch.get_num_threads() == threads                  # restored after training
    assert first == on_demand.package_dir("HH_cond_exp", PARAMS)
    assert (first / "card.json").exists() and first.is_relative_to(cache)
    assert not list(cache.glob("celltypes/*.partial-*"))        # staging dir published
    second = on_demand.find_or_train("HH_cond_exp", PARAMS, progress=False, trainer=trainer)
    assert second == first and len(trainer.calls) == 1


def test_backend_refuses_with_two_ways_forward_when_option_is_off(sim, cache):
    with pytest.raises(errors.InvalidParameterValueError,
                       match=r"(?s)'gbar_Na' = 25 is outside.*fixed at 20.*"
                             r"--param gbar_Na=25 --param gbar_K=5.*train_missing=True"):
        sim.Population(2, sim.HH_cond_exp(**PARAMS))
    assert not (cache / "celltypes").exists()                     # nothing trained


def test_backend_refuses_heterogeneous_off_domain_values(cache):
    import pyNN_surrogate as sim
    sim.setup(timestep=0.1, train_missing=True)
    try:
        with pytest.raises(errors.InvalidParameterValueError, match="differs between cells"):
            sim.Population(2, sim.HH_cond_exp(gbar_Na=[25.0, 26.0]))
    finally:
        sim.end()


def test_backend_uses_the_cached_surrogate_without_training(cache, monkeypatch):
    import pyNN_surrogate as sim
    on_demand.find_or_train("HH_cond_exp", PARAMS, progress=False, trainer=FakeTrainer())

    def no_training(argv):
        raise AssertionError("the cached surrogate should have been used")
    monkeypatch.setattr("pyNN_surrogate.train.main", no_training)
    sim.setup(timestep=0.1, train_missing=True)
    try:
        cells = sim.Population(2, sim.HH_cond_exp(**PARAMS))
        default = sim.Population(2, sim.HH_cond_exp())
        cells.record("v")
        sim.run(5.0)
        assert cells._package.key == str(on_demand.package_dir("HH_cond_exp", PARAMS))
        assert default._package.key != cells._package.key
        assert cells.get_data().segments[0].analogsignals[0].shape == (51, 2)
    finally:
        sim.end()
