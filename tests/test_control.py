"""Control functions: setup, run, reset, state queries, devices and import names."""

import subprocess
import sys

import numpy as np
import pytest

import pyNN_surrogate
from pyNN_surrogate import simulator


def test_both_import_names_give_one_module():
    import pyNN.surrogate

    assert pyNN.surrogate is pyNN_surrogate
    assert pyNN.surrogate.state is pyNN_surrogate.state
    import pyNN.surrogate.simulator as via_alias

    assert via_alias is simulator


def test_alias_is_active_in_a_fresh_interpreter():
    code = ("import pyNN.surrogate as sim, pyNN_surrogate;"
            "assert sim is pyNN_surrogate; print(sim.__name__)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pyNN_surrogate"


@pytest.mark.parametrize("timestep", [0.1, 0.025])
def test_setup_and_state_queries(timestep):
    sim = pyNN_surrogate
    assert sim.setup(timestep=timestep, min_delay=0.5, max_delay=20.0, device="cpu",
                     use_cvode=False) == 0
    assert sim.get_time_step() == timestep
    assert sim.get_min_delay() == 0.5
    assert sim.get_max_delay() == 20.0
    assert sim.num_processes() == 1 and sim.rank() == 0
    assert sim.get_current_time() == 0.0
    cells = sim.Population(2, sim.HH_cond_exp())
    cells.record(["v", "gsyn_exc"])
    sim.run(10.0)
    v = cells.get_data().segments[0].filter(name="v")[0]
    assert v.shape == (int(round(10.0 / timestep)) + 1, 2)
    assert float(v.sampling_period) == timestep
    sim.end()


def test_run_run_until_run_for_advance_the_clock(sim):
    sim.Population(2, sim.HH_cond_exp())
    assert sim.run(10.0) == pytest.approx(10.0)
    assert sim.run_until(25.0) == pytest.approx(25.0)
    assert sim.run_for(5.0) == pytest.approx(30.0)
    assert sim.get_current_time() == pytest.approx(30.0)
    with pytest.raises(ValueError, match="in the past"):
        sim.run_until(10.0)


def test_reset_starts_a_new_segment_and_time_zero(sim):
    cells = sim.Population(2, sim.HH_cond_exp())
    cells.record("v")
    sim.run(20.0)
    sim.reset()
    assert sim.get_current_time() == 0.0
    sim.run(10.0)
    block = cells.get_data()
    assert len(block.segments) == 2
    assert [s.name for s in block.segments] == ["segment000", "segment001"]
    assert block.segments[0].analogsignals[0].shape == (201, 2)
    assert block.segments[1].analogsignals[0].shape == (101, 2)


def test_run_before_setup_is_refused():
    simulator.state.clear()
    with pytest.raises(simulator.NotSetUpError, match="setup"):
        pyNN_surrogate.run(10.0)
    with pytest.raises(simulator.NotSetUpError, match="setup"):
        pyNN_surrogate.Population(2, pyNN_surrogate.HH_cond_exp())


def test_device_from_environment_variable(monkeypatch):
    monkeypatch.setenv(simulator.DEVICE_ENVIRONMENT_VARIABLE, "cpu")
    pyNN_surrogate.setup()
    assert simulator.state.device.type == "cpu"
    monkeypatch.setenv(simulator.DEVICE_ENVIRONMENT_VARIABLE, "cuda:0")
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(pyNN_surrogate.errors.InvalidParameterValueError, match="CUDA"):
            pyNN_surrogate.setup()


def test_min_delay_below_timestep_is_refused():
    with pytest.raises(Exception, match="min_delay"):
        pyNN_surrogate.setup(timestep=0.1, min_delay=0.05)


def test_same_seed_gives_bit_identical_results():
    def simulate():
        sim = pyNN_surrogate
        sim.setup(timestep=0.1, rng_seed=99, device="cpu")
        sources = sim.Population(10, sim.SpikeSourcePoisson(rate=100.0))
        cells = sim.Population(10, sim.HH_cond_exp())
        sim.Projection(sources, cells, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=0.01, delay=1.0))
        noise = sim.NoisyCurrentSource(mean=0.1, stdev=0.2, dt=1.0)
        noise.inject_into(cells)
        cells.record(["spikes", "v"])
        sources.record("spikes")
        sim.run(100.0)
        seg = cells.get_data().segments[0]
        src = sources.get_data().segments[0]
        return ([np.asarray(st) for st in seg.spiketrains + src.spiketrains],
                np.asarray(seg.analogsignals[0]))

    spikes_a, v_a = simulate()
    spikes_b, v_b = simulate()
    assert sum(len(s) for s in spikes_a) > 0
    assert all(np.array_equal(a, b) for a, b in zip(spikes_a, spikes_b))
    assert np.array_equal(v_a, v_b)


def test_reset_restores_every_state(sim):
    sources = sim.Population(5, sim.SpikeSourceArray(spike_times=np.arange(5.0, 95.0, 7.0)))
    cells = sim.Population(5, sim.HH_cond_exp())
    sim.Projection(sources, cells, sim.OneToOneConnector(),
                   sim.TsodyksMarkramSynapse(weight=0.05, delay=1.5, U=0.3, tau_rec=300.0))
    cells.record(["v", "gsyn_exc", "spikes"])
    sim.run(100.0)
    sim.reset()
    sim.run(100.0)
    first, second = cells.get_data().segments
    for a, b in zip(first.analogsignals, second.analogsignals):
        assert np.array_equal(np.asarray(a), np.asarray(b)), a.name
    for a, b in zip(first.spiketrains, second.spiketrains):
        assert np.array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs CUDA")
def test_cuda_run_matches_cpu_run():
    """On a CUDA machine: the same network gives the same spikes on CPU and GPU."""
    results = {}
    for device in ("cpu", "cuda"):
        sim = pyNN_surrogate
        sim.setup(timestep=0.1, min_delay=1.0, device=device, rng_seed=3)
        stim = sim.Population(20, sim.SpikeSourceArray(
            spike_times=[np.arange(5.0, 200.0, 9.0 + i) for i in range(20)]))
        cells = sim.Population(20, sim.HH_cond_exp())
        sim.Projection(stim, cells, sim.OneToOneConnector(),
                       sim.StaticSynapse(weight=0.05, delay=1.0))
        sim.Projection(cells, cells, sim.FixedProbabilityConnector(0.2, rng=sim.NumpyRNG(1)),
                       sim.TsodyksMarkramSynapse(weight=0.01, delay=2.0))
        cells.record(["spikes", "v"])
        sim.run(200.0)
        segment = cells.get_data().segments[0]
        results[device] = (segment.spiketrains, np.asarray(segment.analogsignals[0]))
        sim.end()
    assert np.allclose(results["cpu"][1], results["cuda"][1], atol=1e-2)
    for a, b in zip(results["cpu"][0], results["cuda"][0]):
        assert len(a) == len(b) and np.allclose(a, b, atol=0.11)
