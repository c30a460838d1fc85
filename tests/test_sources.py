"""Spike sources and current sources on pyNN_surrogate."""

import numpy as np
import pytest
from elephant.statistics import cv, isi


def recorded_trains(population, simtime):
    """Record the spikes of `population`, run for `simtime` ms and return its spike trains."""
    import pyNN_surrogate

    population.record("spikes")
    pyNN_surrogate.run(simtime)
    return population.get_data().segments[0].spiketrains


def test_poisson_source_rate_and_window(sim):
    sources = sim.Population(200, sim.SpikeSourcePoisson(rate=50.0, start=100.0,
                                                         duration=1000.0))
    trains = recorded_trains(sources, 1500.0)
    all_times = np.concatenate([np.asarray(t) for t in trains])
    assert all_times.min() >= 100.0 and all_times.max() <= 1100.0
    rate = all_times.size / (200 * 1.0)
    assert rate == pytest.approx(50.0, rel=0.05)
    assert np.mean([cv(isi(t)) for t in trains if len(t) > 3]) == pytest.approx(1.0, abs=0.1)


def test_spike_source_array_emits_exactly_its_times(sim):
    times = [np.array([1.0, 5.5, 20.2]), np.array([]), np.array([3.3])]
    sources = sim.Population(3, sim.SpikeSourceArray(spike_times=times))
    trains = recorded_trains(sources, 30.0)
    for got, expected in zip(trains, times):
        assert np.allclose(np.asarray(got), expected)


def test_spike_source_array_refuses_unsorted_or_negative_times(sim):
    with pytest.raises(sim.errors.InvalidParameterValueError, match="sorted"):
        sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0, 1.0]))
    with pytest.raises(sim.errors.InvalidParameterValueError, match="non-negative"):
        sim.Population(1, sim.SpikeSourceArray(spike_times=[-1.0, 1.0]))
    sources = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0, 2.0]))
    with pytest.raises(sim.errors.InvalidParameterValueError, match="sorted"):
        sources.set(spike_times=[3.0, 2.0])
    assert np.allclose(sources.get("spike_times")[0].value
                       if hasattr(sources.get("spike_times"), "__len__")
                       else sources.get("spike_times").value, [1.0, 2.0])


def test_gamma_source_is_more_regular_than_poisson(sim):
    sources = sim.Population(100, sim.SpikeSourceGamma(alpha=4.0, beta=80.0, duration=2000.0))
    trains = recorded_trains(sources, 2000.0)
    rate = sum(len(t) for t in trains) / (100 * 2.0)
    assert rate == pytest.approx(20.0, rel=0.08)  # mean rate beta / alpha
    assert np.mean([cv(isi(t)) for t in trains if len(t) > 3]) == pytest.approx(0.5, abs=0.08)


def test_poisson_refractory_source_respects_dead_time(sim):
    sources = sim.Population(100, sim.SpikeSourcePoissonRefractory(rate=40.0, tau_refrac=5.0,
                                                                   duration=2000.0))
    trains = recorded_trains(sources, 2000.0)
    intervals = np.concatenate([np.diff(np.asarray(t)) for t in trains])
    assert intervals.min() >= 5.0 - 1e-9
    rate = sum(len(t) for t in trains) / (100 * 2.0)
    assert rate == pytest.approx(40.0, rel=0.08)


def test_source_rate_can_change_between_runs(sim):
    sources = sim.Population(100, sim.SpikeSourcePoisson(rate=10.0))
    sources.record("spikes")
    sim.run(1000.0)
    sources.set(rate=100.0)
    sim.run(1000.0)
    times = np.concatenate([np.asarray(t) for t in sources.get_data().segments[0].spiketrains])
    first, second = np.sum(times < 1000.0), np.sum(times >= 1000.0)
    assert first / 100 == pytest.approx(10.0, rel=0.2)
    assert second / 100 == pytest.approx(100.0, rel=0.1)


def test_current_injection_changes_the_surrogate_voltage(sim):
    cells = sim.Population(2, sim.HH_cond_exp())
    step = sim.DCSource(amplitude=0.02, start=20.0, stop=80.0)  # subthreshold: ~2 mV
    step.inject_into(cells[0:1])
    cells.record("v")
    sim.run(100.0)
    v = np.asarray(cells.get_data().segments[0].filter(name="v")[0])
    injected, control = v[:, 0], v[:, 1]
    assert np.ptp(control) < 0.5                        # no current: stays at rest
    assert np.array_equal(injected[:200], control[:200])  # identical before the onset
    # the onset shows within one native step (0.5 ms) of the current's start
    assert injected[205] > control[205] + 0.01
    assert injected[300:790].mean() > control[300:790].mean() + 0.5
    # and the cell relaxes back after the current stops
    assert abs(injected[-1] - control[-1]) < abs(injected[790] - control[790])


def test_noisy_current_recording(sim):
    cells = sim.Population(1, sim.HH_cond_exp())
    noise = sim.NoisyCurrentSource(mean=0.1, stdev=0.05, start=10.0, stop=90.0, dt=1.0)
    noise.inject_into(cells)
    noise.record()
    sim.run(100.0)
    current = np.asarray(noise.get_data()).ravel()
    assert current.shape == (1001,)
    assert np.all(current[:99] == 0.0) and np.all(current[-95:] == 0.0)
    inside = current[110:890]
    assert inside.mean() == pytest.approx(0.1, abs=0.03)
    assert inside.std() == pytest.approx(0.05, rel=0.4)
    n_changes = np.count_nonzero(np.diff(inside))
    assert 40 <= n_changes <= 78  # a new value every 1 ms (the noise dt) over 78 ms
