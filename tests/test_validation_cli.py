"""End to end: ``python -m pyNN_surrogate.validate`` reports, metrics.json schema, exit codes.

The comparisons use pyNN.neuron on both sides (``--candidate neuron``), so they do not depend on
the surrogate backend; one test uses the surrogate and is skipped without trained cell types.
"""

import json
from pathlib import Path

import pytest

from pyNN_surrogate import validate

from test_validation_runner import TINY_SCRIPT

pytest.importorskip("neuron")

CHECK_KEYS = {"group", "metric", "value", "op", "threshold", "status", "description"}
STATUSES = {"pass", "fail", "info", "n/a"}


@pytest.fixture(scope="module")
def tiny_script(tmp_path_factory):
    path = tmp_path_factory.mktemp("scripts") / "tiny_net.py"
    path.write_text(TINY_SCRIPT)
    return path


@pytest.fixture(scope="module")
def neuron_report(tiny_script, tmp_path_factory):
    """validate on neuron against neuron, keeping the data for later re-analysis."""
    out = tmp_path_factory.mktemp("report")
    status = validate.main([str(tiny_script), "--candidate", "neuron", "--out", str(out),
                            "--keep-data", "--no-progress"])
    return status, out


def test_identical_backends_pass_with_exit_code_0(neuron_report):
    status, out = neuron_report
    assert status == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["passed"] is True and metrics["exit_code"] == 0
    assert metrics["identical_inputs"] is True
    exc = metrics["groups"]["exc"]["metrics"]
    assert exc["spike_f1_2ms"] == pytest.approx(1.0)
    assert exc["van_rossum_normalised"] == pytest.approx(0.0, abs=1e-6)
    assert exc["v_r"] == pytest.approx(1.0)
    assert exc["v_rmse"] == pytest.approx(0.0, abs=1e-9)
    assert exc["rate_rel_error"] == 0.0


def test_metrics_json_schema(neuron_report):
    _, out = neuron_report
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["schema_version"] == 1
    assert metrics["kind"] == "script"
    for role in ("reference", "candidate"):
        run = metrics[role]
        assert run["backend"] == "neuron"
        assert run["wall_run_s"] > 0 and run["wall_script_s"] >= run["wall_run_s"]
        assert run["t_stop_ms"] == pytest.approx(40.0, abs=0.2)   # after reset + run(40)
    assert metrics["speed_ratio"] > 0
    assert set(metrics["groups"]) == {"exc", "inh", "cells"}
    assert metrics["groups"]["cells"]["kind"] == "assembly"
    assert metrics["groups"]["exc"]["n_segments"] == 2
    assert metrics["checks"], "no checks"
    for check in metrics["checks"]:
        assert CHECK_KEYS <= set(check)
        assert check["status"] in STATUSES
        assert check["op"] in ("<=", ">=")
    checked = {(c["group"], c["metric"]) for c in metrics["checks"]}
    for metric in ("rate_rel_error", "rate_ks", "pop_rate_r", "spike_f1_2ms",
                   "spike_f1_10ms", "van_rossum_normalised", "v_r_clipped", "v_rmse"):
        assert ("exc", metric) in checked
    assert (None, "speed_ratio") in checked
    assert set(metrics["tolerances"]["metrics"]) >= {"spike_f1_2ms", "v_rmse"}


def test_report_html_and_figures(neuron_report):
    _, out = neuron_report
    page = (out / "index.html").read_text()
    assert "PASS" in page and "Summary" in page
    for name in ("population_exc_raster.png", "population_exc_distributions.png",
                 "population_exc_agreement.png", "population_exc_v.png",
                 "assembly_cells_raster.png"):
        assert (out / name).stat().st_size > 1000
        assert name in page
    assert (out / "reference.log").exists() and (out / "candidate.log").exists()


def test_impossible_tolerances_fail_with_exit_code_1(neuron_report, tiny_script, tmp_path):
    _, out = neuron_report
    impossible = tmp_path / "impossible.json"
    impossible.write_text(json.dumps({"metrics": {
        "spike_f1_2ms": {"threshold": 1.5}, "v_rmse": {"op": "<=", "threshold": -1.0}}}))
    report = tmp_path / "report"
    status = validate.main([str(tiny_script), "--reuse-runs", str(out / "runs"), "--tolerances",
                            str(impossible), "--out", str(report), "--no-progress",
                            "--no-figures"])
    assert status == 1
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["passed"] is False and metrics["exit_code"] == 1
    failed = {(c["group"], c["metric"]) for c in metrics["checks"] if c["status"] == "fail"}
    assert ("exc", "spike_f1_2ms") in failed and ("exc", "v_rmse") in failed
    assert "FAIL" in (report / "index.html").read_text()
    assert not list(report.glob("*.png"))          # --no-figures


def test_usage_errors_exit_2(tmp_path, capsys, tiny_script):
    assert validate.main(["--out", str(tmp_path)]) == 2
    assert "SCRIPT" in capsys.readouterr().err
    assert validate.main([str(tmp_path / "missing.py")]) == 2
    assert "not found" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert validate.main([str(tiny_script), "--tolerances", str(bad),
                          "--out", str(tmp_path / "r")]) == 2
    assert "cannot read tolerance file" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="2"):
        validate.main([str(tiny_script), "--identical-inputs", "maybe"])


def test_failing_script_exits_2_with_error_report(tiny_script, tmp_path):
    out = tmp_path / "report"
    status = validate.main([str(tiny_script), "--fail", "--candidate", "neuron", "--out",
                            str(out), "--no-progress"])
    assert status == 2
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["kind"] == "error" and metrics["exit_code"] == 2
    assert "deliberate failure after run" in metrics["error"]


def test_cell_mode_quick_on_neuron(tmp_path):
    out = tmp_path / "cell"
    status = validate.main(["--cell", "HH_cond_exp", "--candidate", "neuron", "--quick",
                            "--max-window", "1", "--out", str(out), "--no-progress"])
    assert status in (0, 1)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["kind"] == "cell" and metrics["celltype"] == "HH_cond_exp"
    assert metrics["window_ends_s"] == [1.0]
    assert len(metrics["fi"]["currents_na"]) == len(metrics["fi"]["rates_ref_hz"]) == 6
    status_of = {c["metric"]: c["status"] for c in metrics["checks"]}
    # NEURON at dt 0.1 ms against dt 0.025 ms: same f-I curve and step responses
    assert status_of["fi_rate_mae_hz"] == "pass"
    assert status_of["step_spike_f1_2ms"] == "pass"
    assert {"divergence_spike_f1_2ms", "divergence_rate_error_hz"} <= set(status_of)
    for name in ("fi_curve.png", "step_responses.png", "divergence.png", "freerun_traces.png"):
        assert (out / name).stat().st_size > 1000


def _surrogate_celltypes():
    try:
        from pyNN_surrogate.surrogates import available_celltypes
        return available_celltypes()
    except Exception:   # noqa: BLE001 - any import problem means: skip
        return []


@pytest.mark.skipif("HH_cond_exp" not in _surrogate_celltypes(),
                    reason="no trained HH_cond_exp surrogate available")
def test_surrogate_candidate_end_to_end(tiny_script, tmp_path):
    out = tmp_path / "surrogate"
    status = validate.main([str(tiny_script), "--out", str(out), "--no-progress"])
    assert status in (0, 1), (Path(out) / "candidate.log").read_text()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["candidate"]["backend"] == "surrogate"
    assert set(metrics["groups"]) == {"exc", "inh", "cells"}
    assert metrics["groups"]["exc"]["metrics"]["spike_f1_10ms"] is not None
