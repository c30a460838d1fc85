"""
Benchmark pyNN.surrogate against pyNN.neuron, after the shape of Olah et al.'s Fig. 7.

Every case runs the same PyNN script (benchmarks/network_script.py) on pyNN.neuron and on
pyNN.surrogate, each in its own subprocess, interleaved (neuron, surrogate, neuron, ...) and
repeated ``--repeats`` times (``--large-repeats`` times from 50,000 cells on); the tables
report medians. Cases:

* 1, 50, 500, 5000, 50000 HH_cond_exp cells x {disconnected, 20 static recurrent inputs per
  cell, 20 Tsodyks-Markram inputs per cell} x {100 ms, 1 s} x {dt 0.1, 0.025 ms};
* heterogeneous parameters (i_offset, tau_syn_E from RandomDistributions), static, 1 s, dt 0.1;
* 50 and 500 IF_curr_exp cells, each with its own intrinsic parameters (v_rest, v_reset,
  v_thresh, tau_m, cm, tau_refrac from RandomDistributions: the conditioned surrogate),
  disconnected and static, 1 s, dt 0.1;
* 100,000 cells x 1 s x 20 static synapses per cell (memory), dt 0.1.

Every cell has its own Poisson input; the spikes of all cells are recorded.

NEURON cases whose run is predicted (from the NEURON cases already measured) to last longer than
``--neuron-max-seconds`` run for a shorter simulated time; their run times are extrapolated
linearly to the full time and marked "extrapolated from X ms". pyNN.surrogate cases always run
in full. Nothing is skipped silently: a failed or timed-out process is reported in the table.

Writes ``<output-dir>/benchmarks.md``, ``benchmarks.png`` and ``benchmarks.json`` (every
process's raw result), updated after every case.

Examples::

    python benchmarks/run_benchmarks.py                       # everything: 3 repeats,
                                                              # 1 from 50,000 cells on
    python benchmarks/run_benchmarks.py --quick               # smoke test (1 and 50 cells)
    python benchmarks/run_benchmarks.py --cases 'static-*-dt0.1' --repeats 1
    python benchmarks/run_benchmarks.py --list
    # re-run only the big cases, keeping the others' results:
    python benchmarks/run_benchmarks.py --append --cases '*-n50000-*,*-n100000-*'
    python benchmarks/run_benchmarks.py --from-json docs/benchmarks.json   # redraw only
"""

import argparse
import dataclasses
import datetime
import fnmatch
import json
import math
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

from network_script import DEFAULT_CELL
from report import CONNECTIVITY_LABEL, plot, write_markdown

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
NETWORK_SCRIPT = HERE / "network_script.py"
BACKENDS = ("neuron", "surrogate")
SIZES = (1, 50, 500, 5000, 50000)
SIMTIMES = (100.0, 1000.0)
DTS = (0.1, 0.025)
CONNECTIVITIES = tuple(CONNECTIVITY_LABEL)   # none, static, tm
MEMORY_SIZE = 100000
CONDITIONED_SIZES = (50, 500)   # the build settles every distinct cell: minutes at 5000
# Cases with at least this many cells run --large-repeats times (the note in the table says so).
LARGE_CELLS = 50000
# Prior cost of pyNN.neuron (us of run wall time per cell per dt step) used to plan the first
# NEURON cases, before any has been measured; measured costs replace it.
NEURON_PRIOR_US_PER_CELL_STEP = 0.5
MIN_SHORT_SIMTIME = 100.0     # ms, the shortest simulated time of an extrapolated NEURON run
JSON_MARKER = "BENCHMARK_JSON "


# ----------------------------------------------------------------------------- cases
@dataclasses.dataclass(frozen=True)
class Case:
    n_cells: int
    simtime: float
    dt: float
    connectivity: str
    heterogeneous: bool = False
    group: str = "main"        # main, heterogeneous, conditioned, memory
    cell: str = DEFAULT_CELL

    @property
    def name(self):
        prefix = "het-" if self.heterogeneous else ""
        if self.cell != DEFAULT_CELL:
            prefix = f"{self.cell}-{prefix}"
        return f"{prefix}{self.connectivity}-n{self.n_cells}-T{self.simtime:g}-dt{self.dt:g}"

    @property
    def cost(self):
        """Relative cost, used to run cheap cases first."""
        n_syn = self.n_cells * (21 if self.connectivity != "none" else 1)
        return (self.n_cells + 0.2 * n_syn) * self.simtime / self.dt

    def as_dict(self):
        return dict(dataclasses.asdict(self), name=self.name)


def all_cases(quick=False):
    """Every benchmark case, cheapest first."""
    if quick:
        cases = [Case(n, 100.0, dt, c) for n in (1, 50) for dt in DTS for c in CONNECTIVITIES]
        cases.append(Case(50, 100.0, 0.1, "static", heterogeneous=True, group="heterogeneous"))
        cases.append(Case(50, 100.0, 0.1, "none", heterogeneous=True, group="conditioned",
                          cell="IF_curr_exp"))
    else:
        cases = [Case(n, t, dt, c) for n in SIZES for t in SIMTIMES for dt in DTS
                 for c in CONNECTIVITIES]
        cases += [Case(n, 1000.0, 0.1, "static", heterogeneous=True, group="heterogeneous")
                  for n in SIZES]
        cases += [Case(n, 1000.0, 0.1, c, heterogeneous=True, group="conditioned",
                       cell="IF_curr_exp") for n in CONDITIONED_SIZES for c in ("none", "static")]
        cases.append(Case(MEMORY_SIZE, 1000.0, 0.1, "static", group="memory"))
    return sorted(cases, key=lambda c: (c.cost, c.name))


def select_cases(cases, patterns):
    """Cases whose name matches one of the comma-separated glob ``patterns`` (all if empty)."""
    if not patterns:
        return list(cases)
    globs = [p.strip() for p in patterns.split(",") if p.strip()]
    chosen = [c for c in cases if any(fnmatch.fnmatchcase(c.name, g) for g in globs)]
    if not chosen:
        raise SystemExit(f"no case matches --cases {patterns!r}; see --list")
    return chosen


# ----------------------------------------------------------------------------- planning
def neuron_cost_estimate(case, measured):
    """Predicted NEURON run wall time per cell per ms (us) for `case`.

    From the measured NEURON runs (full or shortened) of the same connectivity, dt and
    heterogeneity, the one with most cells (ties: longest simulated time) not larger than
    the case; falls back to any dt scaled by the number of steps, then to a prior.
    """
    def pick(runs):
        runs = [r for r in runs if r["n_cells"] <= case.n_cells] or runs
        return max(runs, key=lambda r: (r["n_cells"], r["simtime_run"]))

    measured = [r for r in measured if r.get("cell", DEFAULT_CELL) == case.cell] or measured
    same = [r for r in measured if r["connectivity"] == case.connectivity
            and r["dt"] == case.dt and r["heterogeneous"] == case.heterogeneous]
    if same:
        return pick(same)["us_per_cell_ms_wall"]
    same_conn = [r for r in measured if r["connectivity"] == case.connectivity]
    if same_conn:
        r = pick(same_conn)
        return r["us_per_cell_ms_wall"] * r["dt"] / case.dt
    factor = 1.0 if case.connectivity == "none" else 1.5
    return NEURON_PRIOR_US_PER_CELL_STEP * factor / case.dt


def plan_neuron_simtime(case, measured, max_seconds):
    """(simulated time to run on NEURON, predicted run seconds of the full case)."""
    us = neuron_cost_estimate(case, measured)
    predicted = us * 1e-6 * case.n_cells * case.simtime
    if max_seconds is None or max_seconds <= 0 or predicted <= max_seconds:
        return case.simtime, predicted
    short = max_seconds / (us * 1e-6 * case.n_cells)
    short = max(MIN_SHORT_SIMTIME, math.floor(short / MIN_SHORT_SIMTIME) * MIN_SHORT_SIMTIME)
    return min(short, case.simtime), predicted


# ----------------------------------------------------------------------------- running
def child_command(case, backend, simtime, options):
    command = [sys.executable, str(NETWORK_SCRIPT), backend,
               "--n-cells", str(case.n_cells), "--simtime", f"{simtime:g}",
               "--dt", f"{case.dt:g}", "--connectivity", case.connectivity,
               "--case", case.name, "--record-v", str(options.record_v)]
    if case.heterogeneous:
        command.append("--heterogeneous")
    if case.cell != DEFAULT_CELL:
        command += ["--cell", case.cell]
    if backend == "surrogate":
        command += ["--threads", str(options.threads), "--device", options.device]
    return command


def run_child(command, timeout):
    """Run one benchmark process; returns (result dict or None, error text or None)."""
    env = dict(os.environ, PYTHONWARNINGS="ignore", MPLBACKEND="Agg")
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              cwd=str(REPO), env=env)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout:g} s"
    lines = [line for line in done.stdout.splitlines() if line.startswith(JSON_MARKER)]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return None, f"exit code {done.returncode}: " + " | ".join(tail)
    return json.loads(lines[-1][len(JSON_MARKER):]), None


def finish_record(record, case, backend, repeat, simtime_run, predicted_s):
    """Add bookkeeping and, for a shortened NEURON run, the linear extrapolation."""
    record.update(case=case.name, backend=backend, repeat=repeat, group=case.group,
                  heterogeneous=case.heterogeneous, cell=case.cell, simtime=case.simtime,
                  simtime_run=simtime_run, predicted_run_s=predicted_s,
                  extrapolated=simtime_run < case.simtime)
    if record["extrapolated"]:
        scale = case.simtime / simtime_run
        for key in ("run_s", "run_cpu_s"):
            record[key + "_measured"] = record[key]
            record[key] = record[key] * scale
        # us per cell per ms and the rate are intensive: measured over the shorter run.
    return record


def repeats_of(case, options):
    """Processes per backend for ``case``: ``--large-repeats`` from LARGE_CELLS cells on."""
    if case.n_cells >= LARGE_CELLS:
        return min(options.repeats, options.large_repeats)
    return options.repeats


def run_benchmarks(cases, options, log=print, previous=()):
    """Run every case (interleaved backends, repeated); returns the list of raw records.

    `previous` records (of an earlier session, --append) are returned first and also calibrate
    the prediction of NEURON run times.
    """
    from tqdm import tqdm

    records = list(previous)
    backends = [b for b in BACKENDS if b in options.backends]
    total = sum(repeats_of(case, options) for case in cases) * len(backends)
    bar = tqdm(total=total, unit="run", dynamic_ncols=True, disable=options.no_progress)
    try:
        for case in cases:
            measured = [r for r in records if r["backend"] == "neuron" and not r.get("error")]
            neuron_simtime, predicted = plan_neuron_simtime(case, measured,
                                                            options.neuron_max_seconds)
            for repeat in range(repeats_of(case, options)):
                for backend in backends:
                    simtime = neuron_simtime if backend == "neuron" else case.simtime
                    bar.set_description(f"{case.name} {backend} #{repeat + 1}")
                    command = child_command(case, backend, simtime, options)
                    result, error = run_child(command, options.timeout)
                    if result is None:
                        result = dict(case.as_dict(), error=error)
                        result.pop("name")
                        log(f"FAILED {case.name} on {backend}: {error}")
                    result["command"] = shlex.join(command)
                    records.append(finish_record(result, case, backend, repeat, simtime,
                                                 predicted if backend == "neuron" else None))
                    bar.update(1)
            if options.on_case_done is not None:
                options.on_case_done(records)
    finally:
        bar.close()
    return records


# ----------------------------------------------------------------------------- summarising
SUMMARY_KEYS = ("build_s", "run_s", "run_cpu_s", "us_per_cell_ms_cpu", "us_per_cell_ms_wall",
                "ru_maxrss_mib", "vm_hwm_mib", "rate_hz", "data_s")


def summarise(records):
    """Per case and backend: medians over repeats. Returns a list of case rows, case order kept.

    A row: case fields, ``backends`` = {backend: {median values, n_ok, n_failed, errors,
    extrapolated_from}}, ``run_ratio`` (neuron / surrogate run wall time), ``cpu_ratio``
    and ``rate_diff_pct`` (surrogate vs neuron, % of neuron).
    """
    order, rows = [], {}
    for r in records:
        name = r["case"]
        if name not in rows:
            order.append(name)
            rows[name] = {k: r.get(k) for k in ("case", "n_cells", "simtime", "dt",
                                                "connectivity", "heterogeneous", "group")}
            rows[name]["cell"] = r.get("cell", DEFAULT_CELL)
            rows[name]["backends"] = {}
        rows[name]["backends"].setdefault(r["backend"], []).append(r)
    out = []
    for name in order:
        row = rows[name]
        per_backend = {}
        for backend, runs in row["backends"].items():
            ok = [r for r in runs if not r.get("error")]
            entry = {"n_ok": len(ok), "n_failed": len(runs) - len(ok), "n_runs": len(runs),
                     "errors": sorted({r["error"] for r in runs if r.get("error")})}
            for key in SUMMARY_KEYS:
                values = [r[key] for r in ok if r.get(key) is not None]
                entry[key] = statistics.median(values) if values else None
            for key in ("threads", "n_synapses", "device"):
                entry[key] = ok[0].get(key) if ok else None
            short = sorted({r["simtime_run"] for r in ok if r.get("extrapolated")})
            entry["extrapolated_from"] = short[0] if short else None
            entry["predicted_run_s"] = runs[0].get("predicted_run_s")
            per_backend[backend] = entry
        row["backends"] = per_backend
        neuron, surrogate = per_backend.get("neuron", {}), per_backend.get("surrogate", {})
        row["run_ratio"] = _ratio(neuron.get("run_s"), surrogate.get("run_s"))
        row["cpu_ratio"] = _ratio(neuron.get("run_cpu_s"), surrogate.get("run_cpu_s"))
        rate_n, rate_s = neuron.get("rate_hz"), surrogate.get("rate_hz")
        row["rate_diff_pct"] = (100.0 * (rate_s - rate_n) / rate_n
                                if rate_n and rate_s is not None else None)
        out.append(row)
    return out


def _ratio(a, b):
    return a / b if a is not None and b else None


# ----------------------------------------------------------------------------- machine
def machine_description(threads=None):
    info = {"platform": platform.platform(), "python": platform.python_version(),
            "cores": os.cpu_count(),
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                 if line.startswith("model name")]
        info["cpu"] = names[0] if names else platform.processor()
    except OSError:
        info["cpu"] = platform.processor()
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gib"] = round(int(line.split()[1]) / 1024 ** 2, 1)
    except OSError:
        pass
    try:
        info["loadavg_start"] = list(os.getloadavg())
    except OSError:
        pass
    # Versions from package metadata: importing torch or NEURON here would grow this process,
    # and a child's ru_maxrss starts from its parent's peak (it survives execve).
    from importlib.metadata import PackageNotFoundError, version
    for module, distribution in (("torch", "torch"), ("pyNN", "PyNN"), ("numpy", "numpy"),
                                 ("neuron", "neuron")):
        try:
            info[module] = version(distribution)
        except PackageNotFoundError:
            info[module] = None
    info["surrogate_threads"] = threads
    try:
        info["code"] = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO,
                                      capture_output=True, text=True,
                                      timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        info["code"] = None
    return info


def write_outputs(output_dir, records, machine, command, options_dict, plot_subprocess=True):
    """benchmarks.json, benchmarks.png and benchmarks.md in `output_dir`.

    With `plot_subprocess` the figure is drawn by a child process, so that matplotlib never
    grows this process (whose peak RSS the benchmark children would inherit in ru_maxrss).
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    rows = summarise(records)
    payload = {"machine": machine, "command": command, "options": options_dict,
               "summary": rows, "runs": records}
    (output_dir / "benchmarks.json").write_text(json.dumps(payload, indent=1) + "\n")
    png = None
    if any(r["backends"] for r in rows):
        png_path = output_dir / "benchmarks.png"
        if plot_subprocess:
            subprocess.run([sys.executable, __file__, "--plot-only",
                            str(output_dir / "benchmarks.json"), str(png_path)],
                           check=True, env=dict(os.environ, MPLBACKEND="Agg"))
        else:
            plot(png_path, rows)
        png = "benchmarks.png"
    write_markdown(output_dir / "benchmarks.md", rows, machine, command, options_dict, png)
    return rows


# ----------------------------------------------------------------------------- main
def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0].strip(),
        epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 1 and 50 cells, 100 ms, both timesteps, one repeat "
                             "(writes to benchmarks/quick/ unless --output-dir is given)")
    parser.add_argument("--cases", default="",
                        help="comma-separated glob patterns on case names, e.g. "
                             "'static-*,none-n50-*' (see --list)")
    parser.add_argument("--list", action="store_true", help="list the selected cases and exit")
    parser.add_argument("--repeats", type=int, default=None,
                        help="processes per case and backend (default 3, 1 with --quick)")
    parser.add_argument("--large-repeats", type=int, default=1,
                        help=f"processes per case and backend for cases of {LARGE_CELLS} cells "
                             "or more (default %(default)s; at most --repeats)")
    parser.add_argument("--neuron-max-seconds", type=float, default=120.0,
                        help="NEURON runs predicted to take longer than this (s) run for a "
                             "shorter simulated time (a multiple of 100 ms, at least 100 ms) "
                             "and their run times are extrapolated linearly; 0: never "
                             "(default %(default)s)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="torch intra-op threads of the surrogate processes "
                             "(default: all cores, %(default)s)")
    parser.add_argument("--device", default="cpu", help="torch device of pyNN.surrogate")
    parser.add_argument("--backends", default="neuron,surrogate",
                        help="comma-separated backends to run (default both)")
    parser.add_argument("--record-v", type=int, default=0,
                        help="also record v of this many cells per case")
    parser.add_argument("--timeout", type=float, default=3600.0,
                        help="seconds after which one process is killed and reported failed")
    parser.add_argument("--output-dir", default=None,
                        help="where benchmarks.md/.png/.json go (default docs/)")
    parser.add_argument("--append", action="store_true",
                        help="keep the runs already in <output-dir>/benchmarks.json, replacing "
                             "those of the cases run now (e.g. big cases with fewer repeats)")
    parser.add_argument("--from-json", default=None,
                        help="redraw the report from an existing benchmarks.json, run nothing")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm progress bar")
    parser.add_argument("--plot-only", nargs=2, metavar=("JSON", "PNG"), default=None,
                        help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.repeats is None:
        options.repeats = 1 if options.quick else 3
    if options.repeats < 1 or options.large_repeats < 1:
        parser.error("--repeats and --large-repeats must be >= 1")
    if options.output_dir is None:
        options.output_dir = str(HERE / "quick" if options.quick else REPO / "docs")
    options.backends = [b.strip() for b in options.backends.split(",") if b.strip()]
    unknown = set(options.backends) - set(BACKENDS)
    if unknown:
        parser.error(f"unknown backend(s) {sorted(unknown)}; expected {BACKENDS}")
    return options


def main(argv=None):
    options = parse_args(argv)
    sys.path.insert(0, str(HERE))
    if options.plot_only:
        payload = json.loads(Path(options.plot_only[0]).read_text())
        plot(options.plot_only[1], payload["summary"])
        return 0
    if options.from_json:
        payload = json.loads(Path(options.from_json).read_text())
        write_outputs(options.output_dir, payload["runs"], payload["machine"],
                      payload["command"], payload["options"])
        print(f"report written to {options.output_dir}/benchmarks.md")
        return 0
    cases = select_cases(all_cases(options.quick), options.cases)
    if options.list:
        for case in cases:
            print(f"{case.name:<36} group={case.group}")
        print(f"{len(cases)} case(s)")
        return 0
    argv_list = sys.argv[1:] if argv is None else list(argv)
    command = shlex.join(["python", "benchmarks/run_benchmarks.py"] + argv_list)
    previous = []
    existing = Path(options.output_dir) / "benchmarks.json"
    if options.append and existing.exists():
        payload = json.loads(existing.read_text())
        names = {case.name for case in cases}
        previous = [r for r in payload["runs"] if r["case"] not in names]
        command = payload["command"] + "\n" + command
    machine = machine_description(options.threads)
    if previous:        # the machine of the first run; the appended one is listed under it
        appended = {k: machine.get(k) for k in ("date", "code", "loadavg_start")}
        appended["cases"] = sorted(case.name for case in cases)
        machine = dict(payload["machine"])
        machine["appended"] = list(machine.get("appended", [])) + [appended]
    options_dict = {k: v for k, v in vars(options).items() if k not in ("on_case_done",)}

    def on_case_done(records):
        machine["runner_maxrss_mib"] = \
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        write_outputs(options.output_dir, records, machine, command, options_dict)

    options.on_case_done = on_case_done
    start = time.perf_counter()
    records = run_benchmarks(cases, options, previous=previous)
    try:
        machine["loadavg_end"] = list(os.getloadavg())
    except OSError:
        pass
    machine["total_wall_s"] = time.perf_counter() - start
    machine["runner_maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = write_outputs(options.output_dir, records, machine, command, options_dict)
    print(f"{len(rows)} case(s), {len(records) - len(previous)} process(es) in "
          f"{machine['total_wall_s']:.0f} s; "
          f"report: {Path(options.output_dir) / 'benchmarks.md'}")
    failed = [r for r in records[len(previous):] if r.get("error")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
