"""Validation metrics, tolerances and argument handling on synthetic data with known answers."""

import json

import neo
import numpy as np
import pytest
import quantities as pq

from pyNN_surrogate.validation import metrics as m
from pyNN_surrogate.validation.report import json_safe
from pyNN_surrogate.validation.tolerances import Tolerances, ToleranceFileError, overall_passed
from pyNN_surrogate.validate import split_arguments


def train(times, t_stop=1000.0):
    return neo.SpikeTrain(np.asarray(times, float) * pq.ms, t_start=0 * pq.ms,
                          t_stop=t_stop * pq.ms)


def test_one_to_one_matching_counts_each_spike_once():
    ref = [10.0, 20.0, 30.0]
    # two candidate spikes near 10 ms: only one may match; 31.5 matches 30 at 2 ms, not at 1 ms
    cand = [9.0, 11.0, 31.5]
    assert m.match_spikes(ref, cand, 2.0) == 2
    assert m.match_spikes(ref, cand, 1.0) == 1
    scores = m.spike_scores([ref], [cand], 2.0)
    assert scores["precision"] == pytest.approx(2 / 3)
    assert scores["recall"] == pytest.approx(2 / 3)
    assert scores["f1"] == pytest.approx(2 / 3)


def test_spike_agreement_known_answers():
    ref = [train([100.0, 200.0, 300.0, 400.0]), train([50.0]), train([])]
    cand = [train([101.0, 205.0, 300.0]), train([]), train([])]
    result = m.spike_agreement(ref, cand, tolerances=(2.0, 10.0))
    at2, at10 = result["scores"][2.0], result["scores"][10.0]
    assert (at2["n_true"], at2["n_pred"], at2["n_matched"]) == (5, 3, 2)
    assert at2["precision"] == pytest.approx(2 / 3)
    assert at2["recall"] == pytest.approx(2 / 5)
    assert at10["n_matched"] == 3
    assert at10["f1"] == pytest.approx(2 * 1.0 * 0.6 / 1.6)
    f1_cell0 = result["f1_per_cell"][2.0][0]
    assert f1_cell0 == pytest.approx(2 * (2 / 3) * (2 / 4) / ((2 / 3) + (2 / 4)))
    assert result["f1_per_cell"][2.0][1] == 0.0
    assert np.isnan(result["f1_per_cell"][2.0][2])      # silent on both sides
    assert result["van_rossum"][2] == 0.0


def test_van_rossum_identical_empty_and_far_apart():
    a = train([100.0, 500.0])
    assert m.van_rossum(a, train([100.0, 500.0])) == pytest.approx(0.0, abs=1e-6)
    # elephant's normalisation: one spike against nothing gives distance 1
    assert m.van_rossum(train([100.0]), train([])) == pytest.approx(1.0, rel=1e-3)
    far = m.spike_agreement([a], [train([300.0, 800.0])])["van_rossum_normalised"]
    assert far == pytest.approx(1.0, abs=0.01)
    same = m.spike_agreement([a], [a])["van_rossum_normalised"]
    assert same == pytest.approx(0.0, abs=1e-6)


def test_firing_rates_and_cv():
    regular = train(np.arange(10.0, 1000.0, 100.0))        # 10 spikes in 1 s
    rates = m.firing_rates([regular, train([])])
    assert rates == pytest.approx([10.0, 0.0])
    cvs = m.cv_isi([regular, train([10.0, 20.0])])
    assert cvs[0] == pytest.approx(0.0, abs=1e-12)
    assert np.isnan(cvs[1])                                # fewer than 3 spikes
    rng = np.random.default_rng(0)
    poisson = train(np.sort(rng.uniform(0, 1000.0, 2000)))
    assert m.cv_isi([poisson])[0] == pytest.approx(1.0, abs=0.1)


def test_population_rate_and_correlation():
    trains = [train([2.0, 12.0]), train([3.0])]
    times, rate = m.population_rate(trains, bin_size=10.0)
    assert times[:2] == pytest.approx([0.0, 10.0])
    # bin 0: 2 spikes / 2 cells / 10 ms = 100 Hz; bin 1: 50 Hz
    assert rate[:3] == pytest.approx([100.0, 50.0, 0.0])
    assert m.rate_correlation([1, 2, 3, 4], [2, 4, 6, 8]) == pytest.approx(1.0)
    assert m.rate_correlation([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert np.isnan(m.rate_correlation([1, 1, 1], [1, 2, 3]))


def test_ks_statistic():
    assert m.ks_statistic([1, 2, 3], [1, 2, 3]) == pytest.approx(0.0)
    assert m.ks_statistic([1, 2, 3], [10, 11, 12]) == pytest.approx(1.0)
    assert np.isnan(m.ks_statistic([np.nan], [1.0]))


def test_align_signals_interpolates_candidate_and_scores():
    t_ref = np.arange(0, 100.0, 0.1)
    ref = neo.AnalogSignal(np.column_stack([np.sin(t_ref / 5), np.cos(t_ref / 5)]) * pq.mV,
                           sampling_period=0.1 * pq.ms)
    t_cand = np.arange(0, 100.0, 0.5)
    cand = neo.AnalogSignal(np.column_stack([np.sin(t_cand / 5), np.cos(t_cand / 5)]) * pq.mV,
                            sampling_period=0.5 * pq.ms)
    times, a, b = m.align_signals(ref, cand)
    assert times[-1] <= t_cand[-1] + 1e-9
    assert a.shape == b.shape and a.shape[1] == 2
    scores = m.signal_scores(a, b)
    assert np.all(scores["r"] > 0.999)
    assert np.all(scores["rmse"] < 0.01)
    shifted = m.signal_scores(a, a + 2.0)
    assert shifted["rmse"] == pytest.approx([2.0, 2.0])
    clipped = m.signal_scores(np.array([[0.0], [-50.0], [10.0]]), np.array([[-40.0], [-50.0],
                                                                          [-45.0]]), clip=-40.0)
    assert clipped["rmse"][0] == pytest.approx(np.sqrt(25.0 / 3))


def test_tolerance_checks_and_overrides(tmp_path):
    tolerances = Tolerances()
    assert tolerances.check("spike_f1_2ms", 0.95)["status"] == "pass"
    assert tolerances.check("spike_f1_2ms", 0.1)["status"] == "fail"
    assert tolerances.check("rate_rel_error", 0.01)["status"] == "pass"
    assert tolerances.check("rate_rel_error", 5.0)["status"] == "fail"
    assert tolerances.check("speed_ratio", 3.0)["status"] == "info"
    assert tolerances.check("cv_isi_abs_error", float("nan"))["status"] == "n/a"
    assert tolerances.check("spike_f1_2ms", 0.1, applicable=False)["status"] == "info"
    override = tmp_path / "tol.json"
    override.write_text(json.dumps({"metrics": {"spike_f1_2ms": {"threshold": 0.05}},
                                    "groups": {"exc": {"rate_rel_error": {"threshold": 10}}}}))
    custom = Tolerances(override)
    assert custom.check("spike_f1_2ms", 0.1)["status"] == "pass"
    assert custom.check("rate_rel_error", 5.0, group="exc")["status"] == "pass"
    assert custom.check("rate_rel_error", 5.0, group="inh")["status"] == "fail"
    assert overall_passed([custom.check("spike_f1_2ms", 0.1)])
    assert not overall_passed([tolerances.check("spike_f1_2ms", 0.1)])


def test_bad_tolerance_files(tmp_path):
    bad_op = tmp_path / "op.json"
    bad_op.write_text(json.dumps({"metrics": {"v_r": {"op": "=="}}}))
    with pytest.raises(ToleranceFileError, match="op '=='"):
        Tolerances(bad_op)
    bad_key = tmp_path / "key.json"
    bad_key.write_text(json.dumps({"metric": {}}))
    with pytest.raises(ToleranceFileError, match="unknown top-level keys"):
        Tolerances(bad_key)
    with pytest.raises(ToleranceFileError, match="cannot read"):
        Tolerances(tmp_path / "missing.json")


def test_split_arguments_separates_validator_and_script_options():
    own, script, args = split_arguments(
        ["net.py", "--duration", "200", "--out", "rep", "--candidate=neuron", "--quick",
         "--", "--out", "x"])
    assert script == "net.py"
    assert own == ["--out", "rep", "--candidate=neuron", "--quick"]
    assert args == ["--duration", "200", "--out", "x"]


def test_json_safe_converts_numpy_and_nan():
    converted = json_safe({"a": np.float32(1.5), "b": np.array([1, 2]), "c": float("nan"),
                           1.0: np.bool_(True)})
    assert converted == {"a": 1.5, "b": [1, 2], "c": None, "1.0": True}
    json.dumps(converted)


def test_ks_ignores_float_rounding_of_rates():
    from pyNN_surrogate.validation.metrics import ks_statistic

    rates = np.full(10, 8.0)
    assert ks_statistic(rates, rates * (1 - 1e-12)) == 0.0
    assert ks_statistic(rates, rates + 1.0) == 1.0
