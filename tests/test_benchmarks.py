"""The benchmark scripts: the network script's JSON on pyNN.surrogate, and the report writer.

No timing is asserted: the numbers depend on the machine. See benchmarks/run_benchmarks.py.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import run_benchmarks as rb  # noqa: E402

RESULT_KEYS = {"case", "backend", "n_cells", "simtime", "dt", "connectivity", "cell",
               "heterogeneous", "n_synapses", "threads", "import_s", "build_s", "run_s",
               "run_cpu_s", "data_s", "us_per_cell_ms_cpu", "us_per_cell_ms_wall",
               "ru_maxrss_kib", "ru_maxrss_mib", "vm_hwm_mib", "spike_count", "active_cells",
               "rate_hz", "params", "versions"}


def run_network_script(*args):
    command = [sys.executable, str(BENCHMARKS / "network_script.py"), "surrogate",
               "--threads", "1", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith(rb.JSON_MARKER)]
    assert len(lines) == 1, done.stdout
    return json.loads(lines[0][len(rb.JSON_MARKER):])


@pytest.mark.parametrize("n_cells, connectivity, extra", [
    (1, "static", []),                       # AllToAll input, recurrent with replacement
    (30, "tm", ["--heterogeneous", "--record-v", "2"]),
])
def test_network_script_emits_its_json_on_surrogate(n_cells, connectivity, extra, tmp_path):
    json_out = tmp_path / "result.json"
    result = run_network_script("--n-cells", str(n_cells), "--simtime", "50", "--dt", "0.1",
                                "--connectivity", connectivity, "--case", "tiny",
                                "--json-out", str(json_out), *extra)
    assert RESULT_KEYS <= set(result)
    assert json.loads(json_out.read_text()) == result
    assert result["case"] == "tiny" and result["backend"] == "surrogate"
    assert result["n_cells"] == n_cells and result["simtime"] == 50.0 and result["dt"] == 0.1
    assert result["threads"] == 1
    assert result["n_synapses"] == n_cells * 21          # one input + 20 recurrent per cell
    for key in ("build_s", "run_s", "run_cpu_s", "import_s", "ru_maxrss_mib", "vm_hwm_mib",
                "us_per_cell_ms_cpu", "us_per_cell_ms_wall"):
        assert result[key] > 0, key
    assert result["build_s"] >= result["import_s"]
    assert result["ru_maxrss_kib"] == pytest.approx(result["ru_maxrss_mib"] * 1024)
    assert result["spike_count"] >= 0 and 0 <= result["active_cells"] <= n_cells
    assert result["rate_hz"] == pytest.approx(
        result["spike_count"] / (n_cells * result["simtime"] / 1000.0))
    assert 0 <= result["rate_hz"] < 500


def test_network_script_runs_heterogeneous_if_curr_exp_cells():
    """--cell IF_curr_exp --heterogeneous: every cell draws its own intrinsic parameters,
    which pyNN.surrogate runs on the shipped conditioned package."""
    from pyNN_surrogate.surrogates import available_celltypes
    if "IF_curr_exp.conditioned" not in available_celltypes():
        pytest.skip("no conditioned IF_curr_exp package is shipped")
    result = run_network_script("--cell", "IF_curr_exp", "--heterogeneous", "--n-cells", "20",
                                "--simtime", "300", "--dt", "0.1")
    assert result["cell"] == "IF_curr_exp" and result["heterogeneous"] is True
    assert result["n_synapses"] == 20                      # one Poisson input per cell
    assert result["params"]["input_weight"] == 0.5         # nA for the current-based cell
    assert result["active_cells"] > 0 and 0 < result["rate_hz"] < 100


def synthetic_record(case, backend, repeat, run_s, rate, simtime_run=None, error=None):
    record = {"n_cells": case.n_cells, "simtime": case.simtime, "dt": case.dt,
              "connectivity": case.connectivity, "heterogeneous": case.heterogeneous}
    if error is None:
        t = simtime_run or case.simtime
        cell_ms = case.n_cells * t
        record.update(build_s=1.0, run_s=run_s * t / case.simtime,
                      run_cpu_s=run_s * t / case.simtime, data_s=0.01,
                      us_per_cell_ms_cpu=run_s * 1e6 / (case.n_cells * case.simtime),
                      us_per_cell_ms_wall=run_s * 1e6 / (case.n_cells * case.simtime),
                      ru_maxrss_mib=100.0 + repeat, vm_hwm_mib=90.0, rate_hz=rate,
                      threads=2 if backend == "surrogate" else 1, n_synapses=case.n_cells,
                      spike_count=int(rate * cell_ms / 1000))
    else:
        record["error"] = error
    return rb.finish_record(record, case, backend, repeat, simtime_run or case.simtime,
                            None)


def test_report_writer_marks_extrapolation_and_failures(tmp_path):
    small = rb.Case(50, 1000.0, 0.1, "static")
    big = rb.Case(50000, 1000.0, 0.025, "tm")
    het = rb.Case(500, 1000.0, 0.1, "static", heterogeneous=True, group="heterogeneous")
    conditioned = rb.Case(500, 1000.0, 0.1, "none", heterogeneous=True, group="conditioned",
                          cell="IF_curr_exp")
    records = []
    for repeat, jitter in enumerate((1.0, 1.2, 0.9)):
        records += [synthetic_record(small, "neuron", repeat, 2.0 * jitter, 10.0),
                    synthetic_record(small, "surrogate", repeat, 1.0 * jitter, 11.0),
                    # NEURON ran 100 ms of the 1000 ms case and is extrapolated
                    synthetic_record(big, "neuron", repeat, 400.0 * jitter, 8.0,
                                     simtime_run=100.0),
                    synthetic_record(big, "surrogate", repeat, 100.0 * jitter, 6.0),
                    synthetic_record(het, "neuron", repeat, 5.0, 20.0),
                    synthetic_record(het, "surrogate", repeat, 4.0, 20.0,
                                     error="exit code 1: boom" if repeat == 0 else None),
                    synthetic_record(conditioned, "neuron", repeat, 0.5, 6.0),
                    synthetic_record(conditioned, "surrogate", repeat, 3.0, 6.2)]
    extrapolated = [r for r in records if r["extrapolated"]]
    assert len(extrapolated) == 3
    assert all(r["run_s"] == pytest.approx(r["run_s_measured"] * 10) for r in extrapolated)

    rows = rb.summarise(records)
    by_case = {row["case"]: row for row in rows}
    row = by_case[small.name]
    assert row["backends"]["neuron"]["run_s"] == pytest.approx(2.0)       # median
    assert row["run_ratio"] == pytest.approx(2.0)
    assert row["rate_diff_pct"] == pytest.approx(10.0)
    big_row = by_case[big.name]
    assert big_row["backends"]["neuron"]["extrapolated_from"] == 100.0
    assert big_row["backends"]["surrogate"]["extrapolated_from"] is None
    assert big_row["backends"]["neuron"]["run_s"] == pytest.approx(400.0)
    assert big_row["run_ratio"] == pytest.approx(4.0)
    het_row = by_case[het.name]
    assert het_row["backends"]["surrogate"]["n_failed"] == 1
    assert het_row["backends"]["surrogate"]["n_ok"] == 2
    assert by_case[conditioned.name]["cell"] == "IF_curr_exp"
    assert by_case[small.name]["cell"] == "HH_cond_exp"

    machine = {"cpu": "Test CPU", "cores": 2, "memory_gib": 4.0, "torch": "x", "neuron": "y",
               "pyNN": "z", "surrogate_threads": 2, "date": "today"}
    options = {"repeats": 3, "neuron_max_seconds": 60.0, "device": "cpu"}
    rb.write_outputs(tmp_path, records, machine, "python benchmarks/run_benchmarks.py --test",
                     options, plot_subprocess=False)
    text = (tmp_path / "benchmarks.md").read_text()
    assert "python benchmarks/run_benchmarks.py --test" in text
    assert "Test CPU" in text
    assert "neuron: extrapolated from 100 ms" in text
    assert "surrogate: 1 run(s) failed (exit code 1: boom)" in text
    table_lines = [line for line in text.splitlines()
                   if line.startswith("| 50,000 ") or line.startswith("| 50 ")]
    assert len(table_lines) == 2
    big_line = next(line for line in table_lines if line.startswith("| 50,000 "))
    assert "400*" in big_line and "extrapolated from 100 ms" in big_line
    small_line = next(line for line in table_lines if line.startswith("| 50 "))
    assert "extrapolated" not in small_line and "+10.0 %" in small_line
    assert "## Heterogeneous parameters" in text
    assert ("## Heterogeneous intrinsic parameters: IF_curr_exp on its conditioned surrogate, "
            "disconnected") in text
    assert "tau_m 12…28" in text
    assert (tmp_path / "benchmarks.png").stat().st_size > 10000
    payload = json.loads((tmp_path / "benchmarks.json").read_text())
    assert len(payload["runs"]) == len(records) and len(payload["summary"]) == 4


def test_case_selection_and_neuron_planning():
    quick = rb.all_cases(quick=True)
    assert {c.n_cells for c in quick} == {1, 50}
    assert {c.simtime for c in quick} == {100.0} and {c.dt for c in quick} == {0.1, 0.025}
    full = rb.all_cases()
    names = {c.name for c in full}
    assert len(names) == len(full) == 70
    assert "static-n100000-T1000-dt0.1" in names and "het-static-n50000-T1000-dt0.1" in names
    assert "IF_curr_exp-het-none-n500-T1000-dt0.1" in names
    chosen = rb.select_cases(full, "tm-n50-*,none-n1-T100-dt0.1")
    assert {c.name for c in chosen} == {"tm-n50-T100-dt0.1", "tm-n50-T1000-dt0.1",
                                       "tm-n50-T100-dt0.025", "tm-n50-T1000-dt0.025",
                                       "none-n1-T100-dt0.1"}
    # A measured cost of 10 us per cell per ms: 50,000 cells x 1 s would take 500 s.
    measured = [{"connectivity": "tm", "dt": 0.025, "heterogeneous": False, "n_cells": 5000,
                 "simtime_run": 1000.0, "us_per_cell_ms_wall": 10.0}]
    big = rb.Case(50000, 1000.0, 0.025, "tm")
    simtime, predicted = rb.plan_neuron_simtime(big, measured, max_seconds=100.0)
    assert predicted == pytest.approx(500.0)
    assert simtime == 200.0
    assert rb.plan_neuron_simtime(big, measured, max_seconds=0)[0] == 1000.0
    assert rb.plan_neuron_simtime(rb.Case(50, 1000.0, 0.025, "tm"), measured, 100.0)[0] == 1000.0


def test_large_cases_run_large_repeats_times():
    """From LARGE_CELLS cells on a case runs --large-repeats times (never more than
    --repeats); smaller cases run --repeats times."""
    options = rb.parse_args(["--repeats", "3"])
    assert options.large_repeats == 1
    small = rb.Case(5000, 1000.0, 0.1, "static")
    big = rb.Case(rb.LARGE_CELLS, 1000.0, 0.1, "static")
    assert rb.repeats_of(small, options) == 3
    assert rb.repeats_of(big, options) == 1
    assert rb.repeats_of(big, rb.parse_args(["--repeats", "2", "--large-repeats", "5"])) == 2
    with pytest.raises(SystemExit):
        rb.parse_args(["--large-repeats", "0"])
